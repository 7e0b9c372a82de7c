// The debugger of one flow as a pure state machine: the JavaScript twin of
// Sources/RunnerHost/DebugStateMachine.swift (same modes, same answers).
//
//     direct ──breakpoint set──► watching ──breakpoint hit──► paused ⇄ stepping
//        ▲                          ▲  │                        │
//        └──resume, no breakpoints──┴──┴──────resume────────────┘
//
// Actions: { type: 'none' } | { type: 'routeViaHost' } | { type: 'release', routeDirect }.

const Mode = Object.freeze({ DIRECT: 'direct', WATCHING: 'watching', PAUSED: 'paused', STEPPING: 'stepping' });
const NONE = Object.freeze({ type: 'none' });
const VIA_HOST = Object.freeze({ type: 'routeViaHost' });

class DebugStateMachine {
  constructor() {
    this.mode = Mode.DIRECT;
    this.breakpoints = 0;
  }

  get isHoldingMessages() {
    return this.mode === Mode.PAUSED || this.mode === Mode.STEPPING;
  }

  breakpointsChanged(count) {
    this.breakpoints = count;
    if (this.mode === Mode.DIRECT && count > 0) {
      this.mode = Mode.WATCHING;
      return VIA_HOST;
    }
    if (this.mode === Mode.WATCHING && count === 0) {
      this.mode = Mode.DIRECT;
      return { type: 'release', routeDirect: true };
    }
    return NONE;
  }

  /** A message reached the host for a module: 'deliver' | 'hold' | 'holdAndPause'. */
  arrived(stopsHere) {
    switch (this.mode) {
      case Mode.DIRECT: return 'deliver';
      case Mode.WATCHING:
        if (!stopsHere) return 'deliver';
        this.mode = Mode.PAUSED;
        return 'holdAndPause';
      default: return 'hold';
    }
  }

  pause() {
    if (this.mode === Mode.DIRECT) {
      this.mode = Mode.PAUSED;
      return VIA_HOST;
    }
    if (this.mode === Mode.WATCHING) this.mode = Mode.PAUSED;
    return NONE;
  }

  /** { type: 'nothingToStep' } | { type: 'step', first } | { type: 'busy' } */
  step(hasQueued) {
    const first = this.pause();
    if (this.mode !== Mode.PAUSED) return { type: 'busy' };
    if (!hasQueued) return { type: 'nothingToStep' };
    this.mode = Mode.STEPPING;
    return { type: 'step', first };
  }

  stepFinished() {
    if (this.mode === Mode.STEPPING) this.mode = Mode.PAUSED;
  }

  resume() {
    if (this.mode !== Mode.PAUSED && this.mode !== Mode.STEPPING) return NONE;
    this.mode = this.breakpoints > 0 ? Mode.WATCHING : Mode.DIRECT;
    return { type: 'release', routeDirect: this.breakpoints === 0 };
  }
}

export { DebugStateMachine, Mode };
