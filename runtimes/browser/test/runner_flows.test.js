// Browser modules of a flow run in the shared core: deploy, inject, outputs as events, module
// errors with their stacks, logs attributed to the module, hot swap keeping state, load errors.
import test from 'node:test';
import assert from 'node:assert';
import { startRunner, browserModule, deployCommand } from '../test_support/runner_harness.js';

async function deployed(modules, connections, placed = modules.map((m) => m.id), extra = {}) {
  const h = startRunner();
  await h.welcome();
  const flow = { id: 'f', modules, connections };
  const reply = await h.command(deployCommand(flow, placed, [], extra));
  return { h, flow, reply };
}

test('a deployed flow runs: a message injected goes a → b, and b\'s unconnected output is an output event', async () => {
  const { h, reply } = await deployed([
    browserModule('a', 'exports.onMessage = (msg, ctx) => msg.payload * 2;'),
    browserModule('b', 'exports.onMessage = async (msg, ctx) => { await null; ctx.send("out", { v: msg.payload, k: ctx.config.k }); };', { config: { k: 'x' } }),
  ], [{ from: 'a.out', to: 'b.in' }]);
  assert.deepStrictEqual(reply, { kind: 'ok' });
  for (const n of [1, 2, 3]) assert.deepStrictEqual(await h.command({ op: 'inject', flow: 'f', module: 'a', payload: String(n) }), { kind: 'ok' });
  assert.deepStrictEqual(h.socket.events('output').map((e) => [e.module, e.port, e.payload]), [
    ['b', 'out', '{"v":2,"k":"x"}'], ['b', 'out', '{"v":4,"k":"x"}'], ['b', 'out', '{"v":6,"k":"x"}'],
  ]);
  assert.deepStrictEqual(h.socket.events('instanceState')[0], { type: 'instanceState', runtime: 'browser', state: 'ready', restarts: 0, flow: 'f' });
  assert.deepStrictEqual(h.socket.events('flowState').map((e) => e.state), ['running']);
});

test('init runs once, ctx.state is kept, and states are reported at most once per interval', async () => {
  const { h } = await deployed([
    browserModule('count', 'exports.init = (ctx) => { ctx.state.n = 10; };\nexports.onMessage = (msg, ctx) => { ctx.state.n += 1; };'),
  ], []);
  for (let i = 0; i < 3; i++) await h.command({ op: 'inject', flow: 'f', module: 'count', payload: 'null' });
  assert.deepStrictEqual(h.socket.of('states'), []);
  await h.clock.advance(250);
  assert.deepStrictEqual(h.socket.of('states'), [{ t: 'states', flow: 'f', modules: [{ module: 'count', gen: 1, state: { n: 13 } }] }]);
  await h.clock.advance(1000);
  assert.strictEqual(h.socket.of('states').length, 1, 'nothing changed: no new report');
  await h.command({ op: 'inject', flow: 'f', module: 'count', payload: 'null' });
  await h.clock.advance(250);
  assert.strictEqual(h.socket.of('states').length, 2, 'the last report is over an interval old: at once');
  await h.command({ op: 'inject', flow: 'f', module: 'count', payload: 'null' });
  await h.clock.advance(250);
  assert.strictEqual(h.socket.of('states').length, 2, 'not twice within an interval');
  await h.clock.advance(1000);
  assert.deepStrictEqual(h.socket.of('states').map((m) => m.modules[0].state.n), [13, 14, 15], 'one report per interval');
});

test('a module that throws is an error event with its input and a stack naming the module; the flow goes on', async () => {
  const { h } = await deployed([
    browserModule('div', 'exports.onMessage = (msg) => {\n  if (msg.payload === 0) throw new RangeError("zero");\n  return 1 / msg.payload;\n};'),
  ], []);
  await h.command({ op: 'inject', flow: 'f', module: 'div', payload: '0' });
  await h.command({ op: 'inject', flow: 'f', module: 'div', payload: '4' });
  const [error] = h.socket.events('error');
  assert.strictEqual(error.module, 'div');
  assert.strictEqual(error.error.message, 'RangeError: zero');
  assert.strictEqual(error.error.port, 'in');
  assert.strictEqual(error.error.payload, 0);
  assert.match(error.error.stack, /module:div:2:/, 'the stack names the module and the user\'s own line');
  assert.deepStrictEqual(h.socket.events('output').map((e) => e.payload), ['0.25']);
  const status = await h.command({ op: 'status', flow: 'f' });
  assert.strictEqual(status.flows[0].modules[0].errors, 1);
  assert.strictEqual(status.flows[0].modules[0].lastError.message, 'RangeError: zero');
});

