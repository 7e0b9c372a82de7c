// Cross-runner data of a browser runner: PF1 batches out and in, recv and ack, windows, frames
// kept until acked and sent again in order when `routes` moves their target, stale generations
// (refusals in depth: runner_refusals.test.js).
import test from 'node:test';
import assert from 'node:assert';
import { startRunner, browserModule, deployCommand } from '../test_support/runner_harness.js';

// Flow: src (here) → sink (on runner cpu-1), and up (on cpu-1) → dbl (here) → unconnected output.
const FLOW = {
  id: 'f',
  modules: [
    browserModule('src', 'module.exports = (msg) => msg.payload;'),
    browserModule('dbl', 'module.exports = (msg) => msg.payload * 2;'),
    { id: 'sink', runtime: 'python3', code: 'def on_message(msg, ctx): pass', inputs: ['in'], outputs: ['out'] },
    { id: 'up', runtime: 'python3', code: 'def on_message(msg, ctx): return msg.payload', inputs: ['in'], outputs: ['out'] },
  ],
  connections: [{ from: 'src.out', to: 'sink.in' }, { from: 'up.out', to: 'dbl.in' }],
};
const ROUTES = [{ module: 'sink', runner: 'cpu-1', session: 16, gen: 1 }, { module: 'up', runner: 'cpu-1', session: 16, gen: 1 }];

async function started(welcome = {}) {
  const h = startRunner();
  await h.welcome(welcome);
  assert.deepStrictEqual(await h.command(deployCommand(FLOW, [{ module: 'src', gen: 1 }, { module: 'dbl', gen: 2 }], ROUTES)), { kind: 'ok' });
  return h;
}

const fromCpu = (firstSeq, recv, ack, session = 18) => ({ from: 'cpu-1', fromSession: 16, to: 'tab-1', toSession: session, firstSeq, recv, ack });

test('a send to a module on another runner goes out as one PF1 batch per read, numbered from 1', async () => {
  const h = await started();
  await h.command({ op: 'inject', flow: 'f', module: 'src', payload: '{"n":1}' });
  await h.command({ op: 'inject', flow: 'f', module: 'src', payload: '"héllo ☃"' });
  const batches = h.socket.batches();
  const frames = batches.flatMap((b) => b.frames);
  assert.deepStrictEqual(frames, [
    { gen: 1, flow: 'f', module: 'sink', port: 'in', payload: '{"n":1}' },
    { gen: 1, flow: 'f', module: 'sink', port: 'in', payload: '"héllo ☃"' },
  ]);
  assert.deepStrictEqual(batches[0].header, { from: 'tab-1', fromSession: 18, to: 'cpu-1', toSession: 16, firstSeq: 1, recv: 0, ack: 0 });
  assert.strictEqual(batches[1].header.firstSeq, 2);
});

test('frames from another runner are processed; recv and ack come back on the next batch (a bare ack)', async () => {
  const h = await started();
  h.socket.receiveBatch(fromCpu(1, 0, 0), [
    { gen: 2, flow: 'f', module: 'dbl', port: 'in', payload: '20' },
    { gen: 2, flow: 'f', module: 'dbl', port: 'in', payload: '21' },
  ]);
  await h.clock.settle();
  assert.deepStrictEqual(h.socket.events('output').map((e) => e.payload), ['40', '42']);
  const acks = h.socket.batches().filter((b) => b.header.to === 'cpu-1');
  const last = acks.at(-1);
  assert.deepStrictEqual(last.frames, []);
  assert.strictEqual(last.header.recv, 2);
  assert.strictEqual(last.header.ack, 2);
  // the output events went out before the batch that acks their cause
  const order = h.socket.sent.map((d) => (typeof d === 'string' ? JSON.parse(d).event?.type : 'batch'));
  assert.ok(order.lastIndexOf('output') < order.lastIndexOf('batch'));
});

test('a frame for a generation that does not run here is refused (listed in the next header back), counted, and acked', async () => {
  const h = await started();
  h.socket.receiveBatch(fromCpu(1, 0, 0), [{ gen: 1, flow: 'f', module: 'dbl', port: 'in', payload: '5' }]);
  await h.clock.settle();
  assert.deepStrictEqual(h.socket.events('output'), []);
  assert.deepStrictEqual(h.socket.batches().at(-1).header.refused, [1]);
  assert.strictEqual(h.socket.batches().at(-1).header.ack, 1);
  assert.strictEqual((await h.command({ op: 'status', flow: 'f' })).flows[0].staleFrames, 1);
});

test('at most `window` frames are unacked per stream; an ack lets the rest go; acked frames are freed', async () => {
  const h = await started({ window: 2 });
  for (const n of [1, 2, 3, 4, 5]) h.runner.hosts.get('f').inject('src', undefined, String(n));
  await h.clock.settle();
  const sent = () => h.socket.batches().flatMap((b) => b.frames.map((f) => f.payload));
  assert.deepStrictEqual(sent(), ['1', '2']);
  h.socket.receiveBatch(fromCpu(1, 2, 1), []);
  await h.clock.settle();
  assert.deepStrictEqual(sent(), ['1', '2', '3']);
  h.socket.receiveBatch(fromCpu(1, 3, 3), []);
  await h.clock.settle();
  assert.deepStrictEqual(sent(), ['1', '2', '3', '4', '5']);
  assert.deepStrictEqual(h.socket.batches().at(-1).header.firstSeq, 4);
});

