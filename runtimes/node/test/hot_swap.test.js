// Hot swap (docs/protocol.md, "Hot swap"): `swap` frames change modules and tables of a running
// instance and get a `swapped` reply. Runtimes are real processes on real fifos.
import test from 'node:test';
import assert from 'node:assert';
import { FifoHost, configuredHost as started } from '../test_support/fifo_host.js';
import { moduleSpec } from '../test_support/runtime_harness.js';

const REPORT = '{"t":"report"}\n';

/** Counts its calls in its state and returns [version, calls, payload]. */
const counting = (version) =>
  `module.exports = (msg, ctx) => { ctx.state.calls = (ctx.state.calls || 0) + 1; return [${JSON.stringify(version)}, ctx.state.calls, msg.payload]; };`;

/** Returns its state (to see it after a hook). */
const SHOW_STATE = 'exports.onMessage = (msg, ctx) => ctx.state;\n';

/** One module `m` (slot 0, out → remote 0) with `code`. */
function oneModule(t, code, extra = {}) {
  return started(t, [moduleSpec('m', code, extra)], [['m', 'in']], [{ module: 'm', port: 'out', local: [], remote: 0, all: 0 }]);
}

/** A replaced module's entry of `modules` in a swap frame. */
function replaced(id, code, extra = {}) {
  return moduleSpec(id, code, { init: false, swap: true, ...extra });
}

/** Sends a swap frame (plus `after`, more frames in the same write); returns its `swapped` reply. */
async function swap(host, { modules = [], remove = [], slots, routes }, after = '') {
  const start = host.output.frames.length;
  host.send(JSON.stringify({ t: 'swap', modules, remove, slots, routes }) + '\n' + after);
  return host.waitFor((frame, i) => i >= start && frame.t === 'swapped');
}

/** Slot 0 = m.in, m.out → remote 0: the tables of oneModule. */
const ONE_TABLES = { slots: [['m', 'in']], routes: [{ module: 'm', port: 'out', local: [], remote: 0, all: 0 }] };

/** [route, payload] of the data frames from `start` on. */
function dataFrom(host, start) {
  return host.output.frames.slice(start).filter((f) => f.t === 'D').map((f) => [f.route, f.payload]);
}

/** Asks for a report and returns the `stats` frame that answers it. */
async function report(host) {
  const start = host.output.frames.length;
  host.send(REPORT);
  return host.waitFor((f, i) => i >= start && f.t === 'stats');
}

test('swapped code runs with the kept state, new config and counters that go on', async (t) => {
  const host = await oneModule(t, counting('v1'), { config: { k: 1 } });
  host.send('D0 "a"\nD0 "b"\n');
  await host.waitForAck(2);

  const code = 'module.exports = (msg, ctx) => { ctx.state.calls++; return ["v2", ctx.state.calls, ctx.config.k, msg.payload]; };';
  const start = host.output.frames.length;
  const reply = await swap(host, { modules: [replaced('m', code, { config: { k: 2 } })], ...ONE_TABLES }, 'D0 "c"\n');
  assert.deepStrictEqual(reply, { t: 'swapped', modules: { m: { ok: true } } });
  await host.waitForAck(3);
  const after = host.output.frames.slice(start);
  assert.ok(after.findIndex((f) => f.t === 'swapped') < after.findIndex((f) => f.t === 'D'), 'swapped comes first');
  assert.deepStrictEqual(dataFrom(host, 0), [[0, ['v1', 1, 'a']], [0, ['v1', 2, 'b']], [0, ['v2', 3, 2, 'c']]]);
  const stats = await report(host);
  assert.deepStrictEqual(stats.modules, { m: { in: 3, out: 3, errors: 0, state: { calls: 3 } } });
});

test('a module not named in the swap keeps its code, ctx and state', async (t) => {
  const keeper = 'let first = null;\nmodule.exports = (msg, ctx) => { first = first || ctx; ctx.state.n = (ctx.state.n || 0) + 1; return [first === ctx, ctx.state.n]; };';
  const host = await started(t, [moduleSpec('keep', keeper), moduleSpec('m', counting('v1'))], [['keep', 'in'], ['m', 'in']], [
    { module: 'keep', port: 'out', local: [], remote: 0, all: 0 },
    { module: 'm', port: 'out', local: [], remote: 1, all: 1 },
  ]);
  host.send('D0 1\n');
  await host.waitForAck(1);
  await swap(host, {
    modules: [replaced('m', counting('v2'))],
    slots: [['keep', 'in'], ['m', 'in']],
    routes: [{ module: 'keep', port: 'out', local: [], remote: 5, all: 5 }, { module: 'm', port: 'out', local: [], remote: 1, all: 1 }],
  }, 'D0 2\n');
  await host.waitForAck(2);
  assert.deepStrictEqual(dataFrom(host, 0), [[0, [true, 1]], [5, [true, 2]]], 'same ctx and state; its new route');
});

