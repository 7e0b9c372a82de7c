// The debugger of one flow on this runner, a stage on the delivery path of flow_host.js: every
// message that reaches the host for a module passes `arrived()`, which delivers it, holds it, or
// holds it and pauses the flow (a breakpoint, with its condition, matched). Owns the breakpoints,
// the held messages (in arrival order) and what a step consumed and emitted. The modes and their
// changes are DebugStateMachine's (the twin of the Swift one).

import { DebugStateMachine } from './debug_state_machine.js';
import { matches } from './break_condition.js';

function parsed(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

class FlowDebugger {
  constructor() {
    this.machine = new DebugStateMachine();
    this.breakpoints = new Map(); // module -> condition or null
    this.held = []; // { module, port, text, origin } in arrival order
    this.pausedAt = null; // { module, port, payload } of the message that hit a breakpoint
    this.hit = null; // that message: on resume it passes its breakpoint (else it would stop again)
    this.step = null; // while stepping: { inputs: Map, outputs: Map, errors: Map }
    this.marked = null; // after markStep: the messages held then, the only ones the next step may run
  }

  get mode() {
    return this.machine.mode;
  }

  /** Returns the action for the runtime (see DebugStateMachine). */
  setBreakpoint(module, condition) {
    this.breakpoints.set(module, condition === undefined ? null : condition);
    return this.machine.breakpointsChanged(this.breakpoints.size);
  }

  /** { removed, action } */
  removeBreakpoint(module) {
    const removed = this.breakpoints.delete(module);
    return { removed, action: this.machine.breakpointsChanged(this.breakpoints.size) };
  }

  breakpointList() {
    return [...this.breakpoints].map(([module, condition]) => (condition === null ? { module } : { module, condition }));
  }

  /** 'deliver' | 'hold' | 'holdAndPause'; a held message is kept here. */
  arrived(message, passing = null) {
    let stopsHere = false;
    if (this.machine.mode === 'watching' && message !== passing && this.breakpoints.has(message.module)) {
      stopsHere = matches(this.breakpoints.get(message.module), parsed(message.text));
    }
    const arrival = this.machine.arrived(stopsHere);
    if (arrival !== 'deliver') this.held.push(message);
    if (arrival === 'holdAndPause') {
      this.pausedAt = { module: message.module, port: message.port, payload: parsed(message.text) }; // PausedAt: a JSON value
      this.hit = message;
    }
    return arrival;
  }

  queuedFor(module) {
    let n = 0;
    for (const m of this.held) if (m.module === module) n++;
    return n;
  }

  /** The oldest held payloads of a module (parsed), at most `limit`: `queuedPayloads` in status. */
  heldPayloads(module, limit) {
    const payloads = [];
    for (const m of this.held) {
      if (payloads.length === limit) break;
      if (m.module === module) payloads.push(parsed(m.text));
    }
    return payloads;
  }

  /**
   * `markStep`, the first half of a step of a flow spread over runners: notes the messages held
   * now. The next step runs only those, so that what another runner's step sends here in between
   * waits for the step after (one tick of the whole flow, as FlowDebugger.swift's `stepLimit`).
   */
  markStep() {
    this.marked = new Set(this.held);
  }

  /**
   * What the next step runs: the oldest held message of each module, in arrival order; after a
   * mark only if it was held then (held messages are in arrival order, so when a module's oldest
   * came after the mark, all of its others did too). Uses up the mark: it is for one step.
   */
  nextStep() {
    const marked = this.marked;
    this.marked = null;
    const seen = new Set();
    const messages = [];
    for (const m of this.held) {
      if (seen.has(m.module)) continue;
      seen.add(m.module);
      if (marked === null || marked.has(m)) messages.push(m);
    }
    return messages;
  }

  /** Takes `messages` (from nextStep) out of the held ones for a step (the machine said `step`). */
  beginStep(messages) {
    const taken = new Set(messages);
    this.held = this.held.filter((m) => !taken.has(m));
    this.pausedAt = null;
    this.hit = null;
    this.step = { inputs: new Map(), outputs: new Map(), errors: new Map() };
    for (const m of messages) this.step.inputs.set(m.module, { [m.port]: parsed(m.text) });
    return messages;
  }

  /** While stepping: what a module emitted, and its errors. */
  emitted(module, port, text) {
    if (this.step === null || !this.step.inputs.has(module)) return;
    const outputs = this.step.outputs.get(module) || {};
    (outputs[port] = outputs[port] || []).push(parsed(text));
    this.step.outputs.set(module, outputs);
  }

  failed(module, message, stack) {
    if (this.step === null || !this.step.inputs.has(module)) return;
    const errors = this.step.errors.get(module) || [];
    errors.push({ message, stack: stack === undefined ? null : stack });
    this.step.errors.set(module, errors);
  }

  /** Ends the step: `{ "flow/module": {inputStates, outputStates, errors, state} }`. */
  finishStep(flow, stateOf) {
    const step = this.step;
    this.step = null;
    this.machine.stepFinished();
    const result = {};
    if (step === null) return result;
    for (const [module, inputs] of step.inputs) {
      result[`${flow}/${module}`] = {
        inputStates: inputs,
        outputStates: step.outputs.get(module) || {},
        errors: step.errors.get(module) || [],
        state: stateOf(module),
      };
    }
    return result;
  }

  /** The held messages, in arrival order, taken out to be delivered again; and the one that hit. */
  release() {
    const released = { messages: this.held, passing: this.hit };
    this.held = [];
    this.hit = null;
    this.pausedAt = null;
    this.marked = null; // a mark followed by resume, not by a step, must not limit a later step
    return released;
  }

  /** Drops what is held for modules that left (fence, release, swap); returns it, to be settled (FlowHost.discard). */
  forget(modules) {
    const dropped = this.held.filter((m) => modules.has(m.module));
    this.held = this.held.filter((m) => !modules.has(m.module));
    return dropped;
  }
}

export { FlowDebugger };