test('console.log in a module is its log, also after an await and in a timer callback', async () => {
  const { h } = await deployed([
    browserModule('talk', 'exports.onMessage = async (msg, ctx) => {\n  console.log("before", msg.payload);\n  await Promise.resolve();\n  console.warn("after");\n  ctx.log("via ctx", { n: 1 });\n};'),
  ], []);
  await h.command({ op: 'inject', flow: 'f', module: 'talk', payload: '"x"' });
  assert.deepStrictEqual(h.socket.events('log').map((e) => [e.module, e.record.level, e.record.text]), [
    ['talk', 'info', 'before x'], ['talk', 'warn', 'after'], ['talk', 'info', 'via ctx {"n":1}'],
  ]);
});

test('code that does not compile fails the deploy with load-error and runs nothing', async () => {
  const { h, reply } = await deployed([browserModule('bad', 'exports.onMessage = (msg) => {')], []);
  assert.strictEqual(reply.kind, 'failure');
  assert.strictEqual(reply.code, 'load-error');
  assert.match(reply.message, /^bad: SyntaxError/);
  assert.deepStrictEqual(h.socket.events('instanceState'), []);
  assert.strictEqual((await h.command({ op: 'status', flow: 'f' })).code, 'unknown-flow', 'a flow that failed its first deploy is not kept');
});

test('a module whose top level throws is a load-error naming the line; the others run', async () => {
  const { h, reply } = await deployed([
    browserModule('boom', 'const x = 1;\nnull.field;\nexports.onMessage = () => {};'),
    browserModule('fine', 'module.exports = (msg) => msg.payload;'),
  ], []);
  assert.strictEqual(reply.code, 'load-error');
  assert.match(reply.message, /^boom: TypeError: .* \(line 2\)$/);
  await h.command({ op: 'inject', flow: 'f', module: 'fine', payload: '7' });
  assert.deepStrictEqual(h.socket.events('output').map((e) => e.payload), ['7']);
});

test('a deploy of a running flow hot-swaps: new code, same state, a swapped event; a bad new version keeps the old', async () => {
  const { h, flow } = await deployed([
    browserModule('acc', 'module.exports = (msg, ctx) => { ctx.state.sum = (ctx.state.sum || 0) + msg.payload; return ctx.state.sum; };'),
  ], []);
  await h.command({ op: 'inject', flow: 'f', module: 'acc', payload: '5' });
  const v2 = { ...flow, modules: [browserModule('acc', 'module.exports = (msg, ctx) => { ctx.state.sum += 100 * msg.payload; return "v2:" + ctx.state.sum; };')] };
  assert.deepStrictEqual(await h.command(deployCommand(v2, ['acc'], [], { revision: 2 })), { kind: 'ok' });
  await h.command({ op: 'inject', flow: 'f', module: 'acc', payload: '1' });
  assert.deepStrictEqual(h.socket.events('output').map((e) => e.payload), ['5', '"v2:105"']);
  assert.deepStrictEqual(h.socket.events('swapped'), [{ type: 'swapped', changed: ['acc'], added: [], removed: [], moved: [], revision: 2, flow: 'f' }]);
  const broken = { ...flow, modules: [browserModule('acc', 'module.exports = (msg, ctx) => {{')] };
  assert.strictEqual((await h.command(deployCommand(broken, ['acc']))).code, 'load-error');
  await h.command({ op: 'inject', flow: 'f', module: 'acc', payload: '1' });
  assert.deepStrictEqual(h.socket.events('output').map((e) => e.payload).at(-1), '"v2:205"');
});

test('stop finishes and stops; start runs again from the committed state; remove forgets the flow', async () => {
  const { h } = await deployed([
    browserModule('n', 'exports.init = (ctx) => { ctx.state.n = 0; };\nexports.onMessage = (msg, ctx) => ++ctx.state.n;'),
  ], []);
  await h.command({ op: 'inject', flow: 'f', module: 'n', payload: '0' });
  assert.deepStrictEqual(await h.command({ op: 'stop', flow: 'f' }), { kind: 'ok' });
  assert.deepStrictEqual(h.socket.events('flowState').map((e) => e.state), ['running', 'stopped']);
  assert.deepStrictEqual(await h.command({ op: 'start', flow: 'f' }), { kind: 'ok' });
  await h.command({ op: 'inject', flow: 'f', module: 'n', payload: '0' });
  assert.deepStrictEqual(h.socket.events('output').map((e) => e.payload), ['1', '2']);
  assert.deepStrictEqual(await h.command({ op: 'remove', flow: 'f' }), { kind: 'ok' });
  assert.strictEqual((await h.command({ op: 'status', flow: 'f' })).code, 'unknown-flow');
});

test('inject refuses an unknown module or port with a reason', async () => {
  const { h } = await deployed([browserModule('a', 'module.exports = () => {}')], []);
  assert.strictEqual((await h.command({ op: 'inject', flow: 'f', module: 'zz', payload: '1' })).code, 'unknown-module');
  assert.strictEqual((await h.command({ op: 'inject', flow: 'f', module: 'a', port: 'nope', payload: '1' })).code, 'unknown-port');
});

