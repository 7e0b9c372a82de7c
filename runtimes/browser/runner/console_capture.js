// The browser's log capture: what a module prints is that module's log. The browser counterpart
// of runtimes/node/lib/log_capture.js, without AsyncLocalStorage (browsers have none):
//
// - Each module's code gets its own `console` (a parameter of its wrapper, module_loader.js), so
//   `console.log` written in the module is attributed to it always: after an `await`, in a timer,
//   in a promise callback.
// - The page's global console is wrapped once: a call made while a module's handler runs
//   synchronously (e.g. from a library the module calls) is attributed to that module; a call
//   from a library after an `await` cannot be told apart and is logged for no module
//   (the runner's own log). Every call also goes on to the page's console, for the devtools.

const LEVELS = { log: 'info', info: 'info', debug: 'info', warn: 'warn', error: 'error', trace: 'error' };

class ConsoleCapture {
  /** format(args) -> text; target: the console to wrap (the page's). */
  constructor(format, target = globalThis.console) {
    this.format = format;
    this.target = target;
    this.original = null;
    this.current = null; // { module, log } whose code runs synchronously now
  }

  /**
   * Runs fn(a, b) as user code of `module`, synchronously attributed; log(moduleId, level, text)
   * is the log of the module's runtime instance.
   */
  run(module, log, fn, a, b) {
    const before = this.current;
    this.current = { module, log };
    try {
      return fn(a, b);
    } finally {
      this.current = before;
    }
  }

  /** A console for one module's code: every call is that module's log (and the page's). */
  consoleFor(module, log) {
    const own = Object.create(this.target);
    for (const [name, level] of Object.entries(LEVELS)) {
      own[name] = (...args) => {
        log(module.id, level, this.format(args));
        this.passOn(name, args);
      };
    }
    return own;
  }

  passOn(name, args) {
    const original = this.original || this.target;
    if (typeof original[name] === 'function') original[name].apply(this.target, args);
  }

  /** Wraps the global console; uninstall() puts it back. */
  install() {
    if (this.original !== null) return;
    this.original = {};
    for (const name of Object.keys(LEVELS)) {
      const fn = this.target[name];
      this.original[name] = fn;
      this.target[name] = (...args) => {
        if (this.current !== null) this.current.log(this.current.module.id, LEVELS[name], this.format(args));
        if (typeof fn === 'function') fn.apply(this.target, args);
      };
    }
  }

  uninstall() {
    if (this.original === null) return;
    for (const [name, fn] of Object.entries(this.original)) this.target[name] = fn;
    this.original = null;
  }
}

export { ConsoleCapture };