test('onSwap migrates the state in place or by its return value, sync and async, before the next message', async (t) => {
  const hooks = {
    inPlace: 'exports.onSwap = (old, ctx) => { ctx.state.total = old.calls * 10; delete ctx.state.calls; };',
    returned: 'exports.onSwap = (old) => ({ total: old.calls * 100 });',
    asyncInPlace: 'exports.onSwap = async (old, ctx) => { await new Promise((r) => setTimeout(r, 50)); ctx.state.total = old.calls + 0.5; };',
    asyncReturned: 'exports.onSwap = async (old) => { await new Promise((r) => setTimeout(r, 30)); return { total: -old.calls }; };',
    shortForm: 'module.exports = (msg, ctx) => ctx.state;\nmodule.exports.onSwap = (old) => ({ total: old.calls, short: true });',
  };
  const ids = Object.keys(hooks);
  const host = await started(t, ids.map((id) => moduleSpec(id, counting('v1'), { state: { calls: 2 } })),
    ids.map((id) => [id, 'in']), ids.map((id, i) => ({ module: id, port: 'out', local: [], remote: i, all: i })));
  const tables = { slots: ids.map((id) => [id, 'in']), routes: ids.map((id, i) => ({ module: id, port: 'out', local: [], remote: i, all: i })) };
  const modules = ids.map((id) => replaced(id, id === 'shortForm' ? hooks[id] : SHOW_STATE + hooks[id]));
  const reply = await swap(host, { modules, ...tables }, ids.map((id, i) => `D${i} 0\n`).join(''));
  assert.deepStrictEqual(Object.values(reply.modules), ids.map(() => ({ ok: true })));
  await host.waitForAck(ids.length);
  assert.deepStrictEqual(Object.fromEntries(dataFrom(host, 0)), {
    0: { total: 20 }, 1: { total: 200 }, 2: { calls: 2, total: 2.5 }, 3: { total: -2 }, 4: { total: 2, short: true },
  });
  const stats = await report(host);
  assert.deepStrictEqual(stats.modules.returned, { in: 1, out: 1, errors: 0, state: { total: 200 } }, 'counters go on');
  assert.strictEqual(host.output.all('error').length, 0);
});

test('a hook is called only with swap true, and onSwap gets the state given in the swap', async (t) => {
  const hook = SHOW_STATE + 'exports.onSwap = (old, ctx) => ({ hooked: old, same: old === ctx.state });';
  const host = await started(t, [moduleSpec('a', counting('v1')), moduleSpec('b', counting('v1'))], [['a', 'in'], ['b', 'in']], [
    { module: 'a', port: 'out', local: [], remote: 0, all: 0 },
    { module: 'b', port: 'out', local: [], remote: 1, all: 1 },
  ]);
  host.send('D0 0\nD1 0\n');
  await host.waitForAck(2);
  const start = host.output.frames.length;
  await swap(host, {
    modules: [replaced('a', hook, { swap: false }), replaced('b', hook, { state: { from: 'host' } })],
    slots: [['a', 'in'], ['b', 'in']],
    routes: [{ module: 'a', port: 'out', local: [], remote: 0, all: 0 }, { module: 'b', port: 'out', local: [], remote: 1, all: 1 }],
  }, 'D0 1\nD1 1\n');
  await host.waitForAck(4);
  assert.deepStrictEqual(dataFrom(host, start), [[0, { calls: 1 }], [1, { hooked: { from: 'host' }, same: true }]]);
});

