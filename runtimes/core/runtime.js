// The protocol side of a runtime instance (docs/protocol.md): hello, configure, swap, data frames
// in, batches of work, acks, stats, stop/bye, fatal. Platform-neutral: everything that touches the
// process, the fifos or the module loader comes in through `platform`.

import { FrameDecoder, FrameError, DEFAULT_MAX_FRAME_BYTES } from './framing.js';
import { AckTracker } from './ack_tracker.js';
import { Scheduler } from './scheduler.js';
import { Router } from './router.js';
import { Outbox } from './outbox.js';
import { createContext } from './context.js';
import { readConfigure, readSwap, ConfigError } from './configuration.js';
import { describeError, lineIn } from './error_text.js';
import { formatArgs } from './format_args.js';

const PROTOCOL_VERSION = 1;
const STATS_INTERVAL_MS = 200;
const BATCH_BUDGET = 4096; // messages per batch before the output is flushed and I/O gets a turn

const Phase = Object.freeze({
  AWAITING_CONFIGURE: 'awaiting-configure',
  INITIALISING: 'initialising', // modules loaded (configure or swap), init(ctx) functions still running
  RUNNING: 'running',
  CLOSED: 'closed', // bye, fatal or end of input: nothing more is read or written
});

class Runtime {
  /**
   * platform:
   *   identity { runtime, name, version, pid }     for the hello frame
   *   write(text), flush()                         output frames; flush writes them out now
   *   exit(code)                                   ends the instance (after a final flush)
   *   schedule(fn)                                 runs fn soon, after pending I/O
   *   setTimer(fn, ms) -> handle, clearTimer(h)    must not keep the process alive
   *   loadModule(module) -> { onMessage, init, onSwap } | { error, line }
   *   invoke(module, fn, a, b)                     calls user code on behalf of module (optional)
   *   format(args) -> text                         joins ctx.log arguments (optional)
   *   decodeText(bytes, start, end) -> string      UTF-8 decoding (optional)
   *   maxFrameBytes                                (optional, default 16 MiB)
   */
  constructor(platform) {
    this.platform = platform;
    const maxFrameBytes = platform.maxFrameBytes || DEFAULT_MAX_FRAME_BYTES;
    this.format = platform.format || formatArgs;
    this.phase = Phase.AWAITING_CONFIGURE;
    this.stopping = false;
    this.modules = [];
    this.slots = null;
    this.flowId = null;

    this.decoder = new FrameDecoder({ maxFrameBytes, decodeText: platform.decodeText });
    this.acks = new AckTracker();
    this.outbox = new Outbox({ write: (text) => this.writeFrame(text), maxFrameBytes });
    this.scheduler = new Scheduler({
      acks: this.acks,
      invoke: platform.invoke,
      onReturned: (module, value) => this.router.sendReturned(module, value),
      onError: (module, error) => this.outbox.handlerError(module, error),
      onUndeliverable: (module) => this.outbox.undeliverable(module),
      onAsyncDone: () => this.planBatch(),
    });
    this.router = new Router({
      scheduler: this.scheduler,
      acks: this.acks,
      writeFrame: (text) => this.writeFrame(text),
      maxFrameBytes,
    });

    this.batchPlanned = false;
    this.flushPlanned = false;
    this.statsTimer = null;
    this.batchTask = () => this.runBatch();
    this.flushTask = () => this.flush();
    this.statsTask = () => this.periodicStats();
    this.log = this.log.bind(this);
  }

  start() {
    this.outbox.control({ t: 'hello', protocol: PROTOCOL_VERSION, ...this.platform.identity });
    this.flush();
  }

  /** A chunk of bytes from the host: decode its frames, then run the work they brought. */
  receive(chunk) {
    if (this.phase === Phase.CLOSED) return;
    this.flushPlanned = true; // runBatch flushes at the end
    try {
      this.decoder.push(chunk, this);
    } catch (err) {
      if (err instanceof FrameError) return this.fatal(`bad frame from the host: ${err.message}`);
      this.log(null, 'error', `runtime error while reading frames: ${err && err.stack}`);
    }
    if (this.phase !== Phase.CLOSED) this.runBatch();
  }

  /** End of input: the host is gone or wants the instance gone. */
  end() {
    if (this.phase !== Phase.CLOSED) this.close(0);
  }

  /** A log line; moduleId null when it does not come from user code. */
  log(moduleId, level, text) {
    if (this.phase !== Phase.CLOSED) this.outbox.log(moduleId, level, text);
  }

  // Frame sink of the decoder.

