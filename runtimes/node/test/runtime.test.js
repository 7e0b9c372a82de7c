import test from 'node:test';
import assert from 'node:assert';
import { createHarness, moduleSpec, testHost } from '../test_support/runtime_harness.js';

/** A harness configured with `modules`; `routes` defaults to each output going to remote route = index. */
async function configured(modules, { slots, routes, maxFrameBytes } = {}) {
  const h = createHarness({ maxFrameBytes });
  h.sendConfigure({
    modules,
    slots: slots || modules.map((m) => [m.id, (m.inputs || ['in'])[0]]),
    routes: routes || modules.flatMap((m, i) => (m.outputs || ['out']).map((port) => ({ module: m.id, port, local: [], remote: i }))),
  });
  const reply = await h.waitFor('configured');
  return { h, reply };
}

test('hello is the first frame', () => {
  const h = createHarness();
  assert.deepStrictEqual(h.output.frames[0], {
    t: 'hello', protocol: 1, runtime: 'node', name: 'Node.js', version: process.versions.node, pid: process.pid,
  });
});

test('configure loads modules and reports load errors with lines', async () => {
  const { reply } = await configured([
    moduleSpec('good', 'exports.onMessage = () => {}'),
    moduleSpec('syntax', 'const a = 1;\nconst b = ;'),
    moduleSpec('throws', 'exports.onMessage = () => {};\nnull.x;'),
    moduleSpec('empty', 'exports.other = 1;'),
    moduleSpec('badInit', 'exports.init = (ctx) => {\n  throw new Error("no init");\n};\nexports.onMessage = () => {};'),
  ]);
  const modules = reply.modules;
  assert.deepStrictEqual(modules.good, { ok: true });
  assert.strictEqual(modules.syntax.ok, false);
  assert.match(modules.syntax.error, /^SyntaxError: Unexpected token/);
  // V8 gives no line for a SyntaxError from eval/new Function: the browser host reports none.
  assert.strictEqual(modules.syntax.line, testHost() === 'browser' ? null : 2);
  assert.deepStrictEqual(modules.throws, { ok: false, error: "TypeError: Cannot read properties of null (reading 'x')", line: 2 });
  assert.deepStrictEqual(modules.empty, { ok: false, error: 'module exports no onMessage(msg, ctx) function', line: null });
  assert.deepStrictEqual(modules.badInit, { ok: false, error: 'Error: no init', line: 2 });
});

test('init gets ctx with the initial state, config, ids; async init is awaited before messages', async () => {
  const { h, reply } = await configured([
    moduleSpec('m', `
      exports.init = async (ctx) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        ctx.state.inits = (ctx.state.inits || 0) + 1;
        ctx.state.seen = [ctx.flowId, ctx.moduleId, ctx.config.k];
      };
      exports.onMessage = (msg, ctx) => ctx.state;`, { config: { k: 'v' }, state: { kept: true } }),
    moduleSpec('noInit', 'exports.init = () => { throw new Error("must not run"); };\nmodule.exports.onMessage = (m, ctx) => ctx.state;',
      { init: false, state: null }),
  ]);
  assert.deepStrictEqual(reply.modules, { m: { ok: true }, noInit: { ok: true } });
  h.send('D0 1\nD1 1\n');
  await h.waitForAck(2);
  assert.deepStrictEqual(h.output.all('D').map((f) => [f.route, f.payload]), [
    [0, { kept: true, inits: 1, seen: ['test', 'm', 'v'] }],
    [1, {}],
  ]);
});

test('data frames written before configured arrives are held until init finished', async () => {
  const h = createHarness();
  h.send(JSON.stringify({ t: 'configure', flowId: 'f', modules: [
    moduleSpec('m', 'exports.init = async (ctx) => { await null; ctx.state.ready = true; };\nmodule.exports.onMessage = (msg, ctx) => ctx.state.ready;'),
  ], slots: [['m', 'in']], routes: [{ module: 'm', port: 'out', local: [], remote: 3 }] }) + '\nD0 1\n');
  await h.waitForAck(1);
  const kinds = h.output.frames.map((f) => f.t);
  assert.ok(kinds.indexOf('configured') < kinds.indexOf('D'));
  assert.deepStrictEqual(h.output.all('D'), [{ t: 'D', route: 3, payload: true }]);
});

