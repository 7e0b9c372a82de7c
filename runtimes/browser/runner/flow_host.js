// One flow on this browser runner: its placed browser modules in one in-tab runtime instance
// (instance.js: the shared core), and the host's side of the pipe protocol for it: deploy and
// hot swap, delivery into the instance through two stages (the debugger, then a gate that holds
// messages while the link is silent, a swap waits or the window is full), the instance's acks
// turned into acks of cross-runner frames, and its frames turned into events and data.

import { Instance } from './instance.js';
import { buildTables } from './flow_tables.js';
import { FlowDebugger } from './flow_debugger.js';
import { ModuleStatus } from './module_status.js';
import { planSwap } from './swap_plan.js';
import { FlowDebugCommands } from './flow_debug_commands.js';
import { describeError } from '../../core/error_text.js';
import { readControlFrame } from './control_frames.js';
import { flowStatus } from './flow_status.js';

const ok = () => ({ kind: 'ok' });
const failure = (code, message) => ({ kind: 'failure', code, message });
const IDLE_TIMEOUT_MS = 30000;

/** A syntax check of a module's code, without running it (running it could touch the page). */
function syntaxProblem(module) {
  try {
    new Function('exports', 'require', 'module', 'console', module.code); // eslint-disable-line no-new-func
    return null;
  } catch (err) {
    return `${module.id}: ${describeError(err)}`;
  }
}

class FlowHost {
  /**
   * env: { emit(event), streams (DataStreams), capture (ConsoleCapture), clock: { now, setTimer,
   * clearTimer, schedule }, version, maxFrameBytes, window, log(text) }
   */
  constructor(flowId, env) {
    this.flowId = flowId;
    this.env = env;
    this.state = 'deployed';
    this.reason = null;
    this.flow = null;
    this.placed = new Map(); // module -> { gen, state }
    this.tables = null;
    this.instance = null;
    this.instanceState = 'stopped';
    this.restarts = 0;
    this.debugger = new FlowDebugger();
    this.debug = new FlowDebugCommands(this);
    this.records = new Map(); // module -> ModuleStatus
    this.queue = []; // messages past the debugger, waiting at the gate
    this.inFlight = []; // { n, origin } sent to the instance, not acked
    this.pendingDone = []; // { origins, need }: acked by the instance, waiting for downstream arrival
    this.held = false; // the link is silent: no handler may run
    this.swapping = false;
    this.pendingStates = new Map(); // module -> state, for the next `states` report
    this.statesSentAt = -Infinity; // when the last `states` report went (the runner's clock)
    this.lastStates = new Map(); // module -> state from the last commit
    this.waiters = []; // resolve() when the instance is idle
    this.replyWaiter = null; // resolve(frame) for configured / swapped / bye
    this.staleFrames = 0;
    this.serial = Promise.resolve(); // deploy, start, stop, step, release, fence: one at a time
    this.pumping = false;
    this.handingOff = new Set(); // modules a deploy is taking off this tab: local messages to them wait for their new place
  }