  data(slot, text) {
    if (this.slots === null) return this.fatal(`a data frame (slot ${slot}) came before configure`);
    if (this.stopping) return;
    const target = this.slots[slot];
    if (target === undefined) {
      return this.fatal(`a data frame for unknown slot ${slot} (this instance has ${this.slots.length} slots)`);
    }
    let payload;
    try {
      payload = JSON.parse(text);
    } catch (err) {
      return this.badPayload(target, slot, text, err);
    }
    this.scheduler.enqueue(target.module, target.port, payload, this.acks.open(), text);
  }

  ack(count) {
    this.log(null, 'warn', `ignored an ack frame (A${count}) from the host`);
  }

  control(frame) {
    switch (frame.t) {
      case 'configure': return this.configure(frame);
      case 'swap': return this.swap(frame);
      case 'stop': return this.stop();
      case 'mode': return this.setMode(frame.via);
      case 'report': return this.outbox.stats(this.modules, true); // flushed at the end of receive()
      default: return this.log(null, 'warn', `ignored a control frame of unknown type ${JSON.stringify(frame.t)}`);
    }
  }

  /** Debug routing: "host" sends every message as a `D<all>` frame, "direct" routes as configured. */
  setMode(via) {
    if (via === 'host' || via === 'direct') this.router.viaHost = via === 'host';
    else this.log(null, 'warn', `ignored a mode frame with unknown via ${JSON.stringify(via)}`);
  }

  // Configure: load every module, run init functions, reply `configured`.

  configure(frame) {
    if (this.phase !== Phase.AWAITING_CONFIGURE) {
      return this.log(null, 'warn', 'ignored a second configure frame');
    }
    let configuration;
    try {
      configuration = readConfigure(frame);
    } catch (err) {
      if (err instanceof ConfigError) return this.fatal(`bad configure frame: ${err.message}`);
      throw err;
    }
    this.flowId = configuration.flowId;
    this.install(configuration, 'configure');
    this.loadAll(configuration.modules, 'configured');
  }

  /** The modules, slots and routes of a read configure or swap frame. */
  install(tables, frameType) {
    this.modules = tables.modules;
    this.slots = tables.slots;
    for (const name of tables.unrouted) {
      this.log(null, 'warn', `${frameType} gave no route for output port ${name}; sending on it is an error`);
    }
  }

  /**
   * Loads `modules` (a new one gets its ctx) while no handler runs, runs init functions, calls
   * onSwap hooks, then replies `reply`; messages already received wait until then.
   */
  loadAll(modules, reply) {
    this.phase = Phase.INITIALISING;
    this.scheduler.hold();
    for (const module of modules) {
      if (module.ctx === null) {
        module.ctx = createContext(module, this.flowId, this.router, this.log, this.format);
        this.scheduler.attach(module);
      }
      this.load(module);
    }
    this.initialise(modules, reply).catch((err) => this.log(null, 'error', `runtime error while loading modules: ${err && err.stack}`));
  }

  load(module) {
    const loaded = this.platform.loadModule(module);
    if (loaded.error !== undefined) {
      module.loadError = loaded.error;
      module.loadLine = loaded.line;
    } else {
      module.onMessage = loaded.onMessage;
      module.init = loaded.init;
      module.onSwap = loaded.onSwap || null;
    }
  }

  /** Runs init(ctx) of each loaded module, one after the other (a throw is a load error); replies. */
  async initialise(modules, reply) {
    for (const module of modules) {
      if (module.onMessage === null || !module.callInit || module.init === null) continue;
      try {
        const result = this.scheduler.invoke(module, module.init, module.ctx, undefined);
        if (result !== null && result !== undefined && typeof result.then === 'function') await result;
      } catch (err) {
        module.onMessage = null;
        module.loadError = describeError(err);
        module.loadLine = lineIn(err, module.filename);
      }
    }
    if (this.phase === Phase.CLOSED) return;
    const results = {};
    for (const module of modules) {
      module.unsaved = true; // its state after init goes with the next commit
      if (module.callOnSwap && module.onSwap !== null && module.onMessage !== null) this.runOnSwap(module);
      results[module.id] = module.loadError === null
        ? { ok: true }
        : { ok: false, error: module.loadError, line: module.loadLine };
    }
    this.outbox.control({ t: reply, modules: results });
    this.phase = Phase.RUNNING;
    this.scheduler.release();
    this.planBatch();
  }

  // Hot swap: new code for some modules, new modules, removed ones, complete new tables.