test('sends and return values go out as data frames, before the ack that covers them', async () => {
  const { h } = await configured([
    moduleSpec('m', 'exports.onMessage = (msg, ctx) => { ctx.send("log", msg.payload); return { doubled: msg.payload * 2 }; };',
      { outputs: ['out', 'log'] }),
  ], { routes: [{ module: 'm', port: 'out', local: [], remote: 10 }, { module: 'm', port: 'log', local: [], remote: 11 }] });
  h.send('D0 1\nD0 2\n');
  await h.waitForAck(2);
  const after = h.output.frames.slice(h.output.frames.findIndex((f) => f.t === 'configured') + 1);
  assert.deepStrictEqual(after.filter((f) => f.t === 'D' || f.t === 'A'), [
    { t: 'D', route: 11, payload: 1 },
    { t: 'D', route: 10, payload: { doubled: 2 } },
    { t: 'D', route: 11, payload: 2 },
    { t: 'D', route: 10, payload: { doubled: 4 } },
    { t: 'A', count: 2 },
  ]);
});

test('local routes call the target directly; later targets get their own copy', async () => {
  const { h } = await configured([
    moduleSpec('src', 'module.exports = (msg) => ({ list: [msg.payload] });'),
    moduleSpec('a', 'module.exports = (msg) => { msg.payload.list.push("a"); return msg.payload; };'),
    moduleSpec('b', 'module.exports = (msg) => { msg.payload.list.push("b"); return msg.payload; };'),
  ], {
    slots: [['src', 'in']],
    routes: [
      { module: 'src', port: 'out', local: [['a', 'in'], ['b', 'in']], remote: 0 },
      { module: 'a', port: 'out', local: [], remote: 1 },
      { module: 'b', port: 'out', local: [], remote: 2 },
    ],
  });
  h.send('D0 "x"\n');
  await h.waitForAck(1);
  const byRoute = Object.fromEntries(h.output.all('D').map((f) => [f.route, f.payload]));
  assert.deepStrictEqual(byRoute, { 0: { list: ['x'] }, 1: { list: ['x', 'a'] }, 2: { list: ['x', 'b'] } });
});

test('fan-out copies without a remote route are deep copies', async () => {
  const { h } = await configured([
    moduleSpec('src', 'module.exports = (msg) => ({ n: msg.payload });'),
    moduleSpec('a', 'module.exports = (msg) => { msg.payload.n++; return msg.payload; };'),
    moduleSpec('b', 'module.exports = (msg) => msg.payload;'),
  ], {
    slots: [['src', 'in']],
    routes: [
      { module: 'src', port: 'out', local: [['a', 'in'], ['b', 'in']], remote: null },
      { module: 'a', port: 'out', local: [], remote: 1 },
      { module: 'b', port: 'out', local: [], remote: 2 },
    ],
  });
  h.send('D0 1\n');
  await h.waitForAck(1);
  assert.deepStrictEqual(h.output.all('D').map((f) => [f.route, f.payload]), [[1, { n: 2 }], [2, { n: 1 }]]);
});

