// Runs modules' handlers: one message at a time per module, in inbox order; an async handler is
// awaited before its module takes the next message, while other modules go on. A loop over a
// ready queue, never recursion, so local cycles cannot overflow the stack. Synchronous handlers
// cost no Promise: the result is checked for a `then` first.
//
// A *turn* runs one module's handler over up to QUANTUM messages of its inbox in a plain loop,
// entered once through `invoke` (the Node runtime's log-capture context is set once per turn,
// not once per message). A turn ends early when a handler returns a thenable: it is awaited
// (outside the turn's context, as before) before the module takes its next message.

import { RingQueue } from './ring_queue.js';

const reflectGet = Reflect.get;

/**
 * `typeof value.then === 'function'` for a value that is not undefined or null (getters and
 * proxies see the same). Objects go through Reflect.get: objects made by spreads can each get a
 * map of their own in V8, and a `value.then` load on those misses its inline cache every time
 * (~10% of the in-runtime chain); Reflect.get looks the name up without an inline cache.
 */
function isThenable(value) {
  if (typeof value === 'object' || typeof value === 'function') return typeof reflectGet(value, 'then') === 'function';
  return typeof value.then === 'function';
}

const QUANTUM = 256; // messages of one module per turn before the next ready module runs

function callDirectly(module, fn, a, b) {
  return fn(a, b);
}

class Scheduler {
  /**
   * acks: AckTracker.
   * invoke(module, fn, a, b): calls fn(a, b) on behalf of module (the Node runtime attributes logs).
   * onReturned(module, value): a handler returned a value other than undefined (may throw).
   * onError(module, error): a handler threw or rejected (module.currentMessage is the input).
   * onUndeliverable(module): a message reached a module that did not load (module.currentMessage).
   * onAsyncDone(): an async handler settled; more work may be ready.
   */
  constructor({ acks, invoke = callDirectly, onReturned, onError, onUndeliverable, onAsyncDone }) {
    this.acks = acks;
    this.invoke = invoke;
    this.onReturned = onReturned;
    this.onError = onError;
    this.onUndeliverable = onUndeliverable;
    this.onAsyncDone = onAsyncDone;
    this.ready = new RingQueue(); // modules with messages that are not busy
    this.busyCount = 0;
    this.held = false; // while held nothing runs (modules still initialising)
    this.changed = false; // some module ran since the flag was last cleared
    // The turn being run: its module and limit in, messages handled and a thenable to await out.
    this.turnModule = null;
    this.turnLimit = 0;
    this.turnDone = 0;
    this.turnThenable = null;
    this.turnTask = () => this.turn(); // made once: entering a turn allocates nothing
  }

  /** Makes the per-module promise callbacks (once per module, not per message). */
  attach(module) {
    module.resolved = (value) => this.settle(module, value, false);
    module.rejected = (error) => this.settle(module, error, true);
  }

  hold() {
    this.held = true;
  }

  release() {
    this.held = false;
  }

  /** True when no handler is running or waiting to run. */
  get idle() {
    return this.ready.length === 0 && this.busyCount === 0;
  }

  enqueue(module, port, payload, root, text) {
    module.inbox.push({ port, payload }, root, text);
    if (!module.busy && !module.queued) {
      module.queued = true;
      this.ready.push(module);
    }
  }

  /** Processes up to `budget` messages; returns true when more are ready. */
  run(budget) {
    const ready = this.ready;
    let done = 0;
    while (ready.length > 0 && !this.held) {
      if (done >= budget) return true;
      const module = ready.shift();
      module.queued = false;
      const left = budget - done;
      done += this.runTurn(module, left < QUANTUM ? left : QUANTUM);
      if (!module.busy && module.inbox.length > 0) {
        module.queued = true;
        ready.push(module); // round robin: one turn each
      }
    }
    return false;
  }

  /** Runs up to `limit` (>= 1) messages of `module`; returns how many it took. */
  runTurn(module, limit) {
    module.ranSinceStats = true;
    module.unsaved = true;
    this.changed = true;
    if (module.onMessage === null) {
      this.undeliverable(module);
      return 1;
    }
    this.turnModule = module;
    this.turnLimit = limit;
    this.turnDone = 0;
    this.turnThenable = null;
    try {
      this.invoke(module, this.turnTask, undefined, undefined);
    } finally {
      this.turnModule = null;
    }
    const thenable = this.turnThenable;
    if (thenable !== null) {
      this.turnThenable = null;
      this.await(module, thenable);
    }
    return this.turnDone;
  }

