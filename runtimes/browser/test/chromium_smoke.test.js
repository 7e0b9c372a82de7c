// The runner page in a real headless Chromium against a stand-in dispatcher: the ES modules load
// over HTTP (../core paths included) under the page's CSP, a deployed browser module draws in the
// page, logs, throws (an error event with its stack) and sends outputs. Skipped without chromium.
// (The Swift end-to-end tests drive the real dispatcher; this one checks the page itself.)
import test from 'node:test';
import assert from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startSmokeDispatcher } from '../test_support/smoke_dispatcher.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

const CODE = `exports.onMessage = async (msg, ctx) => {
  await null;
  const p = document.createElement("p");
  p.id = "m" + msg.payload;
  p.textContent = "got " + msg.payload;
  document.getElementById("modules-area").append(p);
  console.log("drew", msg.payload);
  if (msg.payload === 3) throw new Error("three");
  return { n: msg.payload, drawn: document.getElementById("m" + msg.payload).textContent };
};`;

test('runner.html in headless Chromium is a runner: hello, deploy, inject, DOM, logs, errors, outputs', { skip: CHROMIUM ? false : 'no chromium here', timeout: 60000 }, async () => {
  const dispatcher = await startSmokeDispatcher(() => [
    { t: 'command', id: 1, command: { op: 'deploy', deploy: { flow: { id: 'f', modules: [{ id: 'draw', runtime: 'browser', code: CODE, inputs: ['in'], outputs: ['out'] }], connections: [] }, placed: [{ module: 'draw', gen: 1 }], routes: [], start: true } } },
    ...[1, 2, 3, 4].map((n) => ({ t: 'command', id: 1 + n, command: { op: 'inject', flow: 'f', module: 'draw', payload: String(n) } })),
  ]);
  try {
    const url = `http://127.0.0.1:${dispatcher.port}/runtimes/browser/runner.html?name=tab-9&tags=a,b#token=abc`;
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'polyflow-chromium-'));
    const chromium = spawn(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-port=0', `--user-data-dir=${profile}`, url], { stdio: 'ignore', detached: true });
    try {
      // Event-driven: done when the dispatcher has the last output, the error and every reply.
      await dispatcher.until((ms) => ms.filter((m) => m.t === 'reply').length === 5 &&
        ms.some((m) => m.t === 'event' && m.event.type === 'output' && m.event.payload.includes('"n":4')));
    } finally {
      // Chromium's own children (renderer, crashpad) may still write the profile after the main
      // process is gone: kill the whole process group (spawned detached: a group of its own), then
      // remove the profile, retrying while the last of them let go of it.
      const exited = new Promise((resolve) => chromium.once('exit', resolve));
      try { process.kill(-chromium.pid, 'SIGKILL'); } catch { chromium.kill('SIGKILL'); }
      await exited;
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    }
    const hello = dispatcher.messages.find((m) => m.t === 'hello');
    assert.strictEqual(hello.name, 'tab-9');
    assert.deepStrictEqual(hello.tags, ['a', 'b']);
    assert.strictEqual(hello.token, 'abc');
    assert.match(hello.runtimes[0].version, /^(Chrome|Edge) /);
    const events = dispatcher.messages.filter((m) => m.t === 'event').map((m) => m.event);
    assert.deepStrictEqual(events.filter((e) => e.type === 'output').map((e) => JSON.parse(e.payload)),
      [1, 2, 4].map((n) => ({ n, drawn: `got ${n}` })), 'the module drew in the page');
    assert.deepStrictEqual(events.filter((e) => e.type === 'log').map((e) => e.record.text), ['drew 1', 'drew 2', 'drew 3', 'drew 4']);
    const error = events.find((e) => e.type === 'error');
    assert.strictEqual(error.error.message, 'Error: three');
    assert.match(error.error.stack, /module:draw:8:/);
    const replies = dispatcher.messages.filter((m) => m.t === 'reply');
    assert.deepStrictEqual(replies.map((r) => [r.id, r.reply.kind]), [[1, 'ok'], [2, 'ok'], [3, 'ok'], [4, 'ok'], [5, 'ok']]);
  } finally {
    dispatcher.close();
  }
});