test('a single local target gets the value itself (no JSON); fan-out of a value JSON cannot carry is an error', async () => {
  const { h } = await configured([
    moduleSpec('src', 'module.exports = (msg, ctx) => { const m = new Map([["k", msg.payload]]); ctx.send("one", m); ctx.send("two", () => m); };',
      { outputs: ['one', 'two'] }),
    moduleSpec('a', 'module.exports = (msg) => msg.payload instanceof Map ? msg.payload.get("k") : "not a map";'),
    moduleSpec('b', 'module.exports = () => "b ran";'),
  ], {
    slots: [['src', 'in']],
    routes: [
      { module: 'src', port: 'one', local: [['a', 'in']], remote: null },
      { module: 'src', port: 'two', local: [['a', 'in'], ['b', 'in']], remote: null },
      { module: 'a', port: 'out', local: [], remote: 1 },
      { module: 'b', port: 'out', local: [], remote: 2 },
    ],
  });
  h.send('D0 "v"\n');
  await h.waitForAck(1);
  assert.deepStrictEqual(h.output.all('D'), [{ t: 'D', route: 1, payload: 'v' }]);
  const error = h.output.all('error')[0];
  assert.strictEqual(error.module, 'src');
  assert.strictEqual(error.message, "TypeError: payload sent on port 'two' cannot be encoded as JSON (it is function)");
});

test('a local cycle of many hops does not overflow the stack and is acked once done', async () => {
  const { h } = await configured([
    moduleSpec('ping', 'module.exports = (msg, ctx) => { if (msg.payload < 200000) ctx.send("out", msg.payload + 1); else ctx.send("done", msg.payload); };',
      { outputs: ['out', 'done'] }),
    moduleSpec('pong', 'module.exports = (msg) => msg.payload + 1;'),
  ], {
    slots: [['ping', 'in']],
    routes: [
      { module: 'ping', port: 'out', local: [['pong', 'in']], remote: null },
      { module: 'ping', port: 'done', local: [], remote: 5 },
      { module: 'pong', port: 'out', local: [['ping', 'in']], remote: null },
    ],
  });
  h.send('D0 0\n');
  await h.waitForAck(1, 20000);
  assert.deepStrictEqual(h.output.all('D'), [{ t: 'D', route: 5, payload: 200000 }]);
});

test('order between one sender and one receiver is kept across async handlers', async () => {
  const { h } = await configured([
    moduleSpec('src', 'module.exports = async (msg, ctx) => { for (let i = 0; i < 3; i++) { await null; ctx.send("out", [msg.payload, i]); } };'),
    moduleSpec('sink', 'module.exports = async (msg) => { await new Promise((r) => setTimeout(r, msg.payload[1])); return msg.payload; };'),
  ], {
    slots: [['src', 'in']],
    routes: [
      { module: 'src', port: 'out', local: [['sink', 'in']], remote: null },
      { module: 'sink', port: 'out', local: [], remote: 9 },
    ],
  });
  h.send('D0 1\nD0 2\nD0 3\n');
  await h.waitForAck(3);
  const expected = [];
  for (let m = 1; m <= 3; m++) for (let i = 0; i < 3; i++) expected.push([m, i]);
  assert.deepStrictEqual(h.output.all('D').map((f) => f.payload), expected);
});

test('a handler exception is an error frame with the input payload; sends before it stay sent', async () => {
  const { h } = await configured([
    moduleSpec('m', 'module.exports = (msg, ctx) => {\n  ctx.send("out", "before");\n  msg.payload.x = 1;\n  msg.payload.fn();\n};'),
  ]);
  h.send('D0 {"a":1}\n');
  const error = await h.waitFor('error');
  await h.waitForAck(1);
  assert.strictEqual(error.module, 'm');
  assert.strictEqual(error.port, 'in');
  assert.deepStrictEqual(error.payload, { a: 1 }, 'the payload as the host sent it');
  assert.strictEqual(error.message, 'TypeError: msg.payload.fn is not a function');
  assert.match(error.stack, /module:m:4:/);
  assert.deepStrictEqual(h.output.all('D'), [{ t: 'D', route: 0, payload: 'before' }]);
});

test('a rejected promise is an error frame too', async () => {
  const { h } = await configured([moduleSpec('m', 'module.exports = async () => { await null; throw new RangeError("late"); };')]);
  h.send('D0 7\n');
  const error = await h.waitFor('error');
  assert.strictEqual(error.message, 'RangeError: late');
  assert.strictEqual(error.payload, 7);
});