  /** The body of a turn, inside `invoke`: a handler that throws does not end it; one that returns a thenable does. */
  turn() {
    const module = this.turnModule;
    const inbox = module.inbox;
    const onMessage = module.onMessage; // only a swap changes it, and never during a turn
    const ctx = module.ctx;
    const limit = this.turnLimit;
    const acks = this.acks;
    let done = 0;
    while (done < limit && inbox.length > 0) {
      const message = inbox.shift();
      const root = inbox.root;
      if (root > acks.started) acks.started = root;
      module.currentRoot = root;
      module.currentMessage = message;
      module.currentText = inbox.text;
      module.received++;
      done++;
      this.turnDone = done;
      let result;
      try {
        result = onMessage(message, ctx);
        if (result !== undefined && result !== null && isThenable(result)) {
          this.turnThenable = result; // finished when it settles
          return;
        }
      } catch (error) {
        this.fail(module, error);
        this.finish(module);
        continue;
      }
      if (result !== undefined) this.returned(module, result);
      this.finish(module);
    }
  }

  /** One message reached a module that did not load. */
  undeliverable(module) {
    const inbox = module.inbox;
    module.currentMessage = inbox.shift();
    module.currentRoot = inbox.root;
    if (inbox.root > this.acks.started) this.acks.started = inbox.root;
    module.currentText = inbox.text;
    module.received++;
    module.errors++;
    this.onUndeliverable(module);
    this.finish(module);
  }

  await(module, thenable) {
    // A foreign thenable may call back twice or synchronously; a Promise wrapper tames it.
    const promise = thenable instanceof Promise ? thenable : Promise.resolve(thenable);
    promise.then(module.resolved, module.rejected);
    module.busy = true;
    this.busyCount++;
  }

  settle(module, value, failed) {
    if (failed) this.fail(module, value);
    else if (value !== undefined) this.returned(module, value);
    this.finish(module);
    this.unbusy(module);
  }

  /** An async call of `module` settled: it may take its next message. */
  unbusy(module) {
    module.busy = false;
    this.busyCount--;
    if (module.inbox.length > 0 && !module.queued) {
      module.queued = true;
      this.ready.push(module);
    }
    this.changed = true;
    this.onAsyncDone();
  }

  /**
   * Calls fn(a, b) for `module` outside any message (a swap hook); done(failed, value) gets the
   * outcome. A promise is awaited before the module takes its next message.
   */
  callOutside(module, fn, a, b, done) {
    let result;
    try {
      result = this.invoke(module, fn, a, b);
    } catch (error) {
      done(true, error);
      return;
    }
    if (result === undefined || result === null || typeof result.then !== 'function') {
      done(false, result);
      return;
    }
    module.busy = true;
    this.busyCount++;
    const settled = (failed, value) => {
      done(failed, value);
      this.unbusy(module);
    };
    Promise.resolve(result).then((value) => settled(false, value), (error) => settled(true, error));
  }

  /** A module a swap removed: messages still in its inbox (none when the instance is idle) are dropped as done. */
  forget(module) {
    while (module.inbox.length > 0) {
      module.inbox.shift();
      this.acks.done(module.inbox.root);
    }
    if (!module.queued) return;
    module.queued = false;
    const ready = new RingQueue();
    for (let i = 0; i < this.ready.length; i++) {
      if (this.ready.get(i) !== module) ready.push(this.ready.get(i));
    }
    this.ready = ready;
  }

  returned(module, value) {
    try {
      this.onReturned(module, value);
    } catch (error) {
      this.fail(module, error);
    }
  }

  fail(module, error) {
    module.errors++;
    module.unsaved = true;
    this.onError(module, error);
  }

  finish(module) {
    const root = module.currentRoot;
    module.currentRoot = 0;
    module.currentMessage = null;
    module.currentText = null;
    this.acks.done(root);
  }
}

export { Scheduler };
