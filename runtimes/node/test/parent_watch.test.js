// The parent watchdog (lib/parent_watch.js): a runtime whose runner is SIGKILLed ends within a few
// seconds. The runner is test_support/dying_runner.js, a process of its own; the orphaned runtime
// is reparented to init (or a subreaper), so its end is polled: gone, or a zombie.
import test from 'node:test';
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import childProcess from 'node:child_process';
import { startParentWatch } from '../lib/parent_watch.js';

const DYING_RUNNER = path.join(import.meta.dirname, '..', 'test_support', 'dying_runner.js');
const EXIT_TIMEOUT_MS = 10000; // the watchdog looks once a second; a loaded CI machine is slow
const POLL_MS = 20;

function running(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls until process `pid` has ended; false after `timeoutMs`. */
async function ended(pid, timeoutMs = EXIT_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (running(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}

/** An idle runtime started by dying_runner.js; everything is ended and removed after test `t`. */
async function orphan(t) {
  const runner = childProcess.spawn(process.execPath, [DYING_RUNNER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const runnerExit = new Promise((resolve) => runner.on('exit', resolve));
  const held = [];
  const started = { runner, runnerExit, held, pid: null, dir: null };
  t.after(async () => {
    if (runner.exitCode === null && runner.signalCode === null) runner.kill('SIGKILL');
    await runnerExit;
    for (const fd of held) fs.closeSync(fd);
    if (started.pid !== null && running(started.pid)) process.kill(started.pid, 'SIGKILL');
    if (started.dir !== null) fs.rmSync(started.dir, { recursive: true, force: true });
  });
  const line = await new Promise((resolve) => {
    let text = '';
    runner.stdout.on('data', (chunk) => {
      text += chunk;
      if (text.includes('\n')) resolve(text.split('\n')[0]);
    });
    runnerExit.then(() => resolve(''));
  });
  assert.ok(line, 'dying_runner.js did not start a runtime');
  const [pid, dir] = line.split(' ');
  started.pid = Number(pid);
  started.dir = dir;
  return started;
}

async function killRunner(started) {
  started.runner.kill('SIGKILL');
  await started.runnerExit;
}

function output(started) {
  return fs.readFileSync(path.join(started.dir, 'process-output.txt'), 'utf8');
}

test('an idle runtime ends when its runner is SIGKILLed', async (t) => {
  const started = await orphan(t);
  await killRunner(started);
  assert.ok(await ended(started.pid), `the runtime still runs; output: ${output(started)}`);
});

test('an idle runtime whose fifos another process holds open ends when its runner is SIGKILLed', async (t) => {
  const started = await orphan(t);
  // As a leaked descriptor would: the runtime sees no end of input and no EPIPE.
  for (const name of ['to-runtime', 'from-runtime']) started.held.push(fs.openSync(path.join(started.dir, name), 'r+'));
  await killRunner(started);
  assert.ok(await ended(started.pid), `the runtime still runs; output: ${output(started)}`);
  assert.ok(output(started).includes(`polyflow node runtime: the runner (pid ${started.runner.pid}) is gone; exiting\n`),
    output(started));
});

test('POLYFLOW_PARENT_WATCHDOG=0 turns the watchdog off', () => {
  assert.strictEqual(startParentWatch({ env: { POLYFLOW_PARENT_WATCHDOG: '0' } }), null);
});
