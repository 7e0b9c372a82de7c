// Cross-runner data of a browser runner (docs/runner-protocol.md, "Data: cross-runner frames"):
// one stream each way per peer connection (runner, session), frames numbered from 1, sent in
// PF1 batches of at most BATCH_TARGET_BYTES, at most `window` frames per stream not yet acked,
// every frame kept until the peer acks it and sent again, in order, when `routes` moves its
// target. The receiving side keeps `recv` (arrived) and `ack` (done) per peer for the batches
// it sends back.

import { encodeBatch, frameBytes } from '../protocol/data_batch.js';
import { BATCH_TARGET_BYTES, DEFAULT_WINDOW } from '../protocol/constants.js';

class Peer {
  constructor(runner, session) {
    this.runner = runner;
    this.session = session;
    this.nextSeq = 1; // of our stream to it
    this.inFlight = []; // our frames sent on this stream, not yet acked, in seq order
    this.toSend = []; // routed here, not yet numbered: numbers are given as a batch is written, so no gap
    this.recv = 0; // its stream to us: every frame up to recv arrived
    this.ack = 0; // ... and up to ack is done
    this.done = new Set(); // done seqs above ack
    this.ackMoved = false;
  }
}

class DataStreams {
  /** sendBinary(bytes): one binary WebSocket message. counters: { redelivered, staleFrames } (shared). */
  constructor({ sendBinary, window = DEFAULT_WINDOW, maxBatchBytes = BATCH_TARGET_BYTES }) {
    this.sendBinary = sendBinary;
    this.window = window;
    this.maxBatchBytes = maxBatchBytes;
    this.me = null;
    this.session = null;
    this.peers = new Map(); // "runner session" -> Peer
    this.targets = new Map(); // "flow/module" -> { route, frames: [] } (unacked, in order)
    this.unarrived = []; // every frame not yet arrived, in index order (front-trimmed)
    this.lastIndex = 0;
    this.unsent = 0; // frames routed to no peer yet (full window, unplaced target, link down)
    this.redelivered = new Map(); // "flow/module" -> count
  }

  /** A welcome: stream numbers and acks start afresh; unacknowledged frames are kept, to send again. */
  welcomed(runner, session, window) {
    this.me = runner;
    this.session = session;
    if (window > 0) this.window = window;
    this.peers = new Map();
    for (const target of this.targets.values()) for (const frame of target.frames) this.detach(frame);
    this.pumpAll();
  }

  /** The connection is gone: nothing goes out until the next welcome. */
  disconnected() {
    this.session = null;
  }

  peer(runner, session) {
    const key = `${runner} ${session}`;
    let peer = this.peers.get(key);
    if (peer === undefined) {
      peer = new Peer(runner, session);
      this.peers.set(key, peer);
    }
    return peer;
  }

  target(flow, module) {
    const key = `${flow}/${module}`;
    let target = this.targets.get(key);
    if (target === undefined) {
      target = { key, route: null, frames: [], unsentFrom: 0 }; // frames before unsentFrom all have a peer
      this.targets.set(key, target);
    }
    return target;
  }

  /** Where a module of another runner is: { runner, session, gen }, or null (unplaced: frames wait). */
  setRoute(flow, module, route) {
    const target = this.target(flow, module);
    target.route = route;
    if (route !== null) {
      for (const frame of target.frames) {
        const peer = frame.peer;
        if (peer !== null && (peer.runner !== route.runner || peer.session !== route.session || frame.gen !== route.gen)) {
          this.detach(frame);
        }
      }
    }
    this.pump(target);
  }

  /** { module: count } of the frames sent again to modules of `flow` (an upper bound of duplicates). */
  redeliveredFor(flow) {
    const counts = {};
    for (const [key, n] of this.redelivered) if (key.startsWith(`${flow}/`)) counts[key.slice(flow.length + 1)] = n;
    return counts;
  }

  /** Forgets every frame for the modules of `flow` (the flow was removed here). */
  forgetFlow(flow) {
    for (const [key, target] of this.targets) {
      if (!key.startsWith(`${flow}/`)) continue;
      for (const frame of target.frames) {
        this.detach(frame);
        frame.arrived = true; // nobody waits for it any more
        this.unsent -= 1;
      }
      this.targets.delete(key);
    }
  }

  detach(frame) {
    const peer = frame.peer;
    if (peer === null) return;
    const target = this.targets.get(frame.key);
    if (target !== undefined) target.unsentFrom = 0; // rare (a move, a re-welcome): pump looks again from the start
    peer.inFlight = peer.inFlight.filter((f) => f !== frame);
    peer.toSend = peer.toSend.filter((f) => f !== frame);
    frame.peer = null;
    frame.seq = 0;
    this.unsent += 1;
  }

