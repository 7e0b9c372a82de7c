// Cross-runner data of a browser runner (docs/runner-protocol.md, "Data: cross-runner frames"):
// one stream each way per peer connection (runner, session), frames numbered from 1, sent in
// PF1 batches of at most BATCH_TARGET_BYTES, at most `window` frames per stream not yet acked,
// every frame kept until the peer acks it and sent again, in order, when `routes` moves its
// target. The receiving side keeps `recv` (arrived) and `ack` (done) per peer for the batches
// it sends back.
//
// Refusals: a frame for a module that does not run here at its generation is listed in the
// `refused` field of the next header back, and counted done (in `ack`) only from that header on,
// so its sender never frees it as done. The sender takes such frames back and sends them, in
// order, to the module's place once it changes (or after REFUSAL_RETRY_MS to the same place).

import { encodeBatch, frameBytes } from '../protocol/data_batch.js';
import { BATCH_TARGET_BYTES, DEFAULT_WINDOW, MAX_REFUSALS } from '../protocol/constants.js';

const REFUSAL_RETRY_MS = 1000; // a refusal may have crossed a move on its way: the same place is tried again after this
const SETTLE_LIMIT_MS = 5000; // a handed-over module's old place that settles nothing in this time is taken as gone

const sameRoute = (a, b) => a === b || (a !== null && b !== null && a.runner === b.runner && a.session === b.session && a.gen === b.gen);

/** Whether `frame` is on the stream `route` names, at its generation. */
const onRoute = (frame, route) => frame.peer !== null && frame.peer.runner === route.runner && frame.peer.session === route.session && frame.gen === route.gen;

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
    this.refusals = []; // seqs of its stream refused here, not yet listed in a header: not done until they are
    this.ackMoved = false;
  }
}

