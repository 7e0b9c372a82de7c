// Test support: plays the runner host for end-to-end tests. Makes a private directory with the
// two fifos, opens both read-write like the host (so no open blocks), spawns the runtime as a
// real child process and collects the frames it writes.
// Ownership: cleanup() kills the child if it still runs, closes every fd it opened and removes
// the directory; tests call it in a finally block / t.after.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import childProcess from 'node:child_process';
import { FrameCollector } from './frame_collector.js';

const RUNTIME = path.join(import.meta.dirname, '..', 'polyflow_runtime.js');

class FifoHost {
  /**
   * Starts the runtime (cwd: `cwd`, extra environment `env`). With `outputToFile`, its stdout and
   * stderr go to `outputPath` in the directory (they outlive this host) instead of `stdout`/`stderr`.
   */
  constructor({ env = {}, cwd = os.tmpdir(), outputToFile = false } = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'polyflow-node-test-'));
    fs.chmodSync(this.dir, 0o700);
    this.toRuntime = path.join(this.dir, 'to-runtime');
    this.fromRuntime = path.join(this.dir, 'from-runtime');
    childProcess.execFileSync('mkfifo', ['-m', '600', this.toRuntime, this.fromRuntime]);
    this.writeFd = fs.openSync(this.toRuntime, 'r+');
    const readFd = fs.openSync(this.fromRuntime, 'r+');

    this.output = new FrameCollector();
    this.reader = new net.Socket({ fd: readFd, readable: true, writable: false }); // owns readFd
    this.reader.on('data', (chunk) => this.output.push(chunk));
    this.reader.on('error', () => {});

    this.stdout = '';
    this.stderr = '';
    this.outputPath = outputToFile ? path.join(this.dir, 'process-output.txt') : null;
    const outputFd = outputToFile ? fs.openSync(this.outputPath, 'w') : 'pipe';
    this.child = childProcess.spawn(process.execPath, [RUNTIME, '--in', this.toRuntime, '--out', this.fromRuntime], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', outputFd, outputFd],
    });
    if (outputToFile) {
      fs.closeSync(outputFd);
    } else {
      this.child.stdout.on('data', (chunk) => { this.stdout += chunk; });
      this.child.stderr.on('data', (chunk) => { this.stderr += chunk; });
    }
    this.exit = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Writes frames (a string of whole lines) to the runtime. */
  send(text) {
    const bytes = Buffer.from(text, 'utf8');
    let offset = 0;
    while (offset < bytes.length) offset += fs.writeSync(this.writeFd, bytes, offset);
  }

  sendConfigure(configure) {
    this.send(JSON.stringify({ t: 'configure', flowId: 'e2e', ...configure }) + '\n');
  }

  waitFor(predicate, timeoutMs) {
    return this.output.waitFor(predicate, timeoutMs);
  }

  waitForAck(count, timeoutMs) {
    return this.output.waitForAck(count, timeoutMs);
  }

  /** The child's exit, or a rejection after `timeoutMs`. */
  waitForExit(timeoutMs = 5000) {
    let timer;
    const timeout = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`runtime did not exit within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
    });
    return Promise.race([this.exit, timeout]).finally(() => clearTimeout(timer));
  }

  /** Closes the host's end of to-runtime: the runtime reads end-of-file. */
  closeInput() {
    if (this.writeFd !== null) fs.closeSync(this.writeFd);
    this.writeFd = null;
  }

  async cleanup() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exit;
    }
    this.closeInput();
    this.reader.destroy();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A runtime process configured with `modules`, `slots`, `routes`, after its `configured`; cleaned up after test `t`. */
async function configuredHost(t, modules, slots, routes) {
  const host = new FifoHost();
  t.after(() => host.cleanup());
  await host.waitFor('hello');
  host.sendConfigure({ modules, slots, routes });
  await host.waitFor('configured');
  return host;
}

export { FifoHost, configuredHost };
