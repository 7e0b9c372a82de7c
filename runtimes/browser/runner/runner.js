// A browser runner: one WebSocket to the dispatcher at /runners (docs/runner-protocol.md), its
// link driven by LinkStateMachine (hello, welcome, heartbeats, hold, back-off, grace), the
// dispatcher's commands answered with exactly one `reply` each, events sent as they happen,
// cross-runner data through DataStreams, and one FlowHost per flow running its browser modules.

import { readMessage, writeMessage } from '../protocol/runner_messages.js';
import { decodeBatch } from '../protocol/data_batch.js';
import { PROTOCOL_VERSION, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_WINDOW, HELLO_MAX_BYTES } from '../protocol/constants.js';
import { LinkStateMachine } from './link_state_machine.js';
import { fitsUtf8, utf8ByteLength } from '../../core/utf8.js';
import { DataStreams } from './data_streams.js';
import { FlowHost } from './flow_host.js';
import { handleCommand } from './commands.js';

const TICK_DIVISOR = 4; // ticks per heartbeat interval: hold and loss are seen within a quarter interval
const LAST_ERRORS = 20;
const MAX_UNSENT_EVENTS = 4096; // events kept while the link is down, sent after the next welcome

class Runner {
  /**
   * options: { url, token, name, tags, runtime: {id, name, version}, instance (16 hex digits),
   * openSocket(url) -> WebSocket-like, clock, capture (ConsoleCapture), onChange(runner) }
   */
  constructor(options) {
    this.options = options;
    this.clock = options.clock;
    this.capture = options.capture;
    this.machine = new LinkStateMachine(this.clock.now());
    this.socket = null;
    this.welcome = null;
    this.limits = { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, window: DEFAULT_WINDOW };
    this.streams = new DataStreams({
      sendBinary: (bytes) => this.sendBinary(bytes),
      now: () => this.clock.now(),
      runsHere: (flow, module) => this.hosts.get(flow)?.placed.has(module) === true,
    });
    this.hosts = new Map(); // flow id -> FlowHost
    this.counters = { commands: 0, events: 0, batchesIn: 0, batchesOut: 0, staleFrames: 0, reconnects: 0 };
    this.lastErrors = [];
    this.refusal = null;
    this.tickTimer = null;
    this.flushPlanned = false;
    this.unsentEvents = []; // events produced while not connected (a handler that was running)
    this.droppedEvents = 0;
  }

  get link() { return this.machine.link; }
  get modules() { return this.machine.modules; }

  start() {
    this.run(this.machine.start());
    this.planTick();
  }

  close() {
    this.run(this.machine.close());
    if (this.tickTimer !== null) this.clock.clearTimer(this.tickTimer);
    this.tickTimer = null;
    this.closeSocket(1000, 'the runner was closed');
    this.changed();
  }

  changed() {
    if (this.options.onChange) this.options.onChange(this);
  }

  noteError(text) {
    this.lastErrors.push({ time: this.clock.now(), text });
    if (this.lastErrors.length > LAST_ERRORS) this.lastErrors.shift();
    this.changed();
  }

  // The link's actions.

  run(actions) {
    for (const action of actions) {
      switch (action.type) {
        case 'connect': this.openSocket(); break;
        case 'sendHello': this.sendHello(); break;
        case 'sendPing': this.sendText({ t: 'ping', n: action.n }); break;
        case 'scheduleReconnect':
          this.counters.reconnects += 1;
          this.clock.setTimer(() => this.run(this.machine.retryTimerFired()), action.afterMs);
          break;
        case 'closeConnection': this.closeSocket(4000, action.reason); break;
        case 'holdModules': for (const host of this.hosts.values()) host.hold(); break;
        case 'releaseModules': for (const host of this.hosts.values()) host.release(); break;
        case 'drop': this.fence(action.modules); break;
        case 'stopModules':
          for (const host of this.hosts.values()) {
            host.halt(true); // the dispatcher places them elsewhere
            this.streams.forgetFlow(host.flowId);
          }
          this.hosts.clear();
          this.noteError(`modules stopped: ${action.reason}`);
          break;
        case 'giveUp':
          this.noteError(`refused: ${action.reason}`);
          this.closeSocket(1000, 'refused');
          break;
        default: throw new Error(`runner: unknown link action ${action.type}`);
      }
    }
    this.changed();
  }

  planTick() {
    const every = Math.max(1, Math.floor(this.machine.policy.intervalMs / TICK_DIVISOR));
    this.tickTimer = this.clock.setTimer(() => this.tick(), every);
  }

  tick() {
    this.run(this.machine.tick(this.clock.now()));
    const now = this.clock.now();
    if (this.machine.link === 'connected') {
      for (const host of this.hosts.values()) {
        if (now - host.statesSentAt < this.machine.policy.intervalMs) continue; // at most once per interval per flow
        const states = host.takeStates();
        if (states === null) continue;
        host.statesSentAt = now;
        this.sendText(states);
      }
    }
    if (this.streams.waitsOnTime()) this.planFlush(); // a refused place's retry comes due on a quiet link too
    if (this.machine.link !== 'closed' && this.machine.link !== 'refused') this.planTick();
  }