test('the example module (examples/modules/show.js) draws a row per message and passes the payload on', async () => {
  const fs = await import('node:fs');
  const code = fs.readFileSync(new URL('../examples/modules/show.js', import.meta.url), 'utf8');
  const rows = [];
  const element = () => ({ children: [], textContent: '', append(child) { this.children.push(child); } });
  globalThis.document = { querySelector: () => ({ prepend: (row) => rows.unshift(row) }), createElement: element };
  try {
    const { h } = await deployed([browserModule('show', code)], []);
    await h.command({ op: 'inject', flow: 'f', module: 'show', payload: '{"words":["hello"]}' });
    assert.deepStrictEqual(rows.map((r) => r.children.slice(0, 2).map((c) => c.textContent)), [['1', '{"words":["hello"]}']]);
    assert.deepStrictEqual(h.socket.events('output').map((e) => e.payload), ['{"words":["hello"]}']);
  } finally {
    delete globalThis.document;
  }
});

test('a deploy that comes while a swap waits for a slow handler is applied after it, in order', async () => {
  const { h, flow } = await deployed([
    browserModule('slow', 'module.exports = async (msg, ctx) => { await globalThis.gate; return "v1:" + msg.payload; };'),
  ], []);
  let open;
  globalThis.gate = new Promise((resolve) => { open = resolve; });
  try {
    h.socket.receive({ t: 'command', id: 90, command: { op: 'inject', flow: 'f', module: 'slow', payload: '1' } });
    const v = (n) => ({ ...flow, modules: [browserModule('slow', `module.exports = (msg) => "v${n}:" + msg.payload;`)] });
    h.socket.receive({ t: 'command', id: 91, command: deployCommand(v(2), ['slow'], [], { revision: 2 }) });
    h.socket.receive({ t: 'command', id: 92, command: deployCommand(v(3), ['slow'], [], { revision: 3 }) });
    await h.clock.settle();
    assert.deepStrictEqual(h.socket.replies().map((r) => r.id).filter((id) => id >= 90), [90], 'both deploys wait for the handler');
    open();
    await h.clock.settle();
    assert.deepStrictEqual(h.socket.replies().filter((r) => r.id >= 90).map((r) => [r.id, r.reply.kind]), [[90, 'ok'], [91, 'ok'], [92, 'ok']]);
    assert.deepStrictEqual(h.socket.events('swapped').map((e) => e.revision), [2, 3]);
    await h.command({ op: 'inject', flow: 'f', module: 'slow', payload: '2' });
    assert.deepStrictEqual(h.socket.events('output').map((e) => e.payload), ['"v1:1"', '"v3:2"']);
  } finally {
    delete globalThis.gate;
  }
});

test('remove while a deploy waits for an async init: the deploy still gets its one reply', async () => {
  const h = startRunner();
  await h.welcome();
  let open;
  globalThis.gate = new Promise((resolve) => { open = resolve; });
  try {
    const flow = { id: 'f', modules: [browserModule('a', 'exports.init = async () => { await globalThis.gate; };\nexports.onMessage = () => {};')], connections: [] };
    h.socket.receive({ t: 'command', id: 50, command: deployCommand(flow, ['a']) });
    await h.clock.settle();
    h.socket.receive({ t: 'command', id: 51, command: { op: 'remove', flow: 'f' } });
    await h.clock.settle();
    open();
    await h.clock.settle();
    const replies = h.socket.replies().map((r) => [r.id, r.reply.kind, r.reply.code]);
    assert.deepStrictEqual(replies.sort(), [[50, 'failure', 'runtime-failed'], [51, 'ok', undefined]]);
  } finally {
    delete globalThis.gate;
  }
});

test('inject past `window` waiting messages is refused with saturated; held messages run when the link is back', async () => {
  const h = startRunner();
  await h.welcome({ window: 4 });
  let open;
  globalThis.gate = new Promise((resolve) => { open = resolve; });
  try {
    const flow = { id: 'f', modules: [browserModule('slow', 'module.exports = async (msg) => { await globalThis.gate; return msg.payload; };')], connections: [] };
    await h.command(deployCommand(flow, ['slow']));
    const replies = [];
    for (let i = 1; i <= 9; i++) replies.push((await h.command({ op: 'inject', flow: 'f', module: 'slow', payload: String(i) })).kind);
    // 4 in the instance (the window), 4 waiting at the gate, the 9th refused
    assert.deepStrictEqual(replies, ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'failure']);
    assert.strictEqual(h.socket.replies().at(-1).reply.code, 'saturated');
    open();
    await h.clock.settle();
    assert.deepStrictEqual(h.socket.events('output').map((e) => e.payload), ['1', '2', '3', '4', '5', '6', '7', '8']);
  } finally {
    delete globalThis.gate;
  }
});