test('a hook that throws or rejects is an error with port and payload null; the kept state stays', async (t) => {
  const host = await started(t, [moduleSpec('sync', counting('v1')), moduleSpec('async', counting('v1'))],
    [['sync', 'in'], ['async', 'in']], [
      { module: 'sync', port: 'out', local: [], remote: 0, all: 0 },
      { module: 'async', port: 'out', local: [], remote: 1, all: 1 },
    ]);
  host.send('D0 0\nD1 0\n');
  await host.waitForAck(2);
  const start = host.output.frames.length;
  const reply = await swap(host, {
    modules: [
      replaced('sync', SHOW_STATE + 'exports.onSwap = (old, ctx) => {\n  ctx.state.calls = 99;\n  throw new Error("no migration");\n};'),
      replaced('async', SHOW_STATE + 'exports.onSwap = async (old, ctx) => { ctx.state = { lost: true }; await null; throw new TypeError("late"); };'),
    ],
    slots: [['sync', 'in'], ['async', 'in']],
    routes: [{ module: 'sync', port: 'out', local: [], remote: 0, all: 0 }, { module: 'async', port: 'out', local: [], remote: 1, all: 1 }],
  }, 'D0 1\nD1 1\n');
  assert.deepStrictEqual(reply.modules, { sync: { ok: true }, async: { ok: true } }, 'the code loaded');
  await host.waitForAck(4);
  const errors = host.output.all('error');
  assert.deepStrictEqual(errors.map((e) => [e.module, e.port, e.payload, e.message]), [
    ['sync', null, null, 'Error: no migration'],
    ['async', null, null, 'TypeError: late'],
  ]);
  assert.match(errors[0].stack, /module:sync:4:/);
  assert.deepStrictEqual(dataFrom(host, start), [[0, { calls: 1 }], [1, { calls: 1 }]]);
  const stats = await report(host);
  assert.deepStrictEqual(stats.modules.sync, { in: 2, out: 2, errors: 1, state: { calls: 1 } });
});

test('a new module is created and init runs (also async) before swapped; old routes lead to it', async (t) => {
  const host = await oneModule(t, counting('v1'));
  const added = 'exports.init = async (ctx) => { await new Promise((r) => setTimeout(r, 20)); ctx.state.ready = ctx.config.name; };\n' +
    'exports.onMessage = (msg, ctx) => ["added", ctx.state.ready, msg.payload];';
  const start = host.output.frames.length;
  const reply = await swap(host, {
    modules: [moduleSpec('added', added, { config: { name: 'new' } })],
    slots: [['m', 'in']],
    routes: [
      { module: 'm', port: 'out', local: [['added', 'in']], remote: null, all: 3 },
      { module: 'added', port: 'out', local: [], remote: 4, all: 4 },
    ],
  }, 'D0 "x"\n');
  assert.deepStrictEqual(reply.modules, { added: { ok: true } });
  await host.waitForAck(1);
  const after = host.output.frames.slice(start);
  assert.ok(after.findIndex((f) => f.t === 'swapped') < after.findIndex((f) => f.t === 'D'));
  assert.deepStrictEqual(dataFrom(host, start), [[4, ['added', 'new', ['v1', 1, 'x']]]]);
  const stats = await report(host);
  assert.deepStrictEqual(stats.modules, {
    m: { in: 1, out: 1, errors: 0, state: { calls: 1 } },
    added: { in: 1, out: 1, errors: 0, state: { ready: 'new' } },
  });
});

test('a module moved in with a state starts from it and runs no init', async (t) => {
  const host = await oneModule(t, counting('v1'));
  const moved = 'exports.init = (ctx) => { ctx.state.inits = 1; };\nmodule.exports.onMessage = (msg, ctx) => { ctx.state.n++; return ctx.state; };';
  await swap(host, {
    modules: [moduleSpec('moved', moved, { init: false, swap: true, state: { n: 41 } })],
    slots: [['m', 'in'], ['moved', 'in']],
    routes: [
      { module: 'm', port: 'out', local: [], remote: 0, all: 0 },
      { module: 'moved', port: 'out', local: [], remote: 1, all: 1 },
    ],
  }, 'D1 null\n');
  await host.waitForAck(1);
  assert.deepStrictEqual(dataFrom(host, 0), [[1, { n: 42 }]]);
});

test('a removed module is gone: not in stats, its slot number belongs to the new table', async (t) => {
  const host = await started(t, [moduleSpec('old', counting('old')), moduleSpec('m', counting('m'))], [['old', 'in'], ['m', 'in']], [
    { module: 'old', port: 'out', local: [], remote: 0, all: 0 },
    { module: 'm', port: 'out', local: [], remote: 1, all: 1 },
  ]);
  host.send('D0 1\nD1 1\n');
  await host.waitForAck(2);
  const start = host.output.frames.length;
  const reply = await swap(host, {
    remove: ['old'],
    slots: [['m', 'in']],
    routes: [{ module: 'm', port: 'out', local: [], remote: 0, all: 0 }],
  }, 'D0 2\n');
  assert.deepStrictEqual(reply.modules, {});
  await host.waitForAck(3);
  assert.deepStrictEqual(dataFrom(host, 0), [[0, ['old', 1, 1]], [1, ['m', 1, 1]], [0, ['m', 2, 2]]]);
  const periodic = await host.waitFor((f, i) => i >= start && f.t === 'stats');
  assert.deepStrictEqual(Object.keys(periodic.modules), ['m']);
  const stats = await report(host);
  assert.deepStrictEqual(stats.modules, { m: { in: 2, out: 2, errors: 0, state: { calls: 2 } } });
});