  // The socket.

  openSocket() {
    let socket;
    try {
      socket = this.options.openSocket(this.options.url);
    } catch (err) {
      this.noteError(`cannot open ${this.options.url}: ${err.message}`);
      this.run(this.machine.disconnected(this.clock.now()));
      return;
    }
    this.socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => { if (this.socket === socket) this.run(this.machine.connected()); };
    socket.onmessage = (event) => { if (this.socket === socket) this.received(event.data); };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.streams.disconnected();
      if (event && event.code !== 1000 && event.code !== undefined) this.noteError(`connection closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`);
      this.run(this.machine.disconnected(this.clock.now()));
    };
    socket.onerror = () => {}; // a close follows
  }

  closeSocket(code, reason) {
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    this.streams.disconnected();
    try { socket.close(code, reason.slice(0, 120)); } catch { /* already closing */ }
  }

  /**
   * Sends a control message within welcome.maxMessageBytes: a `states` report over it goes one
   * module per message; a reply over it becomes a `payload-too-large` failure (a command still
   * gets exactly one reply); anything else over it is not sent, and noted.
   */
  sendText(message) {
    if (this.socket === null) return false;
    const text = writeMessage(message);
    const limit = this.limits.maxMessageBytes;
    if (!fitsUtf8(text, limit)) {
      const size = utf8ByteLength(text);
      if (message.t === 'states' && message.modules.length > 1) {
        return message.modules.every((m) => this.sendText({ ...message, modules: [m] }));
      }
      if (message.t === 'reply') {
        return this.sendText({ t: 'reply', id: message.id, reply: { kind: 'failure', code: 'payload-too-large',
          message: `the ${message.reply.kind} reply is ${size} bytes, over the dispatcher's limit of ${limit} (welcome.maxMessageBytes)` } });
      }
      this.noteError(`not sent: a ${message.t} message of ${size} bytes is over welcome.maxMessageBytes (${limit})`);
      return false;
    }
    this.socket.send(text);
    return true;
  }

  sendBinary(bytes) {
    if (this.socket === null || this.machine.link !== 'connected') return;
    this.counters.batchesOut += 1;
    this.socket.send(bytes);
  }

  sendHello() {
    const modules = [];
    for (const host of this.hosts.values()) {
      for (const [module, p] of host.placed) modules.push({ flow: host.flowId, module, gen: p.gen });
    }
    const hello = { t: 'hello', protocol: PROTOCOL_VERSION, name: this.options.name, instance: this.options.instance,
      runtimes: [this.options.runtime], tags: this.options.tags, modules };
    if (this.options.token) hello.token = this.options.token;
    const text = writeMessage(hello);
    if (text.length > HELLO_MAX_BYTES) this.noteError(`the hello is over ${HELLO_MAX_BYTES} bytes (${modules.length} modules): the dispatcher will close the connection`);
    this.socket.send(text);
  }

  received(data) {
    const now = this.clock.now();
    if (typeof data === 'string') this.receivedText(data, now);
    else this.receivedBatch(new Uint8Array(data), now);
    this.planFlush();
  }

  receivedText(text, now) {
    let message;
    try {
      message = readMessage(text, 'dispatcher', this.limits.maxMessageBytes);
    } catch (err) {
      this.noteError(`unreadable message from the dispatcher: ${err.message}`);
      this.closeSocket(err.code === 'message-too-large' ? 1009 : 1008, err.message);
      this.run(this.machine.disconnected(now));
      return;
    }
    switch (message.t) {
      case 'welcome': return this.welcomed(message, now);
      case 'refused':
        this.refusal = message;
        return this.run(this.machine.refused(message));
      case 'ping':
        this.run(this.machine.heard(now));
        this.sendText({ t: 'pong', n: message.n });
        return undefined;
      case 'pong': return this.run(this.machine.heard(now));
      case 'command':
        this.run(this.machine.heard(now));
        return this.command(message.id, message.command);
      default: return undefined;
    }
  }

  welcomed(welcome, now) {
    const wasLost = this.welcome !== null;
    this.welcome = welcome;
    this.limits = { maxFrameBytes: welcome.maxFrameBytes, maxMessageBytes: welcome.maxMessageBytes, window: welcome.window };
    this.streams.welcomed(welcome.runner, welcome.session, welcome.window);
    this.run(this.machine.welcomed(welcome, now)); // drop first: nothing of a dropped module goes out
    const unsent = this.unsentEvents;
    this.unsentEvents = [];
    for (const event of unsent) {
      const host = this.hosts.get(event.flow);
      if (event.module === undefined || (host !== undefined && host.placed.has(event.module))) this.sendText({ t: 'event', event });
    }
    if (this.droppedEvents > 0) {
      this.noteError(`${this.droppedEvents} events were dropped while the link was down (over ${MAX_UNSENT_EVENTS} kept)`);
      this.droppedEvents = 0;
    }
    if (wasLost) {
      for (const host of this.hosts.values()) {
        host.emit({ type: 'log', runtime: 'browser', record: { time: now, level: 'warn', text: `the browser runner reconnected (session ${welcome.session})` } });
      }
    }
  }

  receivedBatch(bytes, now) {
    this.run(this.machine.heard(now));
    if (this.machine.link !== 'connected') return;
    this.counters.batchesIn += 1;
    let batch;
    try {
      batch = decodeBatch(bytes, this.limits.maxFrameBytes);
    } catch (err) {
      this.noteError(`unreadable data batch: ${err.message}`);
      return;
    }
    const received = this.streams.receive(batch);
    if (received.refused !== undefined) {
      this.counters.staleFrames += batch.frames.length;
      this.noteError(received.refused);
      return;
    }
    for (const frame of received.here) { // for a module that moved here, refused by its old place: older than what came now
      this.hosts.get(frame.flow).deliver({ module: frame.module, port: frame.port, text: frame.payload, origin: null });
    }
    for (const { frame, origin } of received.frames) {
      const host = this.hosts.get(frame.flow);
      if (host === undefined || !host.receiveFrame(frame, origin)) {
        this.counters.staleFrames += 1;
        if (host === undefined) this.noteError(`refused a frame for ${frame.flow}/${frame.module}: no such flow here`);
        this.streams.refuse(origin); // its sender is told, takes it back and sends it to the module's place
      }
    }
    for (const host of this.hosts.values()) host.settle();
  }

  planFlush() {
    if (this.flushPlanned) return;
    this.flushPlanned = true;
    this.clock.schedule(() => {
      this.flushPlanned = false;
      for (const host of this.hosts.values()) { host.settle(); host.pump(); }
      this.streams.flush();
    });
  }

  // Commands.

  async command(id, command) {
    this.counters.commands += 1;
    let reply;
    try {
      reply = await handleCommand(this, command);
    } catch (err) {
      this.noteError(`command ${command.op} failed: ${err.stack || err}`);
      reply = { kind: 'failure', code: 'runner-error', message: `browser runner: ${command.op} failed: ${err.message}` };
    }
    this.sendText({ t: 'reply', id, reply });
    this.planFlush();
    this.changed();
  }

  hostFor(flowId) {
    let host = this.hosts.get(flowId);
    if (host === undefined) {
      host = new FlowHost(flowId, {
        emit: (event) => this.sendEvent(event),
        streams: this.streams,
        capture: this.capture,
        clock: { ...this.clock, schedule: (fn) => this.clock.schedule(() => { fn(); this.planFlush(); }) },
        version: this.options.runtime.version,
        maxFrameBytes: this.limits.maxFrameBytes,
        window: this.limits.window,
        log: (text) => this.noteError(text),
      });
      this.hosts.set(flowId, host);
    }
    return host;
  }

  sendEvent(event) {
    this.counters.events += 1;
    if (event.type === 'error') this.noteError(`${event.flow}/${event.module}: ${event.error.message}`);
    if (this.machine.link !== 'connected') {
      // Nothing but hello before a welcome: kept (bounded) and sent once welcomed.
      if (this.unsentEvents.length >= MAX_UNSENT_EVENTS) {
        this.unsentEvents.shift();
        this.droppedEvents += 1;
      }
      this.unsentEvents.push(event);
      return;
    }
    this.sendText({ t: 'event', event });
    this.planFlush();
  }

  /** `fence` and `welcome.drop`: stop these modules now and drop what is held for them. */
  fence(leases) {
    const byFlow = new Map();
    for (const lease of leases) {
      const host = this.hosts.get(lease.flow);
      if (host === undefined || !host.placed.has(lease.module)) continue;
      if (!byFlow.has(host)) byFlow.set(host, []);
      byFlow.get(host).push(lease.module);
    }
    const done = [];
    for (const [host, modules] of byFlow) {
      host.forgetModules(modules); // at once: before anything else is sent
      done.push(host.exclusive(() => host.unloadModules(modules)).then(() => {
        if (host.placed.size === 0) {
          host.halt(true); // what was still in the instance goes to the modules' new place
          this.hosts.delete(host.flowId);
          this.streams.forgetFlow(host.flowId);
        }
      }));
    }
    return Promise.all(done);
  }

  /** A top-level error of the page (window `error`, `unhandledrejection`): a log of every flow. */
  pageError(text) {
    this.noteError(text);
    const moduleId = this.capture.current === null ? undefined : this.capture.current.module.id;
    for (const host of this.hosts.values()) {
      const event = { type: 'log', runtime: 'browser', record: { time: this.clock.now(), level: 'error', text } };
      if (moduleId !== undefined && host.placed.has(moduleId)) event.module = moduleId;
      host.emit(event);
    }
  }

  /** What the page shows. */
  snapshot() {
    return {
      link: this.machine.link, modules: this.machine.modules, session: this.machine.session,
      name: this.welcome ? this.welcome.runner : this.options.name,
      flows: [...this.hosts.values()].map((h) => ({ flow: h.flowId, state: h.state, modules: [...h.placed.keys()] })),
      counters: { ...this.counters }, lastErrors: [...this.lastErrors], refusal: this.refusal,
    };
  }
}

export { Runner };