class DataStreams {
  /**
   * sendBinary(bytes): one binary WebSocket message. now(): the clock (ms). runsHere(flow, module):
   * whether that module runs on this runner (frames refused elsewhere are then delivered here).
   */
  constructor({ sendBinary, now = Date.now, runsHere = () => false, window = DEFAULT_WINDOW, maxBatchBytes = BATCH_TARGET_BYTES }) {
    this.sendBinary = sendBinary;
    this.now = now;
    this.runsHere = runsHere;
    this.window = window;
    this.maxBatchBytes = maxBatchBytes;
    this.me = null;
    this.session = null;
    this.peers = new Map(); // "runner session" -> Peer
    this.targets = new Map(); // "flow/module" -> { route, frames: [] (unacked, in order), ... } (see target())
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
    for (const target of this.targets.values()) {
      target.refused = null; // said on the old connection's streams
      target.settlingSince = null;
      for (const frame of target.frames) this.detach(frame);
    }
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
      // frames before unsentFrom all have a peer; refused: { runner, session, gen, at } that refused
      // frames of it; settlingSince: when it was handed over while its old place still held frames.
      target = { key, flow, module, route: null, frames: [], unsentFrom: 0, refused: null, settlingSince: null };
      this.targets.set(key, target);
    }
    return target;
  }

  /**
   * Where a module of another runner is: { runner, session, gen }, or null (unplaced: frames wait).
   * Frames kept for it elsewhere go again to the new place, unless it was `handedOver`: its old
   * place, alive, finished what it had, so each frame sent there is either acked or refused by it;
   * those stay, and what follows waits until none is left there (or SETTLE_LIMIT_MS).
   */
  setRoute(flow, module, route, handedOver = false) {
    const target = this.target(flow, module);
    if (!sameRoute(target.route, route)) {
      target.route = route;
      target.refused = null; // a new place: refused frames may go there
      target.settlingSince = null;
      if (route !== null) {
        for (const frame of target.frames) {
          if (frame.peer === null || onRoute(frame, route)) continue;
          if (handedOver && frame.seq > 0) continue; // sent to its old place: acked or refused there, never sent twice
          this.detach(frame);
        }
        if (handedOver && target.frames.some((f) => f.peer !== null && !onRoute(f, route))) target.settlingSince = this.now();
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

  /**
   * Whether the frames waiting for `target` may go to `route` now: not while its old place settles
   * what it holds (a hand-over), nor to a place that refused them, until REFUSAL_RETRY_MS passed.
   */
  mayGo(target, route) {
    const now = this.now();
    if (target.settlingSince !== null) {
      const held = target.frames.filter((f) => f.peer !== null && !onRoute(f, route));
      if (held.length > 0 && now - target.settlingSince < SETTLE_LIMIT_MS) return false;
      for (const frame of held) this.detach(frame); // its old place is silent: sent again (counted in redelivered)
      target.settlingSince = null;
    }
    if (target.refused !== null) {
      if (sameRoute(target.refused, route) && now - target.refused.at < REFUSAL_RETRY_MS) return false;
      target.refused = null;
    }
    return true;
  }

  /** Numbers the waiting frames of `target` on its route's stream, within the window. */
  pump(target) {
    const route = target.route;
    if (route === null || this.session === null || !this.mayGo(target, route)) return;
    const peer = this.peer(route.runner, route.session);
    const frames = target.frames;
    while (target.unsentFrom < frames.length && frames[target.unsentFrom].peer !== null) target.unsentFrom++;
    for (let i = target.unsentFrom; i < frames.length; i++) {
      const frame = frames[i];
      if (frame.peer !== null) continue;
      if (peer.inFlight.length + peer.toSend.length >= this.window) break;
      if (frame.sent) this.redelivered.set(target.key, (this.redelivered.get(target.key) || 0) + 1);
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
   * this connection, else { frames: [{ frame, origin }], here: [frame] }: the frames new on that
   * stream, and frames the peer refused for a module that now runs here (older: deliver them first).
   */
  receive({ header, frames }) {
    if (header.to !== this.me || header.toSession !== this.session) {
      return { refused: `a batch for ${header.to} session ${header.toSession} reached ${this.me} session ${this.session}` };
    }
    const peer = this.peer(header.from, header.fromSession);
    const here = [];
    // Refusals before the ack: the ack may cover refused frames, which must not be freed as done.
    for (const seq of header.refused || []) here.push(...this.takeBack(peer, seq));
    this.acknowledged(peer, header.recv, header.ack);
    if (header.refused !== undefined) this.pumpAll(); // what was taken back left room in the window
    const fresh = [];
    frames.forEach((frame, i) => {
      const seq = header.firstSeq + i;
      if (seq <= peer.recv) return; // already had it
      peer.recv = seq;
      peer.ackMoved = true;
      fresh.push({ frame, origin: { peer, seq } });
    });
    return { frames: fresh, here };
  }

  /**
   * The peer refused frame `seq` of our stream to it (a stale generation there): takes it back with
   * the later frames of that stream for the same module and generation (refused there too). They
   * wait, in front of what came after them, for the module's next place; when that is this runner,
   * they are returned, to be delivered here. A seq not kept any more is ignored.
   */
  takeBack(peer, seq) {
    const first = peer.inFlight.find((f) => f.seq === seq);
    const target = first === undefined ? undefined : this.targets.get(first.key);
    if (target === undefined) return []; // taken back already, or moved on with its module
    for (const frame of target.frames.filter((f) => f.peer === peer && f.gen === first.gen && (f.seq >= seq || f.seq === 0))) {
      this.detach(frame);
      frame.sent = false; // it never ran there: sending it again makes no duplicate
    }
    if (this.runsHere(target.flow, target.module)) return this.takeWaiting(target);
    target.refused = { runner: peer.runner, session: peer.session, gen: first.gen, at: this.now() };
    return [];
  }

  /** Takes the frames of `target` that wait for a stream out of it, in order (its module runs here now). */
  takeWaiting(target) {
    const waiting = target.frames.filter((f) => f.peer === null);
    target.frames = target.frames.filter((f) => f.peer !== null);
    target.unsentFrom = 0;
    for (const frame of waiting) frame.arrived = true; // handed to this runner's queue
    this.unsent -= waiting.length;
    return waiting;
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
    this.completed(origin.peer, origin.seq);
  }

  completed(peer, seq) {
    if (seq <= peer.ack) return;
    peer.done.add(seq);
    while (peer.done.has(peer.ack + 1)) {
      peer.done.delete(peer.ack + 1);
      peer.ack += 1;
      peer.ackMoved = true;
    }
  }

  /** The frame that came as `origin` was refused here: listed in the next header back, and only then done. */
  refuse(origin) {
    // In order: a header lists them increasing, and frames dropped at once (a fence) come in any order.
    const refusals = origin.peer.refusals;
    let i = refusals.length;
    while (i > 0 && refusals[i - 1] > origin.seq) i--;
    if (refusals[i - 1] !== origin.seq) refusals.splice(i, 0, origin.seq);
    origin.peer.ackMoved = true;
  }

  /** Whether some module's frames wait on the clock (a refused place's retry, a hand-over's limit). */
  waitsOnTime() {
    if (this.session === null) return false;
    for (const target of this.targets.values()) {
      if (target.route !== null && (target.refused !== null || target.settlingSince !== null)) return true;
    }
    return false;
  }

  /**
   * Sends what is numbered, in batches, with the current recv and ack; a bare ack when only they
   * moved; and batches enough to list every pending refusal (MAX_REFUSALS per header).
   */
  flush() {
    if (this.session === null) return;
    for (const target of this.targets.values()) {
      if (target.refused !== null || target.settlingSince !== null) this.pump(target); // their time may be up
    }
    for (const peer of this.peers.values()) {
      if (peer.toSend.length === 0 && !peer.ackMoved) continue;
      const frames = peer.toSend;
      peer.toSend = [];
      for (const frame of frames) {
        frame.seq = peer.nextSeq++;
        frame.sent = true; // from now on it may run there: sending it again may make a duplicate
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
        // Refusals listed in this header are done from now on, so its ack may cover them.
        const refused = peer.refusals.splice(0, MAX_REFUSALS);
        for (const seq of refused) this.completed(peer, seq);
        const header = {
          from: this.me, fromSession: this.session, to: peer.runner, toSession: peer.session,
          firstSeq: batch.length > 0 ? batch[0].seq : peer.nextSeq, recv: peer.recv, ack: peer.ack,
        };
        if (refused.length > 0) header.refused = refused;
        this.sendBinary(encodeBatch(header, batch));
        start = end;
      } while (start < frames.length || peer.refusals.length > 0);
      peer.ackMoved = false; // after the loop: listing refusals moves the ack, and the last header said it
    }
  }
}

export { DataStreams };
