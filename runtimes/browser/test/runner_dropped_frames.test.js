// Frames from another runner that this runner drops before they are done (queued at the gate,
// held by the debugger, in the instance) must still be settled on their stream, or its cumulative
// ack stops below them for good and the sender keeps every later frame: after `remove` (the flow
// is gone everywhere) they are done, the ack moves on; after `fence` (a newer generation runs
// elsewhere) they are refused, so their sender sends them to the module's new place.
import test from 'node:test';
import assert from 'node:assert';
import { startRunner, browserModule, deployCommand } from '../test_support/runner_harness.js';

// Flow: up (on cpu-1) → dbl (here, a handler that never returns), and src (here) alone.
const FLOW = {
  id: 'f',
  modules: [
    browserModule('src', 'module.exports = (msg) => msg.payload;'),
    browserModule('dbl', 'module.exports = () => new Promise(() => {});'),
    { id: 'up', runtime: 'python3', code: 'def on_message(msg, ctx): return msg.payload', inputs: ['in'], outputs: ['out'] },
  ],
  connections: [{ from: 'up.out', to: 'dbl.in' }],
};
const UP = { module: 'up', runner: 'cpu-1', session: 16, gen: 1 };

/** A runner with `window` 2: two frames for dbl go into the instance (it never finishes them), the rest wait at the gate. */
async function started() {
  const h = startRunner();
  await h.welcome({ window: 2 });
  assert.deepStrictEqual(await h.command(deployCommand(FLOW, [{ module: 'src', gen: 1 }, { module: 'dbl', gen: 2 }], [UP])), { kind: 'ok' });
  return h;
}

const fromCpu = (firstSeq) => ({ from: 'cpu-1', fromSession: 16, to: 'tab-1', toSession: 18, firstSeq, recv: 0, ack: 0 });
const toDbl = (payload) => ({ gen: 2, flow: 'f', module: 'dbl', port: 'in', payload });
const headersTo = (h, runner) => h.socket.batches().filter((b) => b.header.to === runner).map((b) => b.header);

/** Frames 1 to 4 for dbl: 1 and 2 in the instance, 3 and 4 at the gate; then, paused, 5 and 6 held by the debugger. */
async function withFramesDropped(h) {
  h.socket.receiveBatch(fromCpu(1), ['1', '2', '3', '4'].map(toDbl));
  await h.clock.settle();
  assert.deepStrictEqual(await h.command({ op: 'pause', flow: 'f' }), { kind: 'ok' });
  h.socket.receiveBatch(fromCpu(5), ['5', '6'].map(toDbl));
  await h.clock.settle();
  const host = h.runner.hosts.get('f');
  assert.deepStrictEqual([host.inFlight.length, host.queue.length, host.debugger.held.length], [2, 2, 2]);
  const last = headersTo(h, 'cpu-1').at(-1);
  assert.deepStrictEqual([last.recv, last.ack], [6, 0], 'all arrived, none done');
  return headersTo(h, 'cpu-1').length;
}

test('after `remove`, the frames the flow dropped count as done: the next header back acks them', async () => {
  const h = await started();
  const before = await withFramesDropped(h);
  assert.deepStrictEqual(await h.command({ op: 'remove', flow: 'f' }), { kind: 'ok' });
  const after = headersTo(h, 'cpu-1').slice(before);
  assert.strictEqual(after.length, 1);
  assert.deepStrictEqual(after[0], { ...fromCpu(1), from: 'tab-1', fromSession: 18, to: 'cpu-1', toSession: 16, recv: 6, ack: 6 },
    'acked, none refused: the flow is gone everywhere, its sender drops them too');
});

test('after `fence` of a module, the frames held for it are listed in `refused` of the next header back', async () => {
  const h = await started();
  assert.deepStrictEqual(await h.command({ op: 'pause', flow: 'f' }), { kind: 'ok' });
  h.socket.receiveBatch(fromCpu(1), ['1', '2'].map(toDbl));
  await h.clock.settle();
  assert.strictEqual(h.runner.hosts.get('f').debugger.held.length, 2);
  const before = headersTo(h, 'cpu-1').length;
  assert.deepStrictEqual(await h.command({ op: 'fence', modules: [{ flow: 'f', module: 'dbl', gen: 2 }] }), { kind: 'ok' });
  assert.deepStrictEqual([...h.runner.hosts.get('f').placed.keys()], ['src'], 'the flow goes on without dbl');
  const after = headersTo(h, 'cpu-1').slice(before);
  assert.strictEqual(after.length, 1);
  assert.deepStrictEqual(after[0].refused, [1, 2], 'refused, so that their sender sends them to the module\'s new place');
  assert.deepStrictEqual([after[0].recv, after[0].ack], [2, 2], 'the ack covers them only in the header that lists them');
});

test('after `fence` of every module, the frames queued, held and in the instance are refused, none counted done before', async () => {
  const h = await started();
  const before = await withFramesDropped(h);
  assert.deepStrictEqual(await h.command({ op: 'fence', modules: [{ flow: 'f', module: 'dbl', gen: 2 }, { flow: 'f', module: 'src', gen: 1 }] }), { kind: 'ok' });
  assert.strictEqual(h.runner.hosts.get('f'), undefined);
  const after = headersTo(h, 'cpu-1').slice(before);
  assert.strictEqual(after.length, 1);
  assert.deepStrictEqual(after[0].refused, [1, 2, 3, 4, 5, 6], 'increasing, as a header lists them');
  assert.deepStrictEqual([after[0].recv, after[0].ack], [6, 6], 'the ack covers them only in the header that lists them');
});
