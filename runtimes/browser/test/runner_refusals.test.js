// Refusals (the `refused` field of a PF1 header): a runner that gets a frame for a module it does
// not run at that generation lists it in its next header back and only then counts it done; the
// sender takes such frames back (with the later ones of the same module and generation) and sends
// them, in order, to the module's next place. Also hand-overs (`deploy.handedOver`) and the
// `redelivered` count of resends after a reconnect.
import test from 'node:test';
import assert from 'node:assert';
import { startRunner, browserModule, deployCommand } from '../test_support/runner_harness.js';
import { DataStreams } from '../runner/data_streams.js';
import { decodeBatch } from '../protocol/data_batch.js';
import { readMessage } from '../protocol/runner_messages.js';

// Flow: src (here) → sink (on runner cpu-1), and up (on cpu-1) → dbl (here).
const FLOW = {
  id: 'f',
  modules: [
    browserModule('src', 'module.exports = (msg) => msg.payload;'),
    browserModule('dbl', 'module.exports = (msg) => msg.payload * 2;'),
    browserModule('sink', 'module.exports = (msg) => msg.payload;'),
    { id: 'up', runtime: 'python3', code: 'def on_message(msg, ctx): return msg.payload', inputs: ['in'], outputs: ['out'] },
  ],
  connections: [{ from: 'src.out', to: 'sink.in' }, { from: 'up.out', to: 'dbl.in' }],
};
const SINK = { module: 'sink', runner: 'cpu-1', session: 16, gen: 1 };
const UP = { module: 'up', runner: 'cpu-1', session: 16, gen: 1 };
const PLACED = [{ module: 'src', gen: 1 }, { module: 'dbl', gen: 2 }];

async function started(welcome = {}) {
  const h = startRunner();
  await h.welcome(welcome);
  assert.deepStrictEqual(await h.command(deployCommand(FLOW, PLACED, [SINK, UP])), { kind: 'ok' });
  return h;
}

const fromCpu = (firstSeq, recv, ack, refused) => ({
  from: 'cpu-1', fromSession: 16, to: 'tab-1', toSession: 18, firstSeq, recv, ack, ...(refused ? { refused } : {}),
});
const toDbl = (gen, payload) => ({ gen, flow: 'f', module: 'dbl', port: 'in', payload });
const batchesTo = (h, runner) => h.socket.batches().filter((b) => b.header.to === runner);
const sentTo = (h, runner) => batchesTo(h, runner).flatMap((b) => b.frames.map((f) => [f.gen, f.payload]));

async function inject(h, ...payloads) {
  for (const p of payloads) assert.deepStrictEqual(await h.command({ op: 'inject', flow: 'f', module: 'src', payload: p }), { kind: 'ok' });
}

/** Moves the clock on by `ms` with the dispatcher's pings, so the link stays up. */
async function waitConnected(h, ms) {
  for (let t = 0; t < ms; t += 500) {
    await h.clock.advance(Math.min(500, ms - t));
    h.socket.receive({ t: 'ping', n: t });
    await h.clock.settle();
  }
}

// The receiving side.

test('a stream counts a refused frame done only from the header that lists it on', () => {
  const sent = [];
  const streams = new DataStreams({ sendBinary: (bytes) => sent.push(decodeBatch(bytes)) });
  streams.welcomed('tab-1', 18, 8);
  const { frames } = streams.receive({ header: fromCpu(1, 0, 0), frames: [toDbl(1, '1'), toDbl(2, '2')] });
  streams.refuse(frames[0].origin);
  streams.done(frames[1].origin);
  assert.strictEqual(frames[0].origin.peer.ack, 0, 'frame 2 is done, but 1 is refused and not yet listed');
  streams.flush();
  assert.deepStrictEqual(sent.map((b) => b.header), [{ ...fromCpu(1, 0, 0), from: 'tab-1', fromSession: 18, to: 'cpu-1', toSession: 16, recv: 2, ack: 2, refused: [1] }]);
  streams.flush();
  assert.strictEqual(sent.length, 1, 'listed once');
});