  swap(frame) {
    if (this.phase !== Phase.RUNNING) return this.fatal('a swap frame came before the instance was configured');
    let swap;
    try {
      swap = readSwap(frame, this.modules);
    } catch (err) {
      if (err instanceof ConfigError) return this.fatal(`bad swap frame: ${err.message}`);
      throw err;
    }
    for (const module of swap.removed) this.scheduler.forget(module);
    this.install(swap, 'swap');
    for (const module of swap.loaded) {
      module.ranSinceStats = true; // the next stats and commit show their states
      module.unsaved = true;
    }
    this.scheduler.changed = true;
    this.loadAll(swap.loaded, 'swapped');
  }

  /**
   * onSwap(oldState, ctx), awaited before the module's next message: it may change ctx.state or
   * return a new state. A throw is an `error` of the module (port and payload null), and the
   * state is put back as it was (a copy, when structuredClone can make one).
   */
  runOnSwap(module) {
    const ctx = module.ctx;
    const kept = ctx.state;
    let saved = kept;
    try {
      saved = structuredClone(kept);
    } catch {
      // not cloneable: the same object is kept
    }
    this.scheduler.callOutside(module, module.onSwap, kept, ctx, (failed, value) => {
      if (failed) {
        ctx.state = saved;
        module.errors++;
        this.outbox.hookError(module, value);
      } else if (value !== undefined) {
        ctx.state = value;
      }
      module.ranSinceStats = true;
      module.unsaved = true;
    });
  }

  badPayload(target, slot, text, err) {
    const module = target.module;
    const root = this.acks.open();
    if (root > this.acks.started) this.acks.started = root;
    module.received++;
    module.errors++;
    module.ranSinceStats = true;
    module.unsaved = true;
    this.scheduler.changed = true;
    this.outbox.moduleError(module.id, target.port, null, text,
      `the payload of a data frame for slot ${slot} is not JSON: ${describeError(err)}`, null);
    this.acks.done(root);
  }

  // Stop, fatal, exit.

  /** Frames after stop are dropped, but input is still read: end of file must still end the instance. */
  stop() {
    this.stopping = true;
    this.decoder.halt();
  }

  finishIfIdle() {
    if (this.phase === Phase.INITIALISING || this.phase === Phase.CLOSED || !this.scheduler.idle) return;
    this.outbox.commit(this.modules, this.acks.acked, true);
    this.outbox.stats(this.modules, true);
    this.outbox.control({ t: 'bye' });
    this.close(0);
  }

  fatal(message) {
    if (this.phase === Phase.CLOSED) return;
    this.decoder.halt();
    this.outbox.control({ t: 'fatal', message });
    this.close(2);
  }

  close(code) {
    this.flush();
    this.phase = Phase.CLOSED;
    this.decoder.halt();
    if (this.statsTimer !== null) this.platform.clearTimer(this.statsTimer);
    this.statsTimer = null;
    this.platform.exit(code);
  }

  // Batches, flushing, stats.

  /** Runs ready handlers, then writes what they produced followed by the ack that covers it. */
  runBatch() {
    this.batchPlanned = false;
    if (this.phase === Phase.CLOSED) return;
    this.flushPlanned = true; // frames written during the batch are flushed at its end
    const more = this.scheduler.run(BATCH_BUDGET);
    this.flush();
    if (more) this.planBatch();
    if (this.scheduler.changed && this.statsTimer === null) {
      this.statsTimer = this.platform.setTimer(this.statsTask, STATS_INTERVAL_MS);
    }
    if (this.stopping) this.finishIfIdle();
  }

  planBatch() {
    if (this.batchPlanned || this.phase === Phase.CLOSED) return;
    this.batchPlanned = true;
    this.platform.schedule(this.batchTask);
  }

  writeFrame(text) {
    this.platform.write(text);
    if (!this.flushPlanned) {
      this.flushPlanned = true;
      this.platform.schedule(this.flushTask);
    }
  }

  /** Writes what is queued, after the commit and ack that cover it when the instance is at a clean cut. */
  flush() {
    this.flushPlanned = false;
    if (this.phase === Phase.CLOSED) return;
    const acked = this.acks.committable;
    if (acked >= 0) this.outbox.commit(this.modules, acked, false);
    this.platform.flush();
  }

  periodicStats() {
    this.statsTimer = null;
    if (this.phase === Phase.CLOSED || !this.scheduler.changed) return;
    this.scheduler.changed = false;
    this.outbox.stats(this.modules, false);
    this.flush();
  }
}

export { Runtime, Phase, PROTOCOL_VERSION };