test('the new slot table and routes apply to the frames after the swap', async (t) => {
  const host = await started(t, [moduleSpec('a', counting('a')), moduleSpec('b', counting('b'))], [['a', 'in'], ['b', 'in']], [
    { module: 'a', port: 'out', local: [], remote: 0, all: 0 },
    { module: 'b', port: 'out', local: [], remote: 1, all: 1 },
  ]);
  // Slots swap places, a now feeds b locally, b gets a new route id, c is new behind slot 2.
  await swap(host, {
    modules: [moduleSpec('c', counting('c'))],
    slots: [['b', 'in'], ['a', 'in'], ['c', 'in']],
    routes: [
      { module: 'a', port: 'out', local: [['b', 'in']], remote: null, all: 7 },
      { module: 'b', port: 'out', local: [], remote: 8, all: 8 },
      { module: 'c', port: 'out', local: [], remote: 9, all: 9 },
    ],
  }, 'D0 "to b"\nD1 "to a"\nD2 "to c"\n');
  await host.waitForAck(3);
  assert.deepStrictEqual(dataFrom(host, 0), [[8, ['b', 1, 'to b']], [9, ['c', 1, 'to c']], [8, ['b', 2, ['a', 1, 'to a']]]]);
});

test('a new slot count: a frame for a slot past the new table is fatal', async (t) => {
  const host = await started(t, [moduleSpec('a', counting('a')), moduleSpec('b', counting('b'))], [['a', 'in'], ['b', 'in']], [
    { module: 'a', port: 'out', local: [], remote: 0, all: 0 },
    { module: 'b', port: 'out', local: [], remote: 1, all: 1 },
  ]);
  await swap(host, { remove: ['b'], slots: [['a', 'in']], routes: [{ module: 'a', port: 'out', local: [], remote: 0, all: 0 }] }, 'D1 1\n');
  assert.match((await host.waitFor('fatal')).message, /unknown slot 1 \(this instance has 1 slots\)/);
  assert.strictEqual((await host.waitForExit()).code, 2);
});

test('changed ports: a module that gets a new output port sends on its new route', async (t) => {
  const host = await oneModule(t, counting('v1'));
  const code = 'exports.onMessage = (msg, ctx) => { ctx.send("alarm", msg.payload); return "normal"; };';
  await swap(host, {
    modules: [replaced('m', code, { inputs: ['in'], outputs: ['out', 'alarm'] })],
    slots: [['m', 'in']],
    routes: [{ module: 'm', port: 'out', local: [], remote: 0, all: 0 }, { module: 'm', port: 'alarm', local: [], remote: 1, all: 1 }],
  }, 'D0 "fire"\n');
  await host.waitForAck(1);
  assert.deepStrictEqual(dataFrom(host, 0), [[1, 'fire'], [0, 'normal']]);
});

test('code that fails to load in a swap is reported with its line; its messages become errors', async (t) => {
  const host = await started(t, [moduleSpec('m', counting('v1')), moduleSpec('other', counting('other'))], [['m', 'in'], ['other', 'in']], [
    { module: 'm', port: 'out', local: [], remote: 0, all: 0 },
    { module: 'other', port: 'out', local: [], remote: 1, all: 1 },
  ]);
  host.send('D0 0\n');
  await host.waitForAck(1);
  const reply = await swap(host, {
    modules: [replaced('m', 'exports.onMessage = () => {};\n\nnull.x;'), moduleSpec('bad', 'exports.onMessage = (;')],
    slots: [['m', 'in'], ['other', 'in'], ['bad', 'in']],
    routes: [
      { module: 'm', port: 'out', local: [], remote: 0, all: 0 },
      { module: 'other', port: 'out', local: [], remote: 1, all: 1 },
      { module: 'bad', port: 'out', local: [], remote: 2, all: 2 },
    ],
  }, 'D0 {"k":1}\nD1 1\nD2 2\n');
  assert.deepStrictEqual(reply.modules.m, { ok: false, error: "TypeError: Cannot read properties of null (reading 'x')", line: 3 });
  assert.strictEqual(reply.modules.bad.ok, false);
  assert.match(reply.modules.bad.error, /^SyntaxError: /);
  assert.strictEqual(reply.modules.bad.line, 1);
  await host.waitForAck(4);
  const errors = host.output.all('error');
  assert.deepStrictEqual(errors.map((e) => [e.module, e.port, e.payload]), [['m', 'in', { k: 1 }], ['bad', 'in', 2]]);
  assert.match(errors[0].message, /^module 'm' did not load: TypeError: /);
  assert.deepStrictEqual(dataFrom(host, 0), [[0, ['v1', 1, 0]], [1, ['other', 1, 1]]]);
  const stats = await report(host);
  assert.deepStrictEqual(stats.modules.m, { in: 2, out: 1, errors: 1, state: { calls: 1 } }, 'the kept state and counters');
});

