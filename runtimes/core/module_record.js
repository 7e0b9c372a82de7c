// One hosted module: its ports, routes, inbox, loaded code, context and counters.

import { Inbox } from './inbox.js';

class ModuleRecord {
  constructor(index, spec) {
    this.index = index;
    this.id = spec.id;
    this.filename = `module:${spec.id}`; // the name stack traces and load errors carry
    this.initialState = spec.state === null ? {} : spec.state;
    this.inbox = new Inbox();
    this.ctx = null;
    this.take(spec);

    // Scheduling: busy while an async handler runs; queued while in the scheduler's ready queue.
    this.busy = false;
    this.queued = false;
    this.currentRoot = 0; // ack root of the message being processed (0: none)
    this.currentMessage = null;
    this.currentText = null; // its JSON text when it came from the host
    this.resolved = null; // per-module promise callbacks, made once by the scheduler
    this.rejected = null;

    // Totals since the process started; whether it ran since the last stats frame, and whether its
    // counters or state changed since the last commit frame (badState: its state could not go in).
    this.received = 0;
    this.sent = 0;
    this.errors = 0;
    this.ranSinceStats = false;
    this.unsaved = false;
    this.badState = false;
  }

  /**
   * Code, ports and config from `spec` (configure, or a swap: then the code is loaded again);
   * routes are filled from `routes`, handlers by loading.
   */
  take(spec) {
    this.code = spec.code;
    this.inputs = spec.inputs;
    this.outputs = spec.outputs;
    this.config = spec.config;
    this.callInit = spec.init;
    this.callOnSwap = spec.swap === true;
    this.outputIndex = new Map(spec.outputs.map((port, i) => [port, i]));
    this.routes = spec.outputs.map(() => null); // Route per output port

    // Set by loading: handlers, or the reason the module cannot run.
    this.onMessage = null;
    this.init = null;
    this.onSwap = null;
    this.loadError = null; // text, or null when loaded
    this.loadLine = null;
  }

  /** A swap replaces the code of this hosted module: same inbox, counters and ctx; new config; state kept unless given. */
  replace(spec) {
    this.take(spec);
    this.ctx.config = spec.config;
    if (spec.state !== null) this.ctx.state = spec.state;
  }
}

/**
 * Where one output port goes: local targets (module, input port), a remote route id or null, and
 * the `all` route id that reaches every target through the host (or null: local routing only).
 */
class Route {
  constructor(targets, remote, all = remote) {
    this.targets = targets; // [{ module: ModuleRecord, port: string }]
    this.remote = remote;
    this.prefix = remote === null ? null : `D${remote} `;
    this.all = all;
    this.allPrefix = all === null ? null : `D${all} `; // used while messages go via the host
  }
}

export { ModuleRecord, Route };
