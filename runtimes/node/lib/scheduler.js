'use strict';
// Runs modules' handlers: one message at a time per module, in inbox order; an async handler is
// awaited before its module takes the next message, while other modules go on. A loop over a
// ready queue, never recursion, so local cycles cannot overflow the stack. Synchronous handlers
// cost no Promise: the result is checked for a `then` first.

const { RingQueue } = require('./ring_queue');

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
      if (done === budget) return true;
      done++;
      const module = ready.shift();
      module.queued = false;
      this.processNext(module);
      if (!module.busy && module.inbox.length > 0) {
        module.queued = true;
        ready.push(module); // round robin: one message per turn
      }
    }
    return false;
  }

  processNext(module) {
    const inbox = module.inbox;
    const message = inbox.shift();
    module.currentRoot = inbox.root;
    module.currentMessage = message;
    module.currentText = inbox.text;
    module.received++;
    module.ranSinceStats = true;
    this.changed = true;
    if (module.onMessage === null) {
      module.errors++;
      this.onUndeliverable(module);
      this.finish(module);
      return;
    }
    let result;
    try {
      result = this.invoke(module, module.onMessage, message, module.ctx);
      if (result !== undefined && result !== null && typeof result.then === 'function') {
        this.await(module, result);
        return;
      }
    } catch (error) {
      this.fail(module, error);
      this.finish(module);
      return;
    }
    if (result !== undefined) this.returned(module, result);
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

module.exports = { Scheduler };
