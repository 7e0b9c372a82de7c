// Debug routing (docs/protocol.md, "Debug routing"): `all` route ids, `mode` and `report` frames,
// and frames written before the ack that covers them. Runtimes are real processes on real fifos.
import test from 'node:test';
import assert from 'node:assert';
import { configuredHost as started } from '../test_support/fifo_host.js';
import { moduleSpec } from '../test_support/runtime_harness.js';
import { readConfigure, ConfigError } from '../../core/configuration.js';

const MODE_HOST = '{"t":"mode","via":"host"}\n';
const MODE_DIRECT = '{"t":"mode","via":"direct"}\n';
const REPORT = '{"t":"report"}\n';

/** Counts its calls in its state and passes the payload on, tagged with its id. */
const COUNTING = 'module.exports = (msg, ctx) => { ctx.state.calls = (ctx.state.calls || 0) + 1; return [ctx.moduleId, msg.payload]; };';

/**
 * Flow a → b in one instance, and c which never runs. Slots: 0 = a.in, 1 = b.in.
 * a.out: local b, no remote, all 7. b.out: remote 2, all 3 (distinct here, to tell them apart).
 */
function twoModules(t, codeB = COUNTING) {
  return started(t, [moduleSpec('a', COUNTING), moduleSpec('b', codeB), moduleSpec('c', COUNTING, { state: { idle: true } })],
    [['a', 'in'], ['b', 'in'], ['c', 'in']], [
      { module: 'a', port: 'out', local: [['b', 'in']], remote: null, all: 7 },
      { module: 'b', port: 'out', local: [], remote: 2, all: 3 },
      { module: 'c', port: 'out', local: [], remote: 4, all: 4 },
    ]);
}

/** [route, payload] of the data frames from `start` on. */
function dataFrom(host, start) {
  return host.output.frames.slice(start).filter((f) => f.t === 'D').map((f) => [f.route, f.payload]);
}

/** The first frame from index `start` on that matches `predicate` (waits for it). */
function nextFrame(host, start, predicate) {
  return host.waitFor((frame, i) => i >= start && predicate(frame));
}

/** Asks for a report and returns the `stats` frame that answers it. */
async function report(host) {
  const start = host.output.frames.length;
  host.send(REPORT);
  return nextFrame(host, start, (f) => f.t === 'stats');
}

test('configure reads `all`; without it `remote` is used, and with neither local routing only', () => {
  const read = (route) => readConfigure({
    modules: [moduleSpec('a', ''), moduleSpec('b', '')],
    routes: [{ module: 'a', port: 'out', local: [['b', 'in']], ...route }],
  }).modules[0].routes[0];
  assert.deepStrictEqual([read({ remote: 1, all: 9 }).all, read({ remote: 1, all: 9 }).allPrefix], [9, 'D9 ']);
  assert.strictEqual(read({ remote: 1 }).all, 1);
  assert.strictEqual(read({ remote: null }).allPrefix, null);
  assert.throws(() => read({ remote: 1, all: -1 }), ConfigError);
  assert.throws(() => read({ remote: 1, all: '2' }), /routes\[0\]\.all is not a route id/);
});

test('mode host sends every message as D<all> and calls no local target; mode direct routes locally again', async (t) => {
  const host = await twoModules(t);

  host.send('D0 1\n');
  await host.waitForAck(1);
  assert.deepStrictEqual(dataFrom(host, 0), [[2, ['b', ['a', 1]]]], 'direct: b is called locally');

  let start = host.output.frames.length;
  host.send(`${MODE_HOST}D0 2\n`);
  await host.waitForAck(2);
  assert.deepStrictEqual(dataFrom(host, start), [[7, ['a', 2]]], 'host: a goes to route all, b is not called');

  start = host.output.frames.length;
  host.send('D1 "from host"\n');
  await host.waitForAck(3);
  assert.deepStrictEqual(dataFrom(host, start), [[3, ['b', 'from host']]], 'host: b goes to its route all too');

  start = host.output.frames.length;
  host.send(`${MODE_DIRECT}D0 4\n`);
  await host.waitForAck(4);
  assert.deepStrictEqual(dataFrom(host, start), [[2, ['b', ['a', 4]]]], 'direct again: b is called locally');

  const stats = await report(host);
  assert.deepStrictEqual(stats.modules.a, { in: 3, out: 3, errors: 0, state: { calls: 3 } });
  assert.deepStrictEqual(stats.modules.b, { in: 3, out: 3, errors: 0, state: { calls: 3 } });
  assert.strictEqual(host.output.all('log').length, 0, 'mode frames get no reply and no warning');
});

