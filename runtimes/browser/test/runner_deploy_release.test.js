// A deploy that takes modules off this tab (a live move, docs/runner-protocol.md "Moves"): what is
// queued for them runs first, then the reply is `released` with their states; later frames for
// them are refused, to go to their new place. A deploy that takes nothing off replies `ok`.
import test from 'node:test';
import assert from 'node:assert';
import { startRunner, browserModule, deployCommand } from '../test_support/runner_harness.js';

// Flow: up (on cpu-1) → acc (here, async: its messages stay in the tab until the promise settles) → total (here).
const FLOW = {
  id: 'f',
  modules: [
    browserModule('acc', 'module.exports = async (msg, ctx) => { await null; ctx.state.sum = (ctx.state.sum || 0) + msg.payload; return ctx.state.sum; };'),
    browserModule('total', 'module.exports = (msg, ctx) => { ctx.state.last = msg.payload; };'),
    { id: 'up', runtime: 'python3', code: 'def on_message(msg, ctx): return msg.payload', inputs: ['in'], outputs: ['out'] },
  ],
  connections: [{ from: 'up.out', to: 'acc.in' }, { from: 'acc.out', to: 'total.in' }],
};
const UP = { module: 'up', runner: 'cpu-1', session: 16, gen: 1 };
const PLACED = [{ module: 'acc', gen: 2 }, { module: 'total', gen: 1 }];

async function started() {
  const h = startRunner();
  await h.welcome();
  assert.deepStrictEqual(await h.command(deployCommand(FLOW, PLACED, [UP])), { kind: 'ok' });
  return h;
}

const fromCpu = (firstSeq) => ({ from: 'cpu-1', fromSession: 16, to: 'tab-1', toSession: 18, firstSeq, recv: 0, ack: 0 });
const toAcc = (payload) => ({ gen: 2, flow: 'f', module: 'acc', port: 'in', payload });

test('a deploy that takes a module off runs what is queued for it, then replies released with its state', async () => {
  const h = await started();
  h.socket.receiveBatch(fromCpu(1), [toAcc('1'), toAcc('2'), toAcc('3')]);
  const host = h.runner.hosts.get('f');
  assert.ok(host.queue.length + host.inFlight.length > 0, 'the frames are not processed yet');
  const moved = deployCommand(FLOW, [{ module: 'total', gen: 1 }], [UP]);
  const reply = await h.command(moved);
  assert.deepStrictEqual(reply, { kind: 'released', states: [{ module: 'acc', state: { sum: 6 } }] });
  assert.deepStrictEqual([...host.placed.keys()], ['total']);
  assert.strictEqual(host.staleFrames, 0);
  // A frame for it after that is refused (its sender sends it to the new place).
  h.socket.receiveBatch(fromCpu(4), [toAcc('4')]);
  await h.clock.settle();
  assert.strictEqual(host.staleFrames, 1);
  const back = h.socket.batches().filter((b) => b.header.to === 'cpu-1').at(-1);
  assert.deepStrictEqual(back.header.refused, [4]);
});

test('placed: [] releases every module of the flow that ran here', async () => {
  const h = await started();
  h.socket.receiveBatch(fromCpu(1), [toAcc('5'), toAcc('7')]);
  const reply = await h.command(deployCommand(FLOW, [], [UP]));
  assert.deepStrictEqual(reply, {
    kind: 'released',
    states: [{ module: 'acc', state: { sum: 12 } }, { module: 'total', state: { last: 12 } }],
  });
  assert.strictEqual(h.runner.hosts.get('f').placed.size, 0);
});

test('a deploy that takes nothing off replies ok', async () => {
  const h = await started();
  h.socket.receiveBatch(fromCpu(1), [toAcc('1')]);
  assert.deepStrictEqual(await h.command(deployCommand(FLOW, PLACED, [UP])), { kind: 'ok' });
  const changed = { ...FLOW, modules: FLOW.modules.map((m) => (m.id === 'total' ? { ...m, code: 'module.exports = () => {};' } : m)) };
  assert.deepStrictEqual(await h.command(deployCommand(changed, PLACED, [UP])), { kind: 'ok' });
  // A module removed from the flow everywhere did not move: nothing is released.
  const smaller = { ...FLOW, modules: FLOW.modules.filter((m) => m.id !== 'total'), connections: [FLOW.connections[0]] };
  assert.deepStrictEqual(await h.command(deployCommand(smaller, [{ module: 'acc', gen: 2 }], [UP])), { kind: 'ok' });
});