test('debug routing via host is kept across a swap, with the new `all` ids', async (t) => {
  const host = await started(t, [moduleSpec('a', counting('a')), moduleSpec('b', counting('b'))], [['a', 'in']], [
    { module: 'a', port: 'out', local: [['b', 'in']], remote: null, all: 5 },
    { module: 'b', port: 'out', local: [], remote: 0, all: 0 },
  ]);
  host.send('{"t":"mode","via":"host"}\nD0 1\n');
  await host.waitForAck(1);
  const start = host.output.frames.length;
  await swap(host, {
    modules: [replaced('a', counting('a2'))],
    slots: [['a', 'in'], ['b', 'in']],
    routes: [
      { module: 'a', port: 'out', local: [['b', 'in']], remote: null, all: 6 },
      { module: 'b', port: 'out', local: [], remote: 0, all: 0 },
    ],
  }, 'D0 2\n');
  await host.waitForAck(2);
  assert.deepStrictEqual(dataFrom(host, 0), [[5, ['a', 1, 1]], [6, ['a2', 2, 2]]], 'b is not called locally');

  host.send('{"t":"mode","via":"direct"}\nD0 3\n');
  await host.waitForAck(3);
  assert.deepStrictEqual(dataFrom(host, start + 2), [[0, ['b', 1, ['a2', 3, 3]]]]);
});

test('the stats after a swap carry the states of the swapped modules', async (t) => {
  const host = await started(t, [moduleSpec('m', counting('v1')), moduleSpec('idle', counting('idle'))], [['m', 'in']], [
    { module: 'm', port: 'out', local: [], remote: 0, all: 0 },
    { module: 'idle', port: 'out', local: [], remote: 1, all: 1 },
  ]);
  host.send('D0 1\n');
  await host.waitFor('stats');
  const start = host.output.frames.length;
  await swap(host, {
    modules: [replaced('m', SHOW_STATE + 'exports.onSwap = (old) => ({ migrated: old.calls });')],
    slots: [['m', 'in']],
    routes: [{ module: 'm', port: 'out', local: [], remote: 0, all: 0 }, { module: 'idle', port: 'out', local: [], remote: 1, all: 1 }],
  });
  const stats = await host.waitFor((f, i) => i >= start && f.t === 'stats');
  assert.deepStrictEqual(stats.modules, { m: { in: 1, out: 1, errors: 0, state: { migrated: 1 } }, idle: { in: 0, out: 0, errors: 0 } });
});

test('a swap frame that does not fit the protocol is fatal', async (t) => {
  const host = await oneModule(t, counting('v1'));
  host.send(JSON.stringify({ t: 'swap', modules: [], remove: ['ghost'], ...ONE_TABLES }) + '\n');
  assert.strictEqual((await host.waitFor('fatal')).message, 'bad swap frame: remove[0] names unknown module "ghost"');
  assert.strictEqual((await host.waitForExit()).code, 2);
});

test('a swap before configure is fatal', async (t) => {
  const host = new FifoHost();
  t.after(() => host.cleanup());
  await host.waitFor('hello');
  host.send(JSON.stringify({ t: 'swap', modules: [], ...ONE_TABLES }) + '\n');
  assert.match((await host.waitFor('fatal')).message, /swap frame came before the instance was configured/);
});

test('stop right after a swap waits for an async hook, then says bye with its state', async (t) => {
  const host = await oneModule(t, counting('v1'), { state: { calls: 5 } });
  await swap(host, {
    modules: [replaced('m', SHOW_STATE + 'exports.onSwap = async (old) => { await new Promise((r) => setTimeout(r, 50)); return { slow: old.calls }; };')],
    ...ONE_TABLES,
  }, '{"t":"stop"}\n');
  await host.waitFor('bye');
  const stats = host.output.all('stats').at(-1);
  assert.deepStrictEqual(stats.modules.m.state, { slow: 5 });
  assert.strictEqual((await host.waitForExit()).code, 0);
});
