// Reads a `configure` frame (docs/protocol.md) into module records, input slots and routes, and
// applies a `swap` frame to the hosted records. A frame that does not fit the protocol throws a
// ConfigError (the runtime reports it as fatal).

import { ModuleRecord, Route } from './module_record.js';

class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ConfigError';
  }
}

function check(condition, message) {
  if (!condition) throw new ConfigError(message);
}

function isStringArray(value) {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isRouteId(value) {
  return Number.isInteger(value) && value >= 0 && value <= 999999999;
}

function readModuleSpec(spec, i) {
  const where = `modules[${i}]`;
  check(spec !== null && typeof spec === 'object', `${where} is not an object`);
  check(typeof spec.id === 'string' && spec.id !== '', `${where}.id is not a non-empty string`);
  check(typeof spec.code === 'string', `${where}.code is not a string`);
  const inputs = spec.inputs === undefined ? ['in'] : spec.inputs;
  const outputs = spec.outputs === undefined ? ['out'] : spec.outputs;
  check(isStringArray(inputs), `${where}.inputs is not an array of strings`);
  check(isStringArray(outputs), `${where}.outputs is not an array of strings`);
  return {
    id: spec.id,
    code: spec.code,
    inputs,
    outputs,
    config: spec.config === undefined ? {} : spec.config,
    state: spec.state === undefined ? null : spec.state, // null: {} for a new module, kept in a swap
    init: spec.init === true,
    swap: spec.swap === true,
  };
}

/** The module specs of a frame, with unique ids. */
function readModuleSpecs(specs) {
  check(Array.isArray(specs), 'modules is not an array');
  const ids = new Set();
  return specs.map((spec, i) => {
    const read = readModuleSpec(spec, i);
    check(!ids.has(read.id), `modules[${i}].id: a second module '${read.id}'`);
    ids.add(read.id);
    return read;
  });
}

/** Looks up [moduleId, inputPort] in `byId`; `where` names the place for the error. */
function readTarget(pair, byId, where) {
  check(Array.isArray(pair) && pair.length === 2, `${where} is not a [module, port] pair`);
  const module = byId.get(pair[0]);
  check(module !== undefined, `${where} names unknown module ${JSON.stringify(pair[0])}`);
  check(module.inputs.includes(pair[1]),
    `${where}: module '${module.id}' has no input port ${JSON.stringify(pair[1])}`);
  return { module, port: pair[1] };
}

function readRoute(route, i, byId) {
  const where = `routes[${i}]`;
  check(route !== null && typeof route === 'object', `${where} is not an object`);
  const module = byId.get(route.module);
  check(module !== undefined, `${where}.module names unknown module ${JSON.stringify(route.module)}`);
  const index = module.outputIndex.get(route.port);
  check(index !== undefined, `${where}: module '${module.id}' has no output port ${JSON.stringify(route.port)}`);
  check(module.routes[index] === null, `${where}: a second route for '${module.id}.${route.port}'`);
  const local = route.local === undefined || route.local === null ? [] : route.local;
  check(Array.isArray(local), `${where}.local is not an array`);
  const remote = route.remote === undefined ? null : route.remote;
  check(remote === null || isRouteId(remote), `${where}.remote is not a route id (0 to 999999999) or null`);
  // `all` (debug routing) reaches every target; lenient when missing: `remote`, or null (local only).
  const all = route.all === undefined || route.all === null ? remote : route.all;
  check(all === null || isRouteId(all), `${where}.all is not a route id (0 to 999999999)`);
  const targets = local.map((pair, j) => readTarget(pair, byId, `${where}.local[${j}]`));
  module.routes[index] = new Route(targets, remote, all);
}

/**
 * Reads `slots` and `routes` of a frame over the modules in `byId` (id -> ModuleRecord, whose
 * routes it sets). Returns { slots: [{ module, port }], unrouted: ["module.port"] }.
 */
function readTables(frame, byId) {
  const slots = frame.slots === undefined ? [] : frame.slots;
  check(Array.isArray(slots), 'slots is not an array');
  const routes = frame.routes === undefined ? [] : frame.routes;
  check(Array.isArray(routes), 'routes is not an array');
  for (const module of byId.values()) module.routes = module.outputs.map(() => null);
  routes.forEach((route, i) => readRoute(route, i, byId));
  const unrouted = [];
  for (const module of byId.values()) {
    module.routes.forEach((route, i) => {
      if (route === null) unrouted.push(`${module.id}.${module.outputs[i]}`);
    });
  }
  return { slots: slots.map((pair, i) => readTarget(pair, byId, `slots[${i}]`)), unrouted };
}

/** Returns { flowId, modules: [ModuleRecord], slots: [{ module, port }], unrouted: ["module.port"] }. */
function readConfigure(frame) {
  const modules = readModuleSpecs(frame.modules).map((spec, i) => new ModuleRecord(i, spec));
  const byId = new Map(modules.map((module) => [module.id, module]));
  return { flowId: typeof frame.flowId === 'string' ? frame.flowId : null, modules, ...readTables(frame, byId) };
}

/**
 * Applies a `swap` frame to `hosted` (the ModuleRecords of the instance): modules it names get
 * their new spec (ModuleRecord.replace) or a new record (ctx null), those in `remove` are left
 * out, and every module gets its routes from the new tables. Returns { modules (the hosted
 * ones now, in order), loaded (the records to load), removed, slots, unrouted }. A bad frame
 * throws after records may have changed: the runtime ends with `fatal` then.
 */
function readSwap(frame, hosted) {
  const specs = readModuleSpecs(frame.modules);
  const remove = frame.remove === undefined ? [] : frame.remove;
  check(isStringArray(remove), 'remove is not an array of strings');
  const byId = new Map(hosted.map((module) => [module.id, module]));
  const removed = remove.map((id, i) => {
    const module = byId.get(id);
    check(module !== undefined, `remove[${i}] names unknown module ${JSON.stringify(id)}`);
    check(!specs.some((spec) => spec.id === id), `remove[${i}]: module '${id}' is also in modules`);
    byId.delete(id);
    module.routes = module.outputs.map(() => null); // its leftover timers cannot send on renumbered routes
    return module;
  });
  const loaded = specs.map((spec) => {
    const hostedModule = byId.get(spec.id);
    if (hostedModule !== undefined) {
      hostedModule.replace(spec);
      return hostedModule;
    }
    const added = new ModuleRecord(byId.size, spec);
    byId.set(spec.id, added);
    return added;
  });
  return { modules: [...byId.values()], loaded, removed, ...readTables(frame, byId) };
}

export { readConfigure, readSwap, ConfigError };
