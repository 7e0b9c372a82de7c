'use strict';
// Sends from a module's output port: to local targets' inboxes as JS values (no JSON; the
// second and later targets get their own copy) and to the host as one `D<route> <json>` frame.

const { fitsUtf8 } = require('./utf8');

class Router {
  /**
   * scheduler: enqueue(module, port, payload, root, text); acks: AckTracker;
   * writeFrame(text): appends one frame to the output; maxFrameBytes: the frame limit.
   */
  constructor({ scheduler, acks, writeFrame, maxFrameBytes }) {
    this.scheduler = scheduler;
    this.acks = acks;
    this.writeFrame = writeFrame;
    this.maxFrameBytes = maxFrameBytes;
  }

  /** ctx.send(port, payload). Throws (into the handler) on a bad port or a payload JSON cannot carry. */
  send(module, port, payload) {
    const index = module.outputIndex.get(port);
    if (index === undefined) {
      throw new Error(`module '${module.id}' has no output port '${port}' (outputs: ${module.outputs.join(', ')})`);
    }
    this.sendOn(module, index, payload);
  }

  /** A handler's return value goes to the first output port. */
  sendReturned(module, value) {
    if (module.outputs.length === 0) {
      throw new Error(`module '${module.id}' returned a value but has no output port`);
    }
    this.sendOn(module, 0, value);
  }

  sendOn(module, index, payload) {
    const route = module.routes[index];
    if (route === null) {
      throw new Error(`the host gave no route for output port '${module.outputs[index]}' of module '${module.id}'`);
    }
    const targets = route.targets;
    const count = targets.length;
    // Everything that can fail (encoding, copying) happens before anything is delivered.
    let text = null;
    if (route.prefix !== null) text = this.encode(module, index, payload, route.prefix.length);
    let copies = null;
    if (count > 1) copies = this.copies(payload, text, count - 1);

    if (text !== null) this.writeFrame(route.prefix + text + '\n');
    module.sent++;
    if (count === 0) return;
    const root = module.currentRoot;
    this.deliver(targets[0], payload, root);
    for (let i = 1; i < count; i++) this.deliver(targets[i], copies[i - 1], root);
  }

  deliver(target, payload, root) {
    this.acks.add(root);
    this.scheduler.enqueue(target.module, target.port, payload, root, null);
  }

  /** Deep copies for fan-out: parse the JSON text when there is one, else structuredClone. */
  copies(payload, text, count) {
    const copies = new Array(count);
    for (let i = 0; i < count; i++) copies[i] = text !== null ? JSON.parse(text) : structuredClone(payload);
    return copies;
  }

  encode(module, index, payload, prefixLength) {
    const port = module.outputs[index];
    let text;
    try {
      text = JSON.stringify(payload);
    } catch (err) {
      throw new TypeError(`payload sent on port '${port}' cannot be encoded as JSON: ${err.message}`);
    }
    if (text === undefined) {
      throw new TypeError(`payload sent on port '${port}' cannot be encoded as JSON (it is ${typeof payload})`);
    }
    if (!fitsUtf8(text, this.maxFrameBytes - prefixLength)) {
      throw new RangeError(`payload sent on port '${port}' is over the frame limit of ${this.maxFrameBytes} bytes`);
    }
    return text;
  }
}

module.exports = { Router };