test('a frame at a stale generation is listed in the next header back, whose ack is the first to cover it', async () => {
  const h = await started();
  h.socket.receiveBatch(fromCpu(1, 0, 0), [toDbl(1, '5'), toDbl(2, '6')]);
  await h.clock.settle();
  assert.deepStrictEqual(h.socket.events('output').map((e) => e.payload), ['12'], 'the stale one did not run');
  const back = batchesTo(h, 'cpu-1');
  const first = back.findIndex((b) => b.header.ack >= 1);
  assert.ok(first >= 0);
  assert.deepStrictEqual(back[first].header.refused, [1]);
  assert.deepStrictEqual(back.flatMap((b) => b.header.refused || []), [1], 'listed once');
  assert.strictEqual(back.at(-1).header.ack, 2);
  assert.strictEqual((await h.command({ op: 'status', flow: 'f' })).flows[0].staleFrames, 1);
});

test('more than 16 refusals go in several headers of one flush, 16 at most each, the ack following them', async () => {
  const h = await started();
  const stale = Array.from({ length: 40 }, (_, i) => toDbl(1, String(i)));
  h.socket.receiveBatch(fromCpu(1, 0, 0), stale);
  await h.clock.settle();
  const back = batchesTo(h, 'cpu-1');
  assert.deepStrictEqual(back.map((b) => [b.header.refused.length, b.header.refused[0], b.header.ack, b.frames.length]),
    [[16, 1, 16, 0], [16, 17, 32, 0], [8, 33, 40, 0]]);
  assert.ok(back.every((b) => b.header.recv === 40));
});

// The sending side.

test('refused frames come back with the later ones of their module and generation and go, in order, to its next place', async () => {
  const h = await started();
  await inject(h, '1', '2', '3', '4');
  assert.deepStrictEqual(sentTo(h, 'cpu-1'), [[1, '1'], [1, '2'], [1, '3'], [1, '4']]);
  // cpu-1 did 1, refused 2 (so 3 and 4 as well, later); its ack covers 2 and 3: they must not be freed as done
  h.socket.receiveBatch(fromCpu(1, 3, 3, [2]), []);
  await h.clock.settle();
  await inject(h, '5');
  await waitConnected(h, 500);
  assert.deepStrictEqual(sentTo(h, 'cpu-1').length, 4, 'nothing goes again to the place that refused, before 1 s');
  assert.deepStrictEqual(await h.command({ op: 'routes', flow: 'f', routes: [{ ...SINK, runner: 'cpu-2', session: 21, gen: 2 }, UP] }), { kind: 'ok' });
  assert.deepStrictEqual(sentTo(h, 'cpu-2'), [[2, '2'], [2, '3'], [2, '4'], [2, '5']]);
  assert.strictEqual(batchesTo(h, 'cpu-2')[0].header.firstSeq, 1);
  assert.deepStrictEqual((await h.command({ op: 'status', flow: 'f' })).flows[0].redelivered, {}, 'refused frames never ran: no duplicates');
  h.socket.receiveBatch(fromCpu(1, 4, 4, [4]), []); // a late refusal of a frame taken back already: ignored
  await h.clock.settle();
  assert.strictEqual(sentTo(h, 'cpu-2').length, 4);
});

test('refused frames go again to the same place after 1 s when their module has not moved', async () => {
  const h = await started();
  await inject(h, '1', '2');
  h.socket.receiveBatch(fromCpu(1, 2, 2, [1]), []);
  await h.clock.settle();
  await inject(h, '3');
  await waitConnected(h, 900);
  assert.strictEqual(sentTo(h, 'cpu-1').length, 2);
  await waitConnected(h, 500);
  assert.deepStrictEqual(sentTo(h, 'cpu-1'), [[1, '1'], [1, '2'], [1, '1'], [1, '2'], [1, '3']]);
  assert.deepStrictEqual(batchesTo(h, 'cpu-1').at(-1).header.firstSeq, 3);
});

test('frames refused by a runner a module left for this one run here', async () => {
  const h = await started();
  await inject(h, '7', '8');
  // sink moves here (generation 2)
  const placed = [...PLACED, { module: 'sink', gen: 2 }];
  assert.deepStrictEqual(await h.command(deployCommand(FLOW, placed, [UP])), { kind: 'ok' });
  h.socket.receiveBatch(fromCpu(1, 2, 2, [1]), []);
  await h.clock.settle();
  assert.deepStrictEqual(h.socket.events('output').filter((e) => e.module === 'sink').map((e) => e.payload), ['7', '8']);
  assert.strictEqual(sentTo(h, 'cpu-1').length, 2);
});

// Redelivery counts.