  /** A frame for a module of another runner; returns its index (see arrivedThrough). */
  send(flow, module, port, payload) {
    const target = this.target(flow, module);
    const frame = { index: ++this.lastIndex, flow, module, port, payload, gen: 0, peer: null, seq: 0, arrived: false, sent: false, key: target.key };
    target.frames.push(frame);
    this.unarrived.push(frame);
    this.unsent += 1;
    this.pump(target);
    return frame.index;
  }

  /** Numbers the waiting frames of `target` on its route's stream, within the window. */
  pump(target) {
    const route = target.route;
    if (route === null || this.session === null) return;
    const peer = this.peer(route.runner, route.session);
    const frames = target.frames;
    while (target.unsentFrom < frames.length && frames[target.unsentFrom].peer !== null) target.unsentFrom++;
    for (let i = target.unsentFrom; i < frames.length; i++) {
      const frame = frames[i];
      if (frame.peer !== null) continue;
      if (peer.inFlight.length + peer.toSend.length >= this.window) break;
      if (frame.sent) this.redelivered.set(target.key, (this.redelivered.get(target.key) || 0) + 1);
      frame.sent = true;
      frame.peer = peer;
      this.unsent -= 1;
      frame.gen = route.gen;
      peer.toSend.push(frame);
    }
  }

  pumpAll() {
    for (const target of this.targets.values()) this.pump(target);
  }

  /** Frames not yet sent (a full window, or an unplaced target): the back pressure measure. */
  get waiting() {
    return this.unsent;
  }

  /** Whether every frame with an index ≤ `index` has arrived at its receiver (or is gone). */
  arrivedThrough(index) {
    let first = 0;
    while (first < this.unarrived.length && this.unarrived[first].arrived) first++;
    if (first > 0) this.unarrived = this.unarrived.slice(first);
    return this.unarrived.length === 0 || this.unarrived[0].index > index;
  }

  /**
   * A decoded batch from the dispatcher. Returns { refused: reason } when it is not addressed to
   * this connection, else { frames: [{ frame, origin }] } for the frames new on that stream.
   */
  receive({ header, frames }) {
    if (header.to !== this.me || header.toSession !== this.session) {
      return { refused: `a batch for ${header.to} session ${header.toSession} reached ${this.me} session ${this.session}` };
    }
    const peer = this.peer(header.from, header.fromSession);
    this.acknowledged(peer, header.recv, header.ack);
    const fresh = [];
    frames.forEach((frame, i) => {
      const seq = header.firstSeq + i;
      if (seq <= peer.recv) return; // already had it
      peer.recv = seq;
      peer.ackMoved = true;
      fresh.push({ frame, origin: { peer, seq } });
    });
    return { frames: fresh };
  }

  /** The peer's recv and ack for our stream to it. */
  acknowledged(peer, recv, ack) {
    let freed = false;
    for (const frame of peer.inFlight) {
      if (frame.seq > recv) break; // in seq order
      frame.arrived = true;
    }
    let count = 0;
    while (count < peer.inFlight.length && peer.inFlight[count].seq <= ack) count++;
    if (count > 0) {
      const gone = new Set(peer.inFlight.slice(0, count));
      peer.inFlight = peer.inFlight.slice(count);
      const keys = new Set([...gone].map((f) => f.key));
      for (const key of keys) {
        const target = this.targets.get(key);
        if (target === undefined) continue;
        target.frames = target.frames.filter((f) => !gone.has(f));
        target.unsentFrom = 0;
      }
      freed = true;
    }
    if (freed) this.pumpAll();
  }

  /** The frame that came as `origin` is done (processed, and what it caused arrived). */
  done(origin) {
    const peer = origin.peer;
    if (origin.seq <= peer.ack) return;
    peer.done.add(origin.seq);
    while (peer.done.has(peer.ack + 1)) {
      peer.done.delete(peer.ack + 1);
      peer.ack += 1;
      peer.ackMoved = true;
    }
  }

  /** Sends what is numbered, in batches, with the current recv and ack; a bare ack when only they moved. */
  flush() {
    if (this.session === null) return;
    for (const peer of this.peers.values()) {
      if (peer.toSend.length === 0 && !peer.ackMoved) continue;
      const frames = peer.toSend;
      peer.toSend = [];
      peer.ackMoved = false;
      for (const frame of frames) {
        frame.seq = peer.nextSeq++;
        peer.inFlight.push(frame);
      }
      let start = 0;
      do {
        let end = start;
        let bytes = 0;
        while (end < frames.length && (end === start || bytes + frameBytes(frames[end]) <= this.maxBatchBytes)) {
          bytes += frameBytes(frames[end]);
          end++;
        }
        const batch = frames.slice(start, end);
        const header = {
          from: this.me, fromSession: this.session, to: peer.runner, toSession: peer.session,
          firstSeq: batch.length > 0 ? batch[0].seq : peer.nextSeq, recv: peer.recv, ack: peer.ack,
        };
        this.sendBinary(encodeBatch(header, batch));
        start = end;
      } while (start < frames.length);
    }
  }
}

export { DataStreams };
