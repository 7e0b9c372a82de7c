// Node-only: turns everything user code prints into log frames. console.* and
// process.stdout/stderr.write are replaced; AsyncLocalStorage tells which module is running,
// also after an await or in a timer the module started.

import { AsyncLocalStorage } from 'node:async_hooks';
import { Console } from 'node:console';

/** Strips the one newline console appends to each line. */
function chunkText(chunk) {
  const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

class LogCapture {
  /** sink(moduleId or null, level, text) emits one log frame. */
  constructor(sink) {
    this.sink = sink;
    this.storage = new AsyncLocalStorage();
    this.invoke = (module, fn, a, b) => this.storage.run(module, fn, a, b);
  }

  /** Runs fn(...args) as user code of `module`. */
  run(module, fn, ...args) {
    return this.storage.run(module, fn, ...args);
  }

  /** The id of the module whose code is running, or null. */
  currentModuleId() {
    const module = this.storage.getStore();
    return module === undefined ? null : module.id;
  }

  emit(level, chunk) {
    this.sink(this.currentModuleId(), level, chunkText(chunk));
  }

  streamOf(level) {
    return { write: (chunk) => { this.emit(level, chunk); return true; } };
  }

  /** Replaces the global console's methods and process.stdout/stderr.write. */
  install() {
    const options = { stdout: this.streamOf('info'), stderr: this.streamOf('error'), ignoreErrors: false, colorMode: false };
    const captured = new Console(options);
    const warnings = new Console({ ...options, stderr: this.streamOf('warn') });
    for (const name of Object.keys(captured)) {
      if (typeof captured[name] === 'function') console[name] = captured[name];
    }
    console.warn = warnings.warn;
    for (const [stream, level] of [[process.stdout, 'info'], [process.stderr, 'error']]) {
      stream.write = (chunk, encoding, callback) => {
        this.emit(level, chunk);
        const done = typeof encoding === 'function' ? encoding : callback;
        if (typeof done === 'function') process.nextTick(done);
        return true;
      };
    }
  }
}

export { LogCapture };
