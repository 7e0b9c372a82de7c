// What `status` shows of one module of a flow on this runner (ModuleStatus of
// Sources/RunnerHost/ModuleStatus.swift, as JSON): counters, state, recent errors and logs.

const RECENT_ERRORS = 20;
const RECENT_LOGS = 50;

function codeHash(code) {
  let h = 0x811c9dc5; // FNV-1a, 32 bits: a fingerprint, not a security measure
  for (let i = 0; i < code.length; i++) {
    h ^= code.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

class ModuleStatus {
  constructor(id, code) {
    this.id = id;
    this.state = 'loading';
    this.base = { in: 0, out: 0, errors: 0 }; // what ended instances counted
    this.current = { in: 0, out: 0, errors: 0 }; // the running instance's last stats
    this.recentErrors = [];
    this.recentLogs = [];
    this.moduleState = null;
    this.codeHash = codeHash(code);
    this.swaps = 0;
  }

  counted(counters) {
    this.current = { in: counters.in, out: counters.out, errors: counters.errors };
  }

  /** The instance ended: its counts join the totals. */
  instanceEnded() {
    for (const k of ['in', 'out', 'errors']) this.base[k] += this.current[k];
    this.current = { in: 0, out: 0, errors: 0 };
  }

  swapped(code) {
    this.swaps += 1;
    this.codeHash = codeHash(code);
  }

  error(record) {
    this.recentErrors.push(record);
    if (this.recentErrors.length > RECENT_ERRORS) this.recentErrors.shift();
  }

  log(record) {
    this.recentLogs.push(record);
    if (this.recentLogs.length > RECENT_LOGS) this.recentLogs.shift();
  }

  /** ModuleStatus as JSON; queuedPayloads only while the flow is paused (null otherwise). */
  json(queued, queuedPayloads = null) {
    const status = {
      id: this.id, runtime: 'browser', state: this.state,
      messagesIn: this.base.in + this.current.in, messagesOut: this.base.out + this.current.out,
      errors: this.base.errors + this.current.errors, queued,
      recentErrors: this.recentErrors, recentLogs: this.recentLogs, codeHash: this.codeHash, swaps: this.swaps,
    };
    if (this.recentErrors.length > 0) status.lastError = this.recentErrors[this.recentErrors.length - 1];
    if (this.moduleState !== null) status.moduleState = this.moduleState;
    if (queuedPayloads !== null) status.queuedPayloads = queuedPayloads;
    return status;
  }
}

export { ModuleStatus };