test('frames sent before a reconnect and sent again after it count as redelivered; frames never sent do not', async () => {
  const h = await started({ window: 2 });
  await inject(h, '1', '2', '3');
  assert.deepStrictEqual(sentTo(h, 'cpu-1'), [[1, '1'], [1, '2']], 'the third waits for room in the window');
  h.socket.drop();
  await h.clock.advance(250);
  await h.welcome({ session: 19, window: 2 });
  const again = batchesTo(h, 'cpu-1').filter((b) => b.header.fromSession === 19);
  assert.deepStrictEqual(again.flatMap((b) => b.frames.map((f) => f.payload)), ['1', '2']);
  assert.strictEqual(again[0].header.firstSeq, 1, 'a new connection: streams start afresh');
  h.socket.receiveBatch({ ...fromCpu(1, 2, 2), toSession: 19 }, []);
  await h.clock.settle();
  assert.deepStrictEqual(sentTo(h, 'cpu-1').at(-1), [1, '3']);
  assert.deepStrictEqual((await h.command({ op: 'status', flow: 'f' })).flows[0].redelivered, { sink: 2 });
});

test('a frame routed but not yet written into a batch when the connection is renewed is no redelivery', () => {
  const sent = [];
  const streams = new DataStreams({ sendBinary: (bytes) => sent.push(decodeBatch(bytes)) });
  streams.welcomed('tab-1', 18, 8);
  streams.setRoute('f', 'sink', { runner: 'cpu-1', session: 16, gen: 1 });
  streams.send('f', 'sink', 'in', '1');
  streams.welcomed('tab-1', 19, 8); // before any flush: frame 1 never left
  streams.flush();
  assert.deepStrictEqual(sent.flatMap((b) => b.frames.map((f) => f.payload)), ['1']);
  assert.deepStrictEqual(streams.redeliveredFor('f'), {});
});

// Hand-overs.

test('a deploy may carry handedOver, a list of module ids', () => {
  const deploy = (handedOver) => JSON.stringify({ t: 'command', id: 1, command: { op: 'deploy', deploy: { flow: { id: 'f' }, placed: [], handedOver } } });
  assert.deepStrictEqual(readMessage(deploy(['sink']), 'dispatcher').command.deploy.handedOver, ['sink']);
  assert.throws(() => readMessage(deploy('sink'), 'dispatcher'), { code: 'bad-field' });
});

test('a module handed over: what its old place holds is acked or refused there, and what follows waits for that', async () => {
  const h = await started();
  await inject(h, '1', '2', '3');
  h.socket.receiveBatch(fromCpu(1, 3, 1), []); // 1 done at cpu-1; 2 and 3 queued there
  await h.clock.settle();
  const moved = { ...SINK, runner: 'cpu-2', session: 21, gen: 2 };
  assert.deepStrictEqual(await h.command(deployCommand(FLOW, PLACED, [moved, UP], { handedOver: ['sink'] })), { kind: 'ok' });
  await inject(h, '4');
  assert.deepStrictEqual(sentTo(h, 'cpu-2'), [], 'its old place still holds 2 and 3');
  h.socket.receiveBatch(fromCpu(1, 3, 2), []); // cpu-1 finished 2 before it let sink go
  await h.clock.settle();
  assert.deepStrictEqual(sentTo(h, 'cpu-2'), []);
  h.socket.receiveBatch(fromCpu(1, 3, 3, [3]), []); // ... and refused 3, which came after
  await h.clock.settle();
  assert.deepStrictEqual(sentTo(h, 'cpu-2'), [[2, '3'], [2, '4']]);
  assert.deepStrictEqual((await h.command({ op: 'status', flow: 'f' })).flows[0].redelivered, {});
});

test('a module handed over whose old place settles nothing within 5 s: what it held goes again, counted', async () => {
  const h = await started();
  await inject(h, '1', '2');
  const moved = { ...SINK, runner: 'cpu-2', session: 21, gen: 2 };
  assert.deepStrictEqual(await h.command(deployCommand(FLOW, PLACED, [moved, UP], { handedOver: ['sink'] })), { kind: 'ok' });
  await inject(h, '3');
  await waitConnected(h, 4500);
  assert.deepStrictEqual(sentTo(h, 'cpu-2'), []);
  await waitConnected(h, 1000);
  assert.deepStrictEqual(sentTo(h, 'cpu-2'), [[2, '1'], [2, '2'], [2, '3']]);
  assert.deepStrictEqual((await h.command({ op: 'status', flow: 'f' })).flows[0].redelivered, { sink: 2 });
});
