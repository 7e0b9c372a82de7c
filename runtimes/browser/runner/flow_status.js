// What `status` shows of one flow on this runner: FlowRunStatus of
// Sources/RunnerHost/ModuleStatus.swift as JSON (the dispatcher decodes it as such), plus the
// cross-runner counters `staleFrames` and `redelivered` (docs/runner-protocol.md, notes).

const QUEUED_PAYLOADS_SHOWN = 10; // per module, while the flow is paused

/** host: the FlowHost of the flow. */
function flowStatus(host) {
  const queued = (m) => host.queue.filter((x) => x.module === m).length + host.debugger.queuedFor(m);
  const status = {
    flow: host.flowId, state: host.state,
    instances: [{ runtime: 'browser', state: host.instanceState, restarts: host.restarts, modules: [...host.placed.keys()] }],
    modules: [...host.records.values()].map((r) => r.json(queued(r.id),
      host.state === 'paused' ? host.debugger.heldPayloads(r.id, QUEUED_PAYLOADS_SHOWN) : null)),
    breakpoints: host.debugger.breakpointList(),
    staleFrames: host.staleFrames,
    redelivered: host.env.streams.redeliveredFor(host.flowId),
  };
  if (host.reason !== null) status.reason = host.reason;
  if (host.debugger.pausedAt !== null) status.pausedAt = host.debugger.pausedAt;
  return status;
}

export { flowStatus };