test('ctx.send to an unknown port throws into the handler', async () => {
  const { h } = await configured([
    moduleSpec('m', 'module.exports = (msg, ctx) => { try { ctx.send("nope", 1); } catch (e) { return e.message; } };',
      { outputs: ['out', 'other'] }),
  ], { routes: [{ module: 'm', port: 'out', local: [], remote: 0 }, { module: 'm', port: 'other', local: [], remote: 1 }] });
  h.send('D0 1\n');
  const frame = await h.waitFor((f) => f.t === 'D');
  assert.strictEqual(frame.payload, "module 'm' has no output port 'nope' (outputs: out, other)");
});

test('payloads JSON cannot encode are module errors', async () => {
  const { h } = await configured([moduleSpec('m', `
    module.exports = (msg, ctx) => {
      if (msg.payload === 1) return 10n;
      if (msg.payload === 2) { const a = {}; a.a = a; return a; }
      if (msg.payload === 3) return () => {};
      return "fine";
    };`)]);
  h.send('D0 1\nD0 2\nD0 3\nD0 4\n');
  await h.waitForAck(4);
  const messages = h.output.all('error').map((e) => e.message);
  assert.strictEqual(messages.length, 3);
  assert.match(messages[0], /^TypeError: payload sent on port 'out' cannot be encoded as JSON: .*BigInt/);
  assert.match(messages[1], /circular/);
  assert.match(messages[2], /cannot be encoded as JSON \(it is function\)/);
  assert.deepStrictEqual(h.output.all('D'), [{ t: 'D', route: 0, payload: 'fine' }]);
});

test('a payload over the frame limit is a module error, not a broken frame', async () => {
  const { h } = await configured([moduleSpec('m', 'module.exports = (msg) => "x".repeat(msg.payload);')], { maxFrameBytes: 400 });
  h.send('D0 10\nD0 500\n');
  await h.waitForAck(2);
  assert.deepStrictEqual(h.output.all('D'), [{ t: 'D', route: 0, payload: 'xxxxxxxxxx' }]);
  assert.match(h.output.all('error')[0].message, /over the frame limit of 400 bytes/);
});

test('a data frame for a module that did not load is an error of that module', async () => {
  const { h } = await configured([moduleSpec('broken', 'exports.onMessage = (;')]);
  h.send('D0 {"k":1}\n');
  const error = await h.waitFor('error');
  assert.strictEqual(error.module, 'broken');
  assert.deepStrictEqual(error.payload, { k: 1 });
  assert.match(error.message, /^module 'broken' did not load: SyntaxError: /);
  await h.waitForAck(1);
});

test('a data frame whose payload is not JSON is an error of the module, and acked', async () => {
  const { h } = await configured([moduleSpec('m', 'module.exports = () => {}')]);
  h.send('D0 {nope\n');
  const error = await h.waitFor('error');
  assert.strictEqual(error.payload, '{nope');
  assert.match(error.message, /is not JSON/);
  await h.waitForAck(1);
});

test('a data frame for an unknown slot is fatal', async () => {
  const { h } = await configured([moduleSpec('m', 'module.exports = () => {}')]);
  h.send('D5 1\n');
  const fatal = await h.waitFor('fatal');
  assert.match(fatal.message, /unknown slot 5/);
  assert.strictEqual(h.exitCode, 2);
});

test('a frame the decoder rejects is fatal with exit code 2', async () => {
  const h = createHarness();
  h.send('D01 {}\n');
  const fatal = await h.waitFor('fatal');
  assert.match(fatal.message, /bad-slot/);
  assert.strictEqual(h.exitCode, 2);
});

test('a data frame before configure is fatal', async () => {
  const h = createHarness();
  h.send('D0 1\n');
  assert.match((await h.waitFor('fatal')).message, /before configure/);
  assert.strictEqual(h.exitCode, 2);
});

test('a bad configure frame is fatal', async () => {
  const h = createHarness();
  h.sendConfigure({ modules: [moduleSpec('m', '')], slots: [['x', 'in']], routes: [] });
  assert.match((await h.waitFor('fatal')).message, /bad configure frame: slots\[0\] names unknown module "x"/);
});

