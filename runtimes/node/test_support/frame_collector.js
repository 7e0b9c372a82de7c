// Test support: decodes what a runtime writes into a list of frames and waits for the ones a
// test expects (with a timeout, never a sleep). Data frames are { t: 'D', route, payload },
// acks { t: 'A', count }, control frames are their JSON objects.

import { FrameDecoder } from '../../core/framing.js';

class FrameCollector {
  constructor() {
    this.frames = [];
    this.decoder = new FrameDecoder();
    this.waiters = [];
    this.error = null;
  }

  /** Feeds output bytes (a Buffer/Uint8Array or a string). */
  push(chunk) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    try {
      this.decoder.push(bytes, this);
    } catch (err) {
      this.error = err;
    }
    this.check();
  }

  data(route, text) {
    this.frames.push({ t: 'D', route, payload: JSON.parse(text) });
  }

  ack(count) {
    this.frames.push({ t: 'A', count });
  }

  control(object) {
    this.frames.push(object);
  }

  /** Frames of control type `t` ('D' and 'A' for data and acks). */
  all(t) {
    return this.frames.filter((frame) => frame.t === t);
  }

  check() {
    this.waiters = this.waiters.filter((waiter) => {
      const found = this.frames.find(waiter.predicate);
      if (found === undefined && this.error === null) return true;
      clearTimeout(waiter.timer);
      if (found !== undefined) waiter.resolve(found);
      else waiter.reject(new Error(`runtime wrote a bad frame: ${this.error.message}`));
      return false;
    });
  }

  /** The first frame matching `predicate` (a function, or a control type such as 'bye'). */
  waitFor(predicate, timeoutMs = 5000) {
    const test = typeof predicate === 'function' ? predicate : (frame) => frame.t === predicate;
    return new Promise((resolve, reject) => {
      const waiter = { predicate: test, resolve, reject, timer: null };
      waiter.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${predicate}; frames: ${JSON.stringify(this.frames)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
      this.check();
    });
  }

  /** Waits until the runtime acked `count` data frames. */
  waitForAck(count, timeoutMs) {
    return this.waitFor((frame) => frame.t === 'A' && frame.count >= count, timeoutMs);
  }
}

export { FrameCollector };
