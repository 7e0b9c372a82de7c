// Cumulative acks (docs/protocol.md, "Acknowledgements"): every data frame from the host is a root
// numbered 1, 2, 3...; a root is finished when it and every message it caused in this runtime are
// processed. `acked` is the largest n such that roots 1..n are all finished.
//
// An ack goes with a `commit` of the modules' states (docs/protocol.md, "Commits"), so it is sent
// only at a clean cut: every root whose processing began (`started`) is finished, and nothing that
// init or onSwap sent (root 0) is still waiting. The states then hold exactly roots 1..acked.

import { RingQueue } from './ring_queue.js';

class AckTracker {
  constructor() {
    this.received = 0; // roots numbered so far
    this.acked = 0; // roots 1..acked are finished
    this.pending = new RingQueue(); // pending.get(i): unfinished messages of root acked + 1 + i
    this.started = 0; // the highest root a handler began (set by the scheduler)
    this.outside = 0; // unfinished messages of root 0 (sent by init or onSwap)
  }

  /** The ack count at a clean cut, or -1 when a root after the finished ones has begun. */
  get committable() {
    return this.acked >= this.started && this.outside === 0 ? this.acked : -1;
  }

  /** Numbers a new data frame from the host; returns its root (one unfinished message). */
  open() {
    this.pending.push(1);
    return ++this.received;
  }

  /** One more unfinished message of `root` (a local send made while processing it). */
  add(root) {
    if (root === 0) {
      this.outside++;
      return;
    }
    if (root <= this.acked) return;
    const index = root - this.acked - 1;
    this.pending.set(index, this.pending.get(index) + 1);
  }

  /** One message of `root` is finished. */
  done(root) {
    if (root === 0) {
      if (this.outside > 0) this.outside--;
      return;
    }
    if (root <= this.acked) return;
    const pending = this.pending;
    const index = root - this.acked - 1;
    const left = pending.get(index) - 1;
    pending.set(index, left);
    if (left !== 0 || index !== 0) return;
    while (pending.length > 0 && pending.peek() === 0) {
      pending.shift();
      this.acked++;
    }
  }

  /** True when every root received so far is finished. */
  get idle() {
    return this.acked === this.received;
  }
}

export { AckTracker };