  /** Runs fn after the flow's earlier lifecycle operations have finished (a deploy during a swap waits). */
  exclusive(fn) {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => {});
    return run;
  }

  /** An event of this flow; none of a module that left (fenced, dropped, released). */
  emit(event) {
    if (event.module !== undefined && this.flow !== null && !this.placed.has(event.module)) return;
    this.env.emit({ ...event, flow: this.flowId });
  }

  setState(state, reason = null) {
    if (this.state === state && this.reason === reason) return;
    this.state = state;
    this.reason = reason;
    this.emit(reason === null ? { type: 'flowState', state } : { type: 'flowState', state, reason });
  }

  // Deploy and hot swap.

  async deploy(deploy) {
    const first = this.flow === null;
    const placed = new Map(deploy.placed.map((p) => [p.module, { gen: p.gen, state: p.state === undefined ? null : p.state }]));
    let tables;
    try {
      tables = buildTables(deploy.flow, placed);
    } catch (err) {
      return failure('bad-deploy', err.message);
    }
    const problems = deploy.flow.modules.filter((m) => placed.has(m.id)).map(syntaxProblem).filter((p) => p !== null);
    if (problems.length > 0) return failure('load-error', problems.join('; '));
    try {
      const states = await this.releaseLeaving(deploy.flow, placed);
      const reply = await this.applyDeploy(deploy, placed, tables, first);
      return states.length > 0 && reply.kind === 'ok' ? { kind: 'released', states } : reply;
    } finally {
      this.handingOff = new Set();
    }
  }

  /**
   * A deploy that takes modules that ran here off this tab (a live move; docs/runner-protocol.md,
   * "Moves"): what is queued for them runs first, then their states are read and they leave at
   * once (later frames for them are refused, to go to their new place). Returns the `released`
   * states, sorted by module, of those whose state is known.
   */
  async releaseLeaving(flow, placed) {
    if (this.instance === null || this.flow === null) return [];
    const inFlow = new Set(flow.modules.map((m) => m.id));
    const leaving = [...this.placed.keys()].filter((m) => !placed.has(m) && inFlow.has(m)).sort();
    if (leaving.length === 0) return [];
    await this.drain(leaving);
    const states = this.debug.report();
    const released = [];
    for (const module of leaving) {
      const state = states[module] !== undefined ? states[module] : this.lastStates.get(module);
      if (state !== undefined) released.push({ module, state });
    }
    this.handingOff = new Set(leaving);
    this.forgetModules(leaving); // in the same turn as the states were read: nothing runs for them after that
    return released;
  }

  async applyDeploy(deploy, placed, tables, first) {
    const routes = deploy.routes || [];
    const handedOver = new Set(deploy.handedOver || []); // their old place finished and let them go: it acks or refuses what it has
    for (const { module, runner, session, gen } of routes) {
      this.env.streams.setRoute(this.flowId, module, { runner, session, gen }, handedOver.has(module));
    }
    for (const m of deploy.flow.modules) {
      if (!placed.has(m.id) && !routes.some((r) => r.module === m.id)) this.env.streams.setRoute(this.flowId, m.id, null);
    }
    if (deploy.breakpoints !== undefined) this.debug.replaceBreakpoints(deploy.breakpoints);
    if (first || this.instance === null) {
      this.flow = deploy.flow;
      this.placed = placed;
      this.tables = tables;
      for (const spec of tables.specs) this.records.set(spec.id, new ModuleStatus(spec.id, spec.code));
      if (deploy.start !== true) return ok(); // absent is false, as RemoteDeploy reads it
      return this.startInstance(true);
    }
    return this.swap(deploy, placed, tables);
  }

  async startInstance(firstStart) {
    if (this.placed.size === 0) {
      this.setState('running');
      return ok();
    }
    const instance = new Instance(this.sinkFor(), {
      capture: this.env.capture, schedule: this.env.clock.schedule, setTimer: this.env.clock.setTimer,
      clearTimer: this.env.clock.clearTimer, maxFrameBytes: this.env.maxFrameBytes, version: this.env.version,
    });
    this.instance = instance;
    this.inFlight = [];
    instance.start();
    const modules = this.tables.specs.map((spec) => {
      const placedState = this.placed.get(spec.id).state;
      // A state given with the placement (the module comes from elsewhere) wins; else the last committed one.
      const kept = placedState !== null ? placedState : (this.lastStates.has(spec.id) ? this.lastStates.get(spec.id) : null);
      return { ...spec, state: kept, init: firstStart && kept === null };
    });
    const reply = this.awaitReply();
    instance.control({ t: 'configure', flowId: this.flowId, modules, slots: this.tables.slots, routes: this.tables.routes });
    const configured = await reply;
    if (this.instance !== instance) return failure('runtime-failed', `flow "${this.flowId}": the browser runtime instance ended before it was configured`);
    this.instanceState = 'ready';
    this.emit({ type: 'instanceState', runtime: 'browser', state: 'ready', restarts: this.restarts });
    if (this.debugger.mode !== 'direct') instance.control({ t: 'mode', via: 'host' });
    const failed = this.loadResults(configured.modules);
    this.setState(this.debugger.machine.isHoldingMessages ? 'paused' : 'running');
    this.pump();
    return failed.length === 0 ? ok() : failure('load-error', failed.join('; '));
  }

  loadResults(results) {
    const failed = [];
    for (const [id, result] of Object.entries(results || {})) {
      const record = this.records.get(id);
      if (result.ok) {
        if (record) record.state = 'running';
      } else {
        if (record) record.state = 'load-error';
        failed.push(`${id}: ${result.error}${result.line ? ` (line ${result.line})` : ''}`);
      }
    }
    return failed;
  }

  /** A deploy of a flow that runs here: new code, config, ports; added and removed modules. */
  async swap(deploy, placed, tables, quiet = false) {
    const { changed, added, removed, loaded, nothing } = planSwap(this.tables, tables, placed);
    if (nothing) {
      this.flow = deploy.flow; // new routes or generations only
      this.placed = placed;
      this.tables = tables;
      return ok();
    }
    this.swapping = true;
    try {
      await this.whenIdle();
      if (this.instance === null) return failure('runtime-failed', `flow "${this.flowId}" not updated: the browser runtime instance ended during the swap`);
      const reply = this.awaitReply();
      this.instance.control({ t: 'swap', modules: loaded, remove: removed, slots: tables.slots, routes: tables.routes });
      const swapped = await reply;
      if (swapped.t !== 'swapped') return failure('runtime-failed', `flow "${this.flowId}" not updated: the browser runtime instance ended during the swap`);
      this.flow = deploy.flow;
      this.placed = placed;
      this.tables = tables;
      for (const id of removed) this.records.delete(id);
      for (const id of added) this.records.set(id, new ModuleStatus(id, tables.specs.find((s) => s.id === id).code));
      for (const id of changed) this.records.get(id).swapped(tables.specs.find((s) => s.id === id).code);
      const gone = new Set(removed);
      const dropped = [...this.queue.filter((m) => gone.has(m.module)), ...this.debugger.forget(gone)];
      this.queue = this.queue.filter((m) => !gone.has(m.module));
      // A removed module still in the flow was placed elsewhere: its messages go there.
      const inFlow = new Set(deploy.flow.modules.map((m) => m.id));
      this.discard(dropped, (m) => inFlow.has(m.module));
      const failed = this.loadResults(swapped.modules);
      const event = { type: 'swapped', changed, added, removed, moved: [] };
      if (deploy.revision !== undefined) event.revision = deploy.revision;
      if (!quiet) this.emit(event);
      return failed.length === 0 ? ok() : failure('load-error', failed.join('; '));
    } catch (err) {
      return failure('swap-timed-out', `flow "${this.flowId}" not updated: ${err.message}; the old version goes on: see status`);
    } finally {
      this.swapping = false;
      this.pump();
    }
  }

  awaitReply() {
    return new Promise((resolve) => { this.replyWaiter = resolve; });
  }

  /** Resolves when every message sent to the instance is acked (rejects after 30 s). */
  whenIdle() {
    if (this.inFlight.length === 0 || this.instance === null) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = this.env.clock.setTimer(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`its browser modules did not finish their messages within ${IDLE_TIMEOUT_MS / 1000} s (a handler that does not return?)`));
      }, IDLE_TIMEOUT_MS);
      const waiter = () => { this.env.clock.clearTimer(timer); resolve(); };
      this.waiters.push(waiter);
    });
  }

  // The instance's frames.

  sinkFor() {
    return {
      data: (route, text) => this.fromInstance(route, text),
      ack: (count) => this.acked(count),
      control: (frame) => this.controlFrame(frame),
    };
  }

  fromInstance(routeId, text) {
    const route = this.tables.routeTable[routeId];
    if (route === undefined) return this.env.log(`flow "${this.flowId}": the instance wrote to unknown route ${routeId}`);
    this.debugger.emitted(route.module, route.port, text);
    if (route.output) this.emit({ type: 'output', module: route.module, port: route.port, payload: text });
    for (const target of route.targets) this.env.streams.send(this.flowId, target.module, target.port, text);
    for (const slot of route.local) {
      const [module, port] = this.tables.slots[slot];
      this.deliver({ module, port, text, origin: null });
    }
  }

  acked(count) {
    const origins = [];
    while (this.inFlight.length > 0 && this.inFlight[0].n <= count) {
      const { origin } = this.inFlight.shift();
      if (origin !== null) origins.push(origin);
    }
    if (origins.length > 0) this.pendingDone.push({ origins, need: this.env.streams.lastIndex });
    this.settle();
    if (this.inFlight.length === 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
    this.pump();
  }

  /** Acks the cross-runner frames whose work is done and whose sends have arrived. */
  settle() {
    while (this.pendingDone.length > 0 && this.env.streams.arrivedThrough(this.pendingDone[0].need)) {
      for (const origin of this.pendingDone.shift().origins) this.env.streams.done(origin);
    }
  }

  controlFrame(frame) {
    readControlFrame(this, frame);
  }

  instanceEnded(state, reason) {
    // Whoever waits on this instance gets an answer: every command has exactly one reply.
    const waiter = this.replyWaiter;
    this.replyWaiter = null;
    if (waiter) waiter({ t: 'ended' });
    const idle = this.waiters;
    this.waiters = [];
    for (const record of this.records.values()) {
      record.instanceEnded();
      if (record.state === 'running') record.state = 'stopped';
    }
    this.instance = null;
    this.instanceState = state;
    this.inFlight = [];
    const event = { type: 'instanceState', runtime: 'browser', state, restarts: this.restarts };
    if (reason !== null) event.reason = reason;
    this.emit(event);
    for (const w of idle) w();
    if (state === 'failed') this.setState('degraded', `browser runtime instance: ${reason}`);
  }

  // Delivery: debugger stage, then the gate, then the instance.

  /** A frame from another runner. Returns false when its generation is not the one placed here (it is refused). */
  receiveFrame(frame, origin) {
    const placed = this.placed.get(frame.module);
    if (placed === undefined || placed.gen !== frame.gen) {
      this.staleFrames += 1;
      this.env.log(`flow "${this.flowId}": refused a frame for ${frame.module}.${frame.port} at generation ${frame.gen}` +
        (placed ? ` (it runs here at ${placed.gen})` : ' (it does not run here)'));
      return false;
    }
    this.deliver({ module: frame.module, port: frame.port, text: frame.payload, origin });
    return true;
  }

  /** `inject`: payload as JSON text; the port defaults to the module's first input. */
  inject(module, port, text) {
    if (!this.placed.has(module)) return failure('unknown-module', `flow "${this.flowId}": module "${module}" does not run on this runner`);
    const target = port === undefined ? this.tables.firstInput(module) : port;
    if (this.tables.slotOf(module, target) === undefined) return failure('unknown-port', `flow "${this.flowId}": module "${module}" has no input "${target}"`);
    if (this.queue.length >= this.env.window) return failure('saturated', `flow "${this.flowId}": ${this.queue.length} messages wait for the browser modules; try again later`);
    this.deliver({ module, port: target, text, origin: null });
    return ok();
  }

  deliver(message, passing = null) {
    if (!this.placed.has(message.module) && message.origin === null && this.handingOff.has(message.module)) {
      this.env.streams.send(this.flowId, message.module, message.port, message.text); // to its new place, once routed
      return;
    }
    if (!this.placed.has(message.module)) { // it left (fence, release) while its old tables still route to it
      this.discard([message], () => true);
      return;
    }
    const arrival = this.debugger.arrived(message, passing);
    if (arrival === 'holdAndPause') {
      this.setState('paused');
      this.emit({ type: 'paused', module: message.module, port: message.port, payload: message.text });
    }
    if (arrival !== 'deliver') return;
    this.queue.push(message);
    this.pump();
  }

  gateOpen() {
    return this.instance !== null && !this.held && !this.swapping && this.replyWaiter === null &&
      this.inFlight.length < this.env.window && this.env.streams.waiting < this.env.window;
  }

  /** Sends what the gate lets through, then gives it to the instance in one go. */
  pump() {
    if (this.pumping) return; // an ack during the drain below comes back here: the loop goes on
    this.pumping = true;
    try {
      let sent = 0;
      while (this.queue.length > 0 && this.gateOpen()) {
        const taken = Math.min(this.queue.length, this.env.window - this.inFlight.length, this.env.window - this.env.streams.waiting);
        const batch = this.queue.splice(0, Math.max(1, taken));
        for (const message of batch) this.send(message);
        sent += batch.length;
        if (this.instance !== null) this.instance.drain();
      }
      if (sent === 0 && this.instance !== null) this.instance.drain();
    } finally {
      this.pumping = false;
    }
  }

  send(message) {
    const slot = this.tables.slotOf(message.module, message.port);
    if (slot === undefined) {
      this.env.log(`flow "${this.flowId}": dropped a message for ${message.module}.${message.port}: no such input here`);
      if (message.origin !== null) this.env.streams.done(message.origin);
      return;
    }
    // Noted before it is written: the instance may process and ack it before data() returns.
    this.inFlight.push({ n: this.instance.sent + 1, origin: message.origin });
    this.instance.data(slot, message.text);
  }

  hold() { this.held = true; }

  release() {
    this.held = false;
    this.pump();
  }

  /** Where the flow's modules on other runners are now. */
  setRoutes(routes) {
    for (const m of this.flow.modules) {
      if (this.placed.has(m.id)) continue;
      const route = routes.find((r) => r.module === m.id);
      this.env.streams.setRoute(this.flowId, m.id, route ? { runner: route.runner, session: route.session, gen: route.gen } : null);
    }
    return ok();
  }

  // Start, stop, remove.

  async start() {
    if (this.instance !== null) return ok();
    return this.startInstance(false);
  }

  async stop() {
    if (this.instance === null) {
      this.setState('stopped');
      return ok();
    }
    const bye = this.awaitReply();
    this.instance.control({ t: 'stop' });
    await bye;
    this.setState('stopped');
    return ok();
  }

  /**
   * Stops at once, dropping every message not done (remove, fence of every module, stop after
   * grace). `elsewhere`: the flow's modules run on another runner now (fence, grace), so what came
   * from other runners is refused, to be sent there; else the flow is gone (remove): done.
   */
  halt(elsewhere = false) {
    // Ended first: the acks it writes as it closes move what they cover to pendingDone, as usual.
    if (this.instance !== null) this.instance.runtime.end();
    const dropped = [...this.inFlight, ...this.queue, ...this.debugger.forget(new Set(this.placed.keys()))];
    if (this.instance !== null) this.instanceEnded('stopped', null);
    this.queue = [];
    this.discard(dropped, () => elsewhere);
    // These ran; only their sends had not arrived, and those are forgotten with the flow.
    for (const { origins } of this.pendingDone.splice(0)) for (const origin of origins) this.env.streams.done(origin);
  }

  /**
   * Settles messages dropped before they were done. One from another runner must be, or its
   * stream's cumulative ack stops below it for good and its sender keeps every later frame: when
   * `refuse(message)` (its module runs elsewhere now) it is refused, so its sender sends it there;
   * else (the flow or the module is gone everywhere) it is done, and its sender drops it too.
   * One injected or sent here (no origin, no stream seq to refuse) is just dropped.
   */
  discard(messages, refuse) {
    for (const message of messages) {
      if (message.origin === null) continue;
      if (refuse(message)) this.env.streams.refuse(message.origin);
      else this.env.streams.done(message.origin);
    }
  }

  /** `release`: lets the messages queued for `modules` be processed; their states after that. */
  async finalStates(modules) {
    await this.drain(modules);
    const states = this.debug.report();
    return modules.map((module) => ({
      module, gen: this.placed.get(module).gen,
      state: states[module] !== undefined ? states[module] : (this.lastStates.get(module) ?? {}),
    }));
  }

  /** Lets the messages queued for `modules` be processed (as far as the gate lets them). */
  async drain(modules) {
    const waiting = () => this.queue.some((m) => modules.includes(m.module));
    for (let round = 0; round < this.env.window + 1; round++) {
      this.pump();
      await this.whenIdle();
      if (!waiting() || !this.gateOpen()) break;
    }
  }

  /**
   * `fence`, `welcome.drop`, the end of a `release`, at once: nothing more is delivered to these
   * modules (their frames are refused as stale) nor reported of them; unloadModules() then takes
   * their code out of the instance.
   */
  forgetModules(modules) {
    const gone = new Set(modules);
    this.placed = new Map([...this.placed].filter(([m]) => !gone.has(m)));
    // A newer generation of them runs elsewhere: what came from other runners is refused, to go there.
    this.discard([...this.queue.filter((m) => gone.has(m.module)), ...this.debugger.forget(gone)], () => true);
    this.queue = this.queue.filter((m) => !gone.has(m.module));
    for (const m of modules) this.pendingStates.delete(m);
  }

  async unloadModules(modules) {
    const tables = buildTables(this.flow, this.placed);
    if (this.placed.size === 0 || this.instance === null) {
      this.tables = tables;
      for (const m of modules) this.records.delete(m);
      return;
    }
    await this.swap({ flow: this.flow }, this.placed, tables, true);
  }


  /** The modules' states for a `states` report (those changed since the last one), or null. */
  takeStates() {
    if (this.pendingStates.size === 0) return null;
    const modules = [...this.pendingStates].filter(([m]) => this.placed.has(m))
      .map(([module, state]) => ({ module, gen: this.placed.get(module).gen, state }));
    this.pendingStates.clear();
    return modules.length === 0 ? null : { t: 'states', flow: this.flowId, modules };
  }

  status() {
    return flowStatus(this);
  }

}

export { FlowHost };