test('routes moving a target sends its unacked frames again, in order, to the new place first', async () => {
  const h = await started();
  for (const n of [1, 2, 3]) await h.command({ op: 'inject', flow: 'f', module: 'src', payload: String(n) });
  h.socket.receiveBatch(fromCpu(1, 3, 1), []); // frame 1 done, 2 and 3 only arrived
  await h.clock.settle();
  assert.deepStrictEqual(await h.command({ op: 'routes', flow: 'f', routes: [{ module: 'sink', runner: 'cpu-2', session: 21, gen: 2 }, ROUTES[1]] }), { kind: 'ok' });
  await h.command({ op: 'inject', flow: 'f', module: 'src', payload: '4' });
  const toNew = h.socket.batches().filter((b) => b.header.to === 'cpu-2');
  assert.deepStrictEqual(toNew.flatMap((b) => b.frames.map((f) => [f.gen, f.payload])), [[2, '2'], [2, '3'], [2, '4']]);
  assert.strictEqual(toNew[0].header.firstSeq, 1);
  assert.deepStrictEqual((await h.command({ op: 'status', flow: 'f' })).flows[0].redelivered, { sink: 2 });
});

test('a target without a place (unplaced) holds its frames until routes gives one', async () => {
  const h = await started();
  await h.command({ op: 'routes', flow: 'f', routes: [ROUTES[1]] });
  await h.command({ op: 'inject', flow: 'f', module: 'src', payload: '1' });
  assert.deepStrictEqual(h.socket.batches().flatMap((b) => b.frames), []);
  await h.command({ op: 'routes', flow: 'f', routes: ROUTES });
  assert.deepStrictEqual(h.socket.batches().flatMap((b) => b.frames.map((f) => f.payload)), ['1']);
});

test('the ack of a frame waits until what its work sent to another runner has arrived there', async () => {
  // up (cpu-1) → relay (here) → sink (cpu-1)
  const flow = {
    id: 'r',
    modules: [browserModule('relay', 'module.exports = (msg) => msg.payload;'), FLOW.modules[2], FLOW.modules[3]],
    connections: [{ from: 'up.out', to: 'relay.in' }, { from: 'relay.out', to: 'sink.in' }],
  };
  const h = startRunner();
  await h.welcome();
  await h.command(deployCommand(flow, ['relay'], ROUTES));
  h.socket.receiveBatch(fromCpu(1, 0, 0), [{ gen: 1, flow: 'r', module: 'relay', port: 'in', payload: '9' }]);
  await h.clock.settle();
  let last = h.socket.batches().at(-1);
  assert.deepStrictEqual(last.frames.map((f) => f.payload), ['9']);
  assert.deepStrictEqual([last.header.recv, last.header.ack], [1, 0], 'processed, but its send has not arrived');
  h.socket.receiveBatch(fromCpu(2, 1, 0), []); // cpu-1: our frame 1 arrived
  await h.clock.settle();
  last = h.socket.batches().at(-1);
  assert.deepStrictEqual([last.header.recv, last.header.ack], [1, 1]);
});

test('a batch for another session is refused and counted; an unreadable batch is noted', async () => {
  const h = await started();
  h.socket.receiveBatch(fromCpu(1, 0, 0, 99), [{ gen: 2, flow: 'f', module: 'dbl', port: 'in', payload: '1' }]);
  h.socket.onmessage({ data: new TextEncoder().encode('PF9 x').buffer });
  await h.clock.settle();
  assert.deepStrictEqual(h.socket.events('output'), []);
  assert.strictEqual(h.runner.counters.staleFrames, 1);
  assert.match(h.runner.snapshot().lastErrors.at(-1).text, /unsupported-version/);
});

test('release (a live move): the module finishes what is queued, sends its final states, then leaves', async () => {
  const h = await started();
  h.socket.receiveBatch(fromCpu(1, 0, 0), [{ gen: 2, flow: 'f', module: 'dbl', port: 'in', payload: '1' }]);
  await h.clock.settle();
  const reply = await h.command({ op: 'release', modules: [{ flow: 'f', module: 'dbl', gen: 2 }] });
  assert.deepStrictEqual(reply, { kind: 'ok' });
  const states = h.socket.of('states');
  assert.deepStrictEqual(states.at(-1), { t: 'states', flow: 'f', modules: [{ module: 'dbl', gen: 2, state: {} }] });
  const sent = h.socket.sent.map((d) => (typeof d === 'string' ? JSON.parse(d).t : 'batch'));
  assert.ok(sent.lastIndexOf('states') < sent.lastIndexOf('reply'), 'the states come before the reply');
  assert.deepStrictEqual([...h.runner.hosts.get('f').placed.keys()], ['src']);
  h.socket.receiveBatch(fromCpu(2, 0, 0), [{ gen: 2, flow: 'f', module: 'dbl', port: 'in', payload: '2' }]);
  await h.clock.settle();
  assert.deepStrictEqual(h.socket.events('output').map((e) => e.payload), ['2'], 'a frame for a module that left is refused');
  assert.strictEqual(h.runner.hosts.get('f').staleFrames, 1);
});

test('fence stops the modules at once; a flow with none left is gone from this runner', async () => {
  const h = await started();
  assert.deepStrictEqual(await h.command({ op: 'fence', modules: [{ flow: 'f', module: 'dbl', gen: 2 }, { flow: 'f', module: 'src', gen: 1 }] }), { kind: 'ok' });
  assert.strictEqual(h.runner.hosts.size, 0);
  assert.strictEqual((await h.command({ op: 'status', flow: 'f' })).code, 'unknown-flow');
});
