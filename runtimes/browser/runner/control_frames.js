// The control frames the in-tab runtime instance writes (docs/protocol.md, "Control frames,
// runtime → host"), read for one flow: replies (configured, swapped, bye) to whoever waits,
// logs and errors as runner events, commits and stats as counters and module states, fatal as a
// failed instance.

/**
 * The dispatcher takes a user's value nested at most this deep inside what a runner tells it
 * (docs/security.md, "Deep JSON"); an error's payload past it is shown as a string instead, so
 * that a module's deep payload never costs the tab its connection (as the Swift runner does).
 */
const MAX_VALUE_DEPTH = 512;

/** Whether `value` (parsed JSON) nests deeper than `limit` levels; a scalar is 0, `[1]` is 1. */
function nestsDeeper(value, limit) {
  const stack = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const inner of Array.isArray(v) ? v : Object.values(v)) stack.push([inner, depth + 1]);
  }
  return false;
}

/** host: the FlowHost of the flow; frame: a parsed control frame. */
function readControlFrame(host, frame) {
  const time = host.env.clock.now();
  switch (frame.t) {
    case 'configured': case 'swapped': case 'bye': {
      const waiter = host.replyWaiter;
      host.replyWaiter = null;
      if (waiter) waiter(frame);
      if (frame.t === 'bye') host.instanceEnded('stopped', null);
      return;
    }
    case 'log': {
      const record = { time, level: frame.level, text: frame.text };
      const event = { type: 'log', runtime: 'browser', record };
      if (frame.module !== null && frame.module !== undefined) {
        event.module = frame.module;
        host.records.get(frame.module)?.log(record);
      }
      return host.emit(event);
    }
    case 'error': {
      const payload = nestsDeeper(frame.payload, MAX_VALUE_DEPTH)
        ? `(a value nested deeper than ${MAX_VALUE_DEPTH} levels, not shown)` : frame.payload;
      const error = { time, port: frame.port, payload, message: frame.message, stack: frame.stack };
      for (const key of ['port', 'payload', 'stack']) if (error[key] === null) delete error[key];
      host.records.get(frame.module)?.error(error);
      host.debugger.failed(frame.module, frame.message, frame.stack);
      return host.emit({ type: 'error', module: frame.module, error });
    }
    case 'stats': case 'commit':
      for (const [id, m] of Object.entries(frame.modules)) {
        const record = host.records.get(id);
        if (record) record.counted(m);
        if ('state' in m) {
          if (record) record.moduleState = m.state;
          if (frame.t === 'commit') {
            host.lastStates.set(id, m.state);
            host.pendingStates.set(id, m.state);
          }
        }
      }
      return;
    case 'fatal':
      host.env.log(`flow "${host.flowId}": the browser runtime instance failed: ${frame.message}`);
      return host.instanceEnded('failed', frame.message);
    default:
  }
}

export { nestsDeeper, MAX_VALUE_DEPTH, readControlFrame };
