// The tables of one flow on this runner, resolved once from the flow document and the modules
// placed here: the module specs of the core's `configure`/`swap` frames, their input slots, and
// the route table (route id → module, port, targets) the host reads the runtime's data frames by.
// Ports are resolved to slots and route ids here, never looked up by name per message.

const BROWSER = 'browser';

function splitEnd(end) {
  const dot = end.lastIndexOf('.');
  return { module: end.slice(0, dot), port: end.slice(dot + 1) };
}

/**
 * flow: the flow document; placed: Map moduleId → { gen, state? } of the modules this runner runs.
 * Returns { specs, slots, slotOf(module, port), routes (for configure), routeTable }.
 */
function buildTables(flow, placed) {
  const hosted = flow.modules.filter((m) => placed.has(m.id));
  for (const m of hosted) {
    if ((m.runtime || BROWSER) !== BROWSER) {
      throw new Error(`module "${m.id}" has runtime "${m.runtime}": this browser runner runs browser modules only; the dispatcher placed it wrongly`);
    }
    if (typeof m.code !== 'string') {
      throw new Error(`module "${m.id}" has no inline code: send the flow with "code" (flowctl inlines "file")`);
    }
  }
  const isHosted = new Set(hosted.map((m) => m.id));
  const specs = hosted.map((m) => ({
    id: m.id, code: m.code, config: m.config === undefined ? {} : m.config,
    inputs: m.inputs || ['in'], outputs: m.outputs || ['out'],
  }));
  const slots = [];
  const slotIndex = new Map();
  for (const spec of specs) {
    for (const port of spec.inputs) {
      slotIndex.set(`${spec.id}.${port}`, slots.length);
      slots.push([spec.id, port]);
    }
  }
  const targetsOf = new Map();
  for (const c of flow.connections || []) {
    if (!targetsOf.has(c.from)) targetsOf.set(c.from, []);
    targetsOf.get(c.from).push(splitEnd(c.to));
  }
  const routes = [];
  const routeTable = [];
  for (const spec of specs) {
    for (const port of spec.outputs) {
      const targets = targetsOf.get(`${spec.id}.${port}`) || [];
      const local = targets.filter((t) => isHosted.has(t.module));
      const others = targets.filter((t) => !isHosted.has(t.module));
      let remote = null;
      if (others.length > 0 || targets.length === 0) {
        remote = routeTable.length;
        routeTable.push({ module: spec.id, port, targets: others, output: targets.length === 0, local: [] });
      }
      let all = remote;
      if (local.length > 0) {
        all = routeTable.length;
        routeTable.push({ module: spec.id, port, targets: others, output: false, local: local.map((t) => slotIndex.get(`${t.module}.${t.port}`)) });
      }
      routes.push({ module: spec.id, port, local: local.map((t) => [t.module, t.port]), remote, all });
    }
  }
  return {
    specs, slots, routes, routeTable,
    slotOf: (module, port) => slotIndex.get(`${module}.${port}`),
    firstInput: (module) => { const s = specs.find((x) => x.id === module); return s ? s.inputs[0] : undefined; },
  };
}

export { buildTables };
