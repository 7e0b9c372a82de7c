// A module's FIFO inbox. Each entry is three slots of one ring (message, root, payload text),
// so queueing a message allocates nothing beyond the message itself.

import { RingQueue } from './ring_queue.js';

class Inbox {
  constructor() {
    this.ring = new RingQueue();
    this.length = 0;
    // Set by shift(): the root and the original payload text (or null) of the message it returned.
    this.root = 0;
    this.text = null;
  }

  /** `root` is the ack root the message belongs to (0: none); `text` its JSON text when it came as a frame. */
  push(message, root, text) {
    const ring = this.ring;
    ring.push(message);
    ring.push(root);
    ring.push(text);
    this.length++;
  }

  shift() {
    const ring = this.ring;
    const message = ring.shift();
    this.root = ring.shift();
    this.text = ring.shift();
    this.length--;
    return message;
  }
}

export { Inbox };
