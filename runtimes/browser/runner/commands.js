// The dispatcher's commands to a browser runner (docs/runner-protocol.md, "Commands"), each
// turned into exactly one reply: `ok`, `failure` {code, message}, `bool`, `runtimes`, `status`,
// `step`, `released` (a deploy that took modules off this tab). The runner sends the reply with the command's id.

const ok = () => ({ kind: 'ok' });
const failure = (code, message) => ({ kind: 'failure', code, message });
const unknownFlow = (flow) => failure('unknown-flow', `no flow "${flow}" on this browser runner`);

async function handleCommand(runner, command) {
  const host = command.flow === undefined ? undefined : runner.hosts.get(command.flow);
  const needHost = (fn) => (host === undefined ? unknownFlow(command.flow) : fn(host));
  switch (command.op) {
    case 'listRuntimes': {
      const { id, name, version } = runner.options.runtime;
      return { kind: 'runtimes', runtimes: [{ id, name, version, executable: runner.options.url }] };
    }
    case 'deploy': {
      const isNew = !runner.hosts.has(command.deploy.flow.id);
      const host = runner.hostFor(command.deploy.flow.id);
      const reply = await host.exclusive(() => host.deploy(command.deploy));
      if (isNew && reply.kind === 'failure' && host.instance === null) runner.hosts.delete(host.flowId); // nothing runs
      return reply;
    }
    case 'routes': return needHost((h) => h.setRoutes(command.routes));
    case 'fence':
      await runner.fence(command.modules);
      return ok();
    case 'release': return release(runner, command.modules);
    case 'start': return needHost((h) => h.exclusive(() => h.start()));
    case 'stop': return needHost((h) => h.exclusive(() => h.stop()));
    case 'remove':
      return needHost((h) => {
        h.halt(); // the flow is gone everywhere: what came from other runners is done, its senders drop it too
        runner.hosts.delete(h.flowId);
        runner.streams.forgetFlow(h.flowId);
        return ok();
      });
    case 'pause': return needHost((h) => h.debug.pause());
    case 'resume': return needHost((h) => h.debug.resume());
    case 'inject': return needHost((h) => h.inject(command.module, command.port, command.payload));
    case 'status':
      if (command.flow === undefined) return { kind: 'status', flows: [...runner.hosts.values()].map((h) => h.status()) };
      return needHost((h) => ({ kind: 'status', flows: [h.status()] }));
    case 'setBreakpoint': return needHost((h) => h.debug.setBreakpoint(command.breakpoint));
    case 'removeBreakpoint': return needHost((h) => h.debug.removeBreakpoint(command.module));
    case 'step': {
      if (command.flow !== undefined) return needHost((h) => h.exclusive(() => h.debug.step()));
      const result = {};
      for (const h of runner.hosts.values()) {
        if (h.state !== 'paused') continue;
        const reply = await h.exclusive(() => h.debug.step());
        if (reply.kind !== 'step') return reply;
        Object.assign(result, reply.result);
      }
      return { kind: 'step', result };
    }
    // In the flow's lane like `step`: a mark must not fall inside a step or a deploy of the flow.
    case 'markStep': {
      if (command.flow !== undefined) return needHost((h) => h.exclusive(() => h.debug.markStep()));
      for (const h of runner.hosts.values()) {
        if (h.state !== 'paused') continue;
        const reply = await h.exclusive(() => h.debug.markStep());
        if (reply.kind !== 'ok') return reply;
      }
      return ok();
    }
    default: return failure('unknown-command', `the browser runner does not know the command "${command.op}"`);
  }
}

/** A live move: finish what is queued for these modules, stop them, send their final states. */
async function release(runner, leases) {
  const byFlow = new Map();
  for (const lease of leases) {
    const host = runner.hosts.get(lease.flow);
    if (host === undefined || !host.placed.has(lease.module)) continue;
    if (!byFlow.has(host)) byFlow.set(host, []);
    byFlow.get(host).push(lease.module);
  }
  for (const [host, modules] of byFlow) {
    const states = await host.exclusive(() => host.finalStates(modules));
    runner.sendText({ t: 'states', flow: host.flowId, modules: states });
  }
  await runner.fence(leases);
  return ok();
}

export { handleCommand };
