// `markStep`, the first half of a step of a flow spread over runners (docs/debugging.md, "Across
// runners"): the next step runs only the messages held at the mark; what arrives in between (what
// another runner's step sent here) waits for the step after. Without a mark, a step is as before.
import test from 'node:test';
import assert from 'node:assert';
import { startRunner, browserModule, deployCommand } from '../test_support/runner_harness.js';
import { readMessage } from '../protocol/runner_messages.js';

// b (here) → c (here); up (on runner cpu-1) → c.
const FLOW = {
  id: 'f',
  modules: [
    browserModule('b', 'module.exports = (msg) => msg.payload * 10;'),
    browserModule('c', 'module.exports = (msg, ctx) => { ctx.state.got = [...(ctx.state.got || []), msg.payload]; };'),
    { id: 'up', runtime: 'python3', code: 'def on_message(msg, ctx): return msg.payload', inputs: ['in'], outputs: ['out'] },
  ],
  connections: [{ from: 'b.out', to: 'c.in' }, { from: 'up.out', to: 'c.in' }],
};
const ROUTES = [{ module: 'up', runner: 'cpu-1', session: 16, gen: 1 }];

/** Deployed, with a breakpoint at b and 1 held there (the flow paused). */
async function pausedAtB() {
  const h = startRunner();
  await h.welcome();
  assert.deepStrictEqual(await h.command(deployCommand(FLOW, ['b', 'c'], ROUTES)), { kind: 'ok' });
  await h.command({ op: 'setBreakpoint', flow: 'f', breakpoint: { module: 'b' } });
  await h.command({ op: 'inject', flow: 'f', module: 'b', payload: '1' });
  assert.strictEqual(h.runner.hosts.get('f').state, 'paused');
  return h;
}

/** A frame from runner cpu-1 for c, as another runner's step sends it (numbered on from 1). */
async function frameFromUp(h, payload) {
  h.upSeq = (h.upSeq || 0) + 1;
  h.socket.receiveBatch({ from: 'cpu-1', fromSession: 16, to: 'tab-1', toSession: 18, firstSeq: h.upSeq, recv: 0, ack: 0 },
    [{ gen: 1, flow: 'f', module: 'c', port: 'in', payload }]);
  await h.clock.settle();
}

const ran = (step) => Object.fromEntries(Object.entries(step.result).map(([k, r]) => [k, r.inputStates.in]));

test('after markStep a step runs what was held at the mark; what arrived after it waits for the next step', async () => {
  const h = await pausedAtB();
  assert.deepStrictEqual(await h.command({ op: 'markStep', flow: 'f' }), { kind: 'ok' });
  await frameFromUp(h, '7'); // c's queue was empty at the mark
  const first = await h.command({ op: 'step', flow: 'f' });
  assert.deepStrictEqual(ran(first), { 'f/b': 1 }, 'b ran its message held at the mark; c did not run 7');
  assert.deepStrictEqual(first.result['f/b'].outputStates, { out: [10] });
  const held = (await h.command({ op: 'status', flow: 'f' })).flows[0].modules.find((m) => m.id === 'c');
  assert.deepStrictEqual(held.queuedPayloads, [7, 10], 'the frame, then what b sent: both held at c');
  // No mark: every module with a message waiting runs its oldest one, as before.
  assert.deepStrictEqual(ran(await h.command({ op: 'step', flow: 'f' })), { 'f/c': 7 });
  const third = await h.command({ op: 'step', flow: 'f' });
  assert.deepStrictEqual(ran(third), { 'f/c': 10 });
  assert.deepStrictEqual(third.result['f/c'].state, { got: [7, 10] });
});

test('a step without a mark runs a message that arrived just before it', async () => {
  const h = await pausedAtB();
  await frameFromUp(h, '7');
  assert.deepStrictEqual(ran(await h.command({ op: 'step', flow: 'f' })), { 'f/b': 1, 'f/c': 7 });
});

test('the mark is for one step; resume drops it; markStep of a running flow pauses it first', async () => {
  const h = await pausedAtB();
  await h.command({ op: 'markStep', flow: 'f' });
  await h.command({ op: 'resume', flow: 'f' }); // b's 1 passes its breakpoint, c runs 10
  await h.command({ op: 'pause', flow: 'f' });
  await frameFromUp(h, '7');
  assert.deepStrictEqual(ran(await h.command({ op: 'step', flow: 'f' })), { 'f/c': 7 }, 'a mark followed by resume limits no later step');
  await h.command({ op: 'resume', flow: 'f' });
  assert.strictEqual(h.runner.hosts.get('f').state, 'running');
  assert.deepStrictEqual(await h.command({ op: 'markStep', flow: 'f' }), { kind: 'ok' });
  assert.strictEqual(h.runner.hosts.get('f').state, 'paused');
  await frameFromUp(h, '8');
  assert.deepStrictEqual(await h.command({ op: 'step', flow: 'f' }), { kind: 'step', result: {} }, 'nothing waited at the mark');
  assert.deepStrictEqual(ran(await h.command({ op: 'step', flow: 'f' })), { 'f/c': 8 }, 'the mark was used up');
});

test('markStep without a flow marks every paused flow', async () => {
  const h = await pausedAtB();
  assert.deepStrictEqual(await h.command({ op: 'markStep' }), { kind: 'ok' });
  await frameFromUp(h, '7');
  assert.deepStrictEqual(ran(await h.command({ op: 'step' })), { 'f/b': 1 });
});

test('markStep on an unknown flow fails with unknown-flow', async () => {
  const h = await pausedAtB();
  const reply = await h.command({ op: 'markStep', flow: 'zz' });
  assert.strictEqual(reply.kind, 'failure');
  assert.strictEqual(reply.code, 'unknown-flow');
});

test('the schema reads markStep with and without a flow, and refuses a flow that is not a string', () => {
  assert.deepStrictEqual(readMessage('{"t":"command","id":1,"command":{"op":"markStep","flow":"f"}}', 'dispatcher').command, { op: 'markStep', flow: 'f' });
  assert.deepStrictEqual(readMessage('{"t":"command","id":2,"command":{"op":"markStep"}}', 'dispatcher').command, { op: 'markStep' });
  assert.throws(() => readMessage('{"t":"command","id":3,"command":{"op":"markStep","flow":3}}', 'dispatcher'), { code: 'bad-field' });
});
