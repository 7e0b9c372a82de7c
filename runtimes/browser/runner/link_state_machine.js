// A browser runner's view of its link to the dispatcher, as a pure state machine (the JavaScript
// twin of Sources/RunnerHost/RunnerProtocol/DispatcherLinkStateMachine.swift; docs/runner-protocol.md,
// "Heartbeats", the runner's side). Times are milliseconds from an injected clock; every method
// returns the actions the driver (dispatcher_link.js) carries out, so tests need no sleeps.
//
//     idle ─start─► connecting ─connected─► awaitingWelcome ─welcomed─► connected
//        ▲ backingOff ◄── failed, closed, silent ≥ lostAfter ──────────────┘
//     refused (final: a wrong token, name or version is not retried)
//
// Modules: `running` while connected and heard from; `held` (no handler runs, messages queue)
// from `holdAfter` of silence or a lost connection; `stopped` after `grace` held, or on refusal.
// An attempt without a welcome within `welcomeTimeout` of its start is given up (a link that
// swallows everything, a partition, never fails by itself). Both twins pass the shared vectors,
// Tests/Fixtures/vectors/link.json.

const Link = Object.freeze({
  IDLE: 'idle', CONNECTING: 'connecting', AWAITING_WELCOME: 'awaitingWelcome',
  CONNECTED: 'connected', BACKING_OFF: 'backingOff', REFUSED: 'refused', CLOSED: 'closed',
});

const Modules = Object.freeze({ RUNNING: 'running', HELD: 'held', STOPPED: 'stopped' });

const DEFAULT_POLICY = Object.freeze({
  intervalMs: 1000, holdAfterMs: 2000, lostAfterMs: 3000, graceMs: 30000, initialBackoffMs: 250, maxBackoffMs: 5000,
  welcomeTimeoutMs: 10000,
});

class LinkStateMachine {
  constructor(now, policy = {}) {
    this.policy = { ...DEFAULT_POLICY, ...policy };
    this.link = Link.IDLE;
    this.modules = Modules.RUNNING;
    this.heldSince = null;
    this.session = null;
    this.lastHeard = now;
    this.nextPing = now;
    this.pingNumber = 0;
    this.attempt = 0;
    this.attemptDeadline = now + this.policy.welcomeTimeoutMs; // when this attempt is given up without a welcome
  }

  start() {
    if (this.link !== Link.IDLE) return [];
    this.link = Link.CONNECTING;
    return [{ type: 'connect' }];
  }

  /** The WebSocket is open. */
  connected() {
    if (this.link !== Link.CONNECTING) return [];
    this.link = Link.AWAITING_WELCOME;
    return [{ type: 'sendHello' }];
  }

  /** The dispatcher's heartbeat interval (welcome.heartbeatMs) sets the policy's times (lost: at least 3 intervals). */
  welcomed(welcome, now) {
    if (this.link !== Link.AWAITING_WELCOME) return [];
    this.link = Link.CONNECTED;
    this.session = welcome.session;
    this.attempt = 0;
    if (welcome.heartbeatMs > 0) {
      this.policy.intervalMs = welcome.heartbeatMs;
      this.policy.holdAfterMs = 2 * welcome.heartbeatMs;
      this.policy.lostAfterMs = Math.max(welcome.lostAfterMs || 0, 3 * welcome.heartbeatMs);
    }
    this.lastHeard = now;
    this.nextPing = now + this.policy.intervalMs;
    const actions = [];
    if (welcome.drop.length > 0) actions.push({ type: 'drop', modules: welcome.drop });
    if (this.modules === Modules.HELD) actions.push({ type: 'releaseModules' });
    this.modules = Modules.RUNNING;
    this.heldSince = null;
    return actions;
  }

  refused(refusal) {
    this.link = Link.REFUSED;
    const actions = [];
    if (this.modules !== Modules.STOPPED) actions.push({ type: 'stopModules', reason: refusal.message });
    this.modules = Modules.STOPPED;
    actions.push({ type: 'giveUp', reason: refusal.message });
    return actions;
  }

  /** Any message or data batch arrived from the dispatcher. */
  heard(now) {
    if (this.link !== Link.CONNECTED) return [];
    this.lastHeard = now;
    if (this.modules !== Modules.HELD) return [];
    this.modules = Modules.RUNNING;
    this.heldSince = null;
    return [{ type: 'releaseModules' }];
  }

  /** Called at least once per interval. */
  tick(now) {
    const actions = [];
    if ((this.link === Link.CONNECTING || this.link === Link.AWAITING_WELCOME) && now >= this.attemptDeadline) {
      actions.push({ type: 'closeConnection', reason: `no welcome within ${this.policy.welcomeTimeoutMs} ms` });
      actions.push(...this.lose(now));
    }
    if (this.link === Link.CONNECTED) {
      const silence = now - this.lastHeard;
      if (silence >= this.policy.lostAfterMs) {
        actions.push({ type: 'closeConnection', reason: `the dispatcher has been silent for ${silence} ms` });
        actions.push(...this.lose(now));
      } else {
        if (silence >= this.policy.holdAfterMs && this.modules === Modules.RUNNING) {
          this.modules = Modules.HELD;
          this.heldSince = now;
          actions.push({ type: 'holdModules' });
        }
        if (now >= this.nextPing) {
          this.pingNumber += 1;
          actions.push({ type: 'sendPing', n: this.pingNumber });
          while (this.nextPing <= now) this.nextPing += this.policy.intervalMs;
        }
      }
    }
    if (this.modules === Modules.HELD && now - this.heldSince >= this.policy.graceMs) {
      this.modules = Modules.STOPPED;
      actions.push({ type: 'stopModules', reason: `no welcome from the dispatcher for ${this.policy.graceMs} ms after losing it` });
    }
    return actions;
  }

  /** The connection closed, or could not be opened. */
  disconnected(now) {
    if (this.link === Link.CONNECTING || this.link === Link.AWAITING_WELCOME || this.link === Link.CONNECTED) {
      return this.lose(now);
    }
    return [];
  }

  retryTimerFired() {
    if (this.link !== Link.BACKING_OFF) return [];
    this.link = Link.CONNECTING;
    return [{ type: 'connect' }];
  }

  /** close() by the page: final. */
  close() {
    this.link = Link.CLOSED;
    const actions = this.modules === Modules.STOPPED ? [] : [{ type: 'stopModules', reason: 'the runner was closed' }];
    this.modules = Modules.STOPPED;
    return actions;
  }

  lose(now) {
    const actions = [];
    if (this.modules === Modules.RUNNING) {
      this.modules = Modules.HELD;
      this.heldSince = now;
      actions.push({ type: 'holdModules' });
    }
    this.attempt += 1;
    this.link = Link.BACKING_OFF;
    this.session = null;
    let delay = this.policy.initialBackoffMs;
    for (let i = 1; i < this.attempt && delay < this.policy.maxBackoffMs; i++) delay *= 2;
    delay = Math.min(delay, this.policy.maxBackoffMs);
    this.attemptDeadline = now + delay + this.policy.welcomeTimeoutMs;
    actions.push({ type: 'scheduleReconnect', afterMs: delay });
    return actions;
  }
}

export { LinkStateMachine, Link, Modules, DEFAULT_POLICY };
