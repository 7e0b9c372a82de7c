// The debugger commands of one flow on this runner (docs/debugging.md), in the runner
// protocol's reply shapes: breakpoints (with conditions), pause, markStep, step, resume. The delivery
// stage itself is FlowDebugger (held messages, breakpoints, step records); this type carries out
// its decisions on the flow's host: routing mode of the instance, held messages delivered again,
// quiet waits, the states read after a step.

import { conditionProblem } from './break_condition.js';

const ok = () => ({ kind: 'ok' });
const failure = (code, message) => ({ kind: 'failure', code, message });

class FlowDebugCommands {
  /** host: the FlowHost of the flow. */
  constructor(host) {
    this.host = host;
  }

  setBreakpoint(breakpoint) {
    if (!this.host.flow.modules.some((m) => m.id === breakpoint.module)) {
      return failure('unknown-module', `flow "${this.host.flowId}" has no module "${breakpoint.module}"`);
    }
    if (breakpoint.condition !== undefined && breakpoint.condition !== null) {
      const problem = conditionProblem(breakpoint.condition);
      if (problem !== null) return failure('bad-condition', `breakpoint at ${this.host.flowId}/${breakpoint.module}: ${problem}`);
    }
    this.apply(this.host.debugger.setBreakpoint(breakpoint.module, breakpoint.condition));
    return ok();
  }

  /** The breakpoints a `deploy` carries are the flow's breakpoints: exactly these from now on. */
  replaceBreakpoints(breakpoints) {
    const keep = new Set(breakpoints.map((bp) => bp.module));
    for (const module of [...this.host.debugger.breakpoints.keys()]) {
      if (!keep.has(module)) this.apply(this.host.debugger.removeBreakpoint(module).action);
    }
    for (const bp of breakpoints) this.apply(this.host.debugger.setBreakpoint(bp.module, bp.condition));
  }

  removeBreakpoint(module) {
    const { removed, action } = this.host.debugger.removeBreakpoint(module);
    this.apply(action);
    return { kind: 'bool', value: removed };
  }

  pause() {
    this.apply(this.host.debugger.machine.pause());
    this.host.setState('paused');
    return ok();
  }

  /**
   * `markStep`: the first half of a step of a flow spread over runners (the dispatcher marks every
   * runner of the flow, then steps each). Pauses and lets what the instance has finish, as `step`
   * does first, then notes which messages wait: the next `step` runs only those.
   */
  async markStep() {
    if (this.host.instance === null) return failure('flow-not-running', `flow "${this.host.flowId}" is not running on this browser runner: start it first`);
    this.apply(this.host.debugger.machine.pause());
    if (this.host.state !== 'paused') this.host.setState('paused');
    try {
      await this.host.whenIdle();
    } catch (err) {
      return failure('step-timed-out', `flow "${this.host.flowId}": ${err.message}; the flow stays paused: see status, then step or resume again`);
    }
    if (this.host.instance === null) return failure('flow-not-running', `flow "${this.host.flowId}" stopped before its step was marked`);
    this.host.debugger.markStep();
    return ok();
  }

  /** A step: `{kind: "step", result}` with `{ "flow/module": {...} }` (empty when nothing was queued). */
  async step() {
    if (this.host.instance === null) return failure('flow-not-running', `flow "${this.host.flowId}" is not running on this browser runner: start it first`);
    this.apply(this.host.debugger.machine.pause());
    if (this.host.state !== 'paused') this.host.setState('paused');
    let result = {};
    try {
      await this.host.whenIdle();
      if (this.host.instance === null) return failure('flow-not-running', `flow "${this.host.flowId}" stopped before the step`);
      const messages = this.host.debugger.nextStep();
      const decision = this.host.debugger.machine.step(messages.length > 0);
      if (decision.type === 'step') {
        this.apply(decision.first);
        for (const message of this.host.debugger.beginStep(messages)) this.host.send(message);
        this.host.instance.drain();
        await this.host.whenIdle();
        const states = this.report();
        result = this.host.debugger.finishStep(this.host.flowId, (m) => (states[m] === undefined ? this.host.records.get(m)?.moduleState ?? {} : states[m]));
      }
    } catch (err) {
      this.host.debugger.finishStep(this.host.flowId, () => null);
      return failure('step-timed-out', `flow "${this.host.flowId}": ${err.message}; the flow stays paused: see status, then step or resume again`);
    }
    this.host.emit({ type: 'stepped', result });
    return { kind: 'step', result };
  }

  /** Every hosted module's state, read from the instance at once (`report` → `stats`). */
  report() {
    const states = {};
    if (this.host.instance === null) return states;
    const sink = this.host.instance.sink;
    const previous = sink.control;
    sink.control = (frame) => {
      if (frame.t === 'stats') for (const [id, m] of Object.entries(frame.modules)) if ('state' in m) states[id] = m.state;
      previous(frame);
    };
    this.host.instance.control({ t: 'report' });
    sink.control = previous;
    return states;
  }

  resume() {
    if (this.host.state !== 'paused') return { kind: 'bool', value: false };
    this.apply(this.host.debugger.machine.resume(), true);
    return { kind: 'bool', value: true };
  }

  /** Carries out a DebugStateMachine action on the instance and the held messages. */
  apply(action, resuming = false) {
    if (action.type === 'routeViaHost') {
      this.host.instance?.control({ t: 'mode', via: 'host' });
    } else if (action.type === 'release') {
      // As FlowDebugger.swift: held messages go again in order; the one that hit passes its
      // breakpoint, the others may stop at one again (then the rest is held anew).
      const { messages, passing } = this.host.debugger.release();
      if (resuming) {
        this.host.setState('running');
        this.host.emit({ type: 'resumed' });
      }
      for (const message of messages) {
        if (action.routeDirect) {
          this.host.queue.push(message);
        } else {
          this.host.deliver(message, passing);
        }
      }
      if (action.routeDirect) this.host.instance?.control({ t: 'mode', via: 'direct' });
      this.host.pump();
    }
  }
}

export { FlowDebugCommands };