test('an unknown control frame is a warning, not an error', async () => {
  const { h } = await configured([moduleSpec('m', 'module.exports = (msg) => msg.payload')]);
  h.send('{"t":"mystery"}\nD0 1\n');
  const log = await h.waitFor('log');
  assert.deepStrictEqual(log, { t: 'log', module: null, level: 'warn', text: 'ignored a control frame of unknown type "mystery"' });
  await h.waitForAck(1);
  assert.strictEqual(h.exitCode, null);
});

test('ctx.log is a log frame of the module; long texts are cut at 64 KiB', async () => {
  const { h } = await configured([moduleSpec('m', 'module.exports = (msg, ctx) => { ctx.log("n =", msg.payload, { a: 1 }); ctx.log("é".repeat(40000)); };')]);
  h.send('D0 5\n');
  await h.waitForAck(1);
  const logs = h.output.all('log');
  assert.deepStrictEqual(logs[0], { t: 'log', module: 'm', level: 'info', text: 'n = 5 {"a":1}' });
  assert.ok(Buffer.byteLength(logs[1].text) <= 64 * 1024);
  assert.match(logs[1].text, /truncated\]$/);
});

test('stats come after work, with states of modules that ran', async () => {
  const { h } = await configured([
    moduleSpec('counter', 'module.exports = (msg, ctx) => { ctx.state.n = (ctx.state.n || 0) + 1; return msg.payload; };'),
    moduleSpec('idle', 'module.exports = () => {};', { state: { untouched: true } }),
  ]);
  h.send('D0 1\nD0 2\n');
  const stats = await h.waitFor('stats');
  assert.deepStrictEqual(stats.modules, {
    counter: { in: 2, out: 2, errors: 0, state: { n: 2 } },
    idle: { in: 0, out: 0, errors: 0 },
  });
});

test('a state JSON cannot encode is left out of stats with a log error', async () => {
  const { h } = await configured([moduleSpec('m', 'module.exports = (msg, ctx) => { ctx.state = { big: 1n }; };')]);
  h.send('D0 1\n');
  const stats = await h.waitFor('stats');
  assert.deepStrictEqual(stats.modules.m, { in: 1, out: 0, errors: 0 });
  const log = h.output.all('log').find((l) => l.module === 'm' && / of stats: /.test(l.text));
  assert.strictEqual(log.level, 'error');
  assert.match(log.text, /state of module 'm' left out of stats: JSON cannot encode it/);
});

test('stop finishes pending async work, then sends stats with every state and bye, exit 0', async () => {
  const { h } = await configured([
    moduleSpec('slow', 'module.exports = async (msg, ctx) => { await new Promise((r) => setTimeout(r, 20)); ctx.state.last = msg.payload; return msg.payload; };'),
    moduleSpec('other', 'module.exports = () => {};', { state: { s: 1 } }),
  ]);
  h.send('D0 1\nD0 2\n{"t":"stop"}\nD0 3\n');
  await h.waitFor('bye');
  assert.strictEqual(h.exitCode, 0);
  const tail = h.output.frames.slice(-3);
  assert.deepStrictEqual(tail[0], { t: 'A', count: 2 }, 'the frame after stop is not taken');
  assert.deepStrictEqual(tail[1], { t: 'stats', modules: {
    slow: { in: 2, out: 2, errors: 0, state: { last: 2 } },
    other: { in: 0, out: 0, errors: 0, state: { s: 1 } },
  } });
  assert.deepStrictEqual(tail[2], { t: 'bye' });
  assert.deepStrictEqual(h.output.all('D').map((f) => f.payload), [1, 2]);
});

test('stop before configure still says bye', async () => {
  const h = createHarness();
  h.send('{"t":"stop"}\n');
  await h.waitFor('bye');
  assert.strictEqual(h.exitCode, 0);
});

test('end of input exits 0 at once', () => {
  const h = createHarness();
  h.runtime.end();
  assert.strictEqual(h.exitCode, 0);
});
