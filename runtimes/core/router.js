// Sends from a module's output port: to local targets' inboxes as JS values (no JSON for a single
// target; the second and later targets get their own copy) and to the host as one
// `D<route> <json>` frame. While messages go via the host (debug routing, `mode` frames), every
// send is one `D<all> <json>` frame and no local target is called.

import { fitsUtf8 } from './utf8.js';

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
    this.viaHost = false; // set by {"t":"mode","via":"host"}, cleared by "direct"
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
    if (this.viaHost && route.allPrefix !== null) return this.sendViaHost(module, index, payload, route.allPrefix);
    const targets = route.targets;
    const count = targets.length;
    // Everything that can fail (encoding, size) happens before anything is delivered.
    // JSON text is made once: for the frame to the host, and as the source of fan-out copies.
    let text = null;
    if (route.prefix !== null || count > 1) text = this.encode(module, index, payload);
    if (route.prefix !== null) {
      this.checkSize(module, index, text, route.prefix.length);
      this.writeFrame(route.prefix + text + '\n');
    }
    module.sent++;
    if (count === 0) return;
    const root = module.currentRoot;
    this.deliver(targets[0], payload, root);
    // Later targets get their own copy. A JSON round trip measured faster than structuredClone
    // for small payloads (Node 20), and keeps local copies the same as what a remote target gets.
    for (let i = 1; i < count; i++) this.deliver(targets[i], JSON.parse(text), root);
  }

  /** Debug routing: one frame on the `all` route reaches every target through the host. */
  sendViaHost(module, index, payload, prefix) {
    const text = this.encode(module, index, payload);
    this.checkSize(module, index, text, prefix.length);
    this.writeFrame(prefix + text + '\n');
    module.sent++;
  }

  deliver(target, payload, root) {
    this.acks.add(root);
    this.scheduler.enqueue(target.module, target.port, payload, root, null);
  }

  encode(module, index, payload) {
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
    return text;
  }

  checkSize(module, index, text, prefixLength) {
    if (!fitsUtf8(text, this.maxFrameBytes - prefixLength)) {
      throw new RangeError(`payload sent on port '${module.outputs[index]}' is over the frame limit of ${this.maxFrameBytes} bytes`);
    }
  }
}

export { Router };