test('messages already in an inbox when the mode changes are processed as usual', async (t) => {
  // b holds message 1 until c runs; c gets its message after the mode frame, so the switch
  // happens while b is busy with 1 and 2 waits in its inbox, however slow the machine.
  const heldB = `module.exports = async (msg, ctx) => {
    const released = new Promise((resolve) => { globalThis.releaseB = resolve; });
    ctx.log('b took', msg.payload[1]);
    if (msg.payload[1] === 1) await released;
    return msg.payload[1];
  };`;
  const releaser = 'module.exports = () => { globalThis.releaseB(); };';
  const host = await started(t, [moduleSpec('a', COUNTING), moduleSpec('b', heldB), moduleSpec('c', releaser)],
    [['a', 'in'], ['b', 'in'], ['c', 'in']], [
      { module: 'a', port: 'out', local: [['b', 'in']], remote: null, all: 7 },
      { module: 'b', port: 'out', local: [], remote: 2, all: 3 },
      { module: 'c', port: 'out', local: [], remote: 4, all: 4 },
    ]);
  host.send('D0 1\nD0 2\n');
  await host.waitFor((f) => f.t === 'log' && f.text === 'b took 1'); // b is busy with 1; 2 waits in its inbox
  host.send(`${MODE_HOST}D2 "release"\n`);
  await host.waitForAck(3);
  const logs = host.output.all('log').map((l) => l.text);
  assert.deepStrictEqual(logs, ['b took 1', 'b took 2'], 'b still takes both messages');
  assert.deepStrictEqual(dataFrom(host, 0), [[3, 1], [3, 2]], 'what b emits after the switch goes via the host');
});

test('an unknown via is a warning and the mode stays as it was', async (t) => {
  const host = await twoModules(t);
  host.send('{"t":"mode","via":"sideways"}\nD0 1\n');
  await host.waitForAck(1);
  assert.deepStrictEqual(host.output.all('log'),
    [{ t: 'log', module: null, level: 'warn', text: 'ignored a mode frame with unknown via "sideways"' }]);
  assert.deepStrictEqual(dataFrom(host, 0), [[2, ['b', ['a', 1]]]]);
});

test('without `all` in configure, mode host uses `remote`, and local routing when there is none', async (t) => {
  const host = await started(t, [moduleSpec('a', COUNTING), moduleSpec('b', COUNTING)], [['a', 'in']], [
    { module: 'a', port: 'out', local: [['b', 'in']], remote: null },
    { module: 'b', port: 'out', local: [], remote: 2 },
  ]);
  host.send(`${MODE_HOST}D0 1\n`);
  await host.waitForAck(1);
  assert.deepStrictEqual(dataFrom(host, 0), [[2, ['b', ['a', 1]]]]);
});

test('report answers at once with the state of every module, also one that never ran', async (t) => {
  const host = await twoModules(t);
  const first = await report(host);
  assert.deepStrictEqual(first.modules, {
    a: { in: 0, out: 0, errors: 0, state: {} },
    b: { in: 0, out: 0, errors: 0, state: {} },
    c: { in: 0, out: 0, errors: 0, state: { idle: true } },
  });

  host.send('D0 1\nD0 2\n');
  await host.waitForAck(2);
  await host.waitFor('stats'); // the periodic one (states of a and b only)
  const second = await report(host);
  assert.deepStrictEqual(second.modules, {
    a: { in: 2, out: 2, errors: 0, state: { calls: 2 } },
    b: { in: 2, out: 2, errors: 0, state: { calls: 2 } },
    c: { in: 0, out: 0, errors: 0, state: { idle: true } },
  });
  assert.deepStrictEqual(await report(host), second, 'every report carries every state');
});

test('every frame a message produces is written before the ack that covers it, also for async handlers', async (t) => {
  const work = (async) => `module.exports = ${async ? 'async ' : ''}(msg, ctx) => {
    ${async ? 'await new Promise((resolve) => setTimeout(resolve, 5));' : ''}
    console.log('working on', msg.payload);
    ctx.send('out', msg.payload);
    ${async ? 'await null;' : ''}
    if (msg.payload % 2 === 0) throw new Error('even ' + msg.payload);
  };`;
  const host = await started(t, [moduleSpec('sync', work(false)), moduleSpec('async', work(true)), moduleSpec('sink', work(true))],
    [['sync', 'in'], ['async', 'in']], [
      { module: 'sync', port: 'out', local: [['sink', 'in']], remote: 0, all: 10 },
      { module: 'async', port: 'out', local: [['sink', 'in']], remote: 1, all: 11 },
      { module: 'sink', port: 'out', local: [], remote: 2, all: 12 },
    ]);
  const messages = [1, 2, 3, 4, 5, 6, 7, 8];
  for (const n of messages) {
    if (n === 5) {
      await host.waitForAck(4);
      host.send(MODE_HOST);
    }
    host.send(`D${n % 2} ${n}\n`); // separate writes, so acks may come in several batches
  }
  await host.waitForAck(messages.length);

  // Every frame of message n names n; it must come before the first ack that reaches n.
  const all = host.output.frames;
  const ackIndex = (n) => all.findIndex((f) => f.t === 'A' && f.count >= n);
  const produced = (f, n) => (f.t === 'D' && f.payload === n) || (f.t === 'log' && f.text === `working on ${n}`) ||
    (f.t === 'error' && f.payload === n);
  for (const n of messages) {
    const indexes = all.flatMap((f, i) => (produced(f, n) ? [i] : []));
    // Per module that runs: a log, a send, and an error when n is even; sink runs only in direct mode.
    assert.strictEqual(indexes.length, (n % 2 === 0 ? 3 : 2) * (n <= 4 ? 2 : 1),
      `frames of message ${n}: ${JSON.stringify(indexes.map((i) => all[i]))}`);
    assert.ok(indexes.every((i) => i < ackIndex(n)), `message ${n}: every frame before the ack ${JSON.stringify(all)}`);
  }
});
