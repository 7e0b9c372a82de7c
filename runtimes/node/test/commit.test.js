// Commits (docs/protocol.md, "Commits"): every ack follows a `commit` frame whose states and
// counters hold exactly the work of the frames the ack covers, so a crash never rolls a module's
// state back or forward.
import test from 'node:test';
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { AckTracker } from '../../core/ack_tracker.js';
import { createHarness, moduleSpec } from '../test_support/runtime_harness.js';

const VECTORS_PATH = path.join(import.meta.dirname, '..', '..', '..', 'Tests', 'Fixtures', 'protocol-vectors.json');
const COUNT = 'module.exports = (msg, ctx) => { ctx.state.n = (ctx.state.n || 0) + 1; return msg.payload; };';

async function configured(modules, routes) {
  const h = createHarness();
  h.sendConfigure({
    modules,
    slots: modules.map((m) => [m.id, 'in']),
    routes: routes || modules.map((m, i) => ({ module: m.id, port: 'out', local: [], remote: i })),
  });
  await h.waitFor('configured');
  return h;
}

/** Checks that the frame before every ack is a commit, and returns [ack, commit] pairs. */
function ackedCommits(frames) {
  const pairs = [];
  frames.forEach((frame, i) => {
    if (frame.t !== 'A') return;
    const before = frames[i - 1];
    assert.strictEqual(before && before.t, 'commit', `A${frame.count} follows ${JSON.stringify(before)}, not a commit`);
    pairs.push([frame.count, before.modules]);
  });
  return pairs;
}

test('every ack follows a commit with the state of exactly the frames it covers', async () => {
  const h = await configured([moduleSpec('count', COUNT)]);
  for (let i = 0; i < 50; i++) h.send(`D0 ${i}\n`);
  await h.waitForAck(50);
  const pairs = ackedCommits(h.output.frames);
  assert.ok(pairs.length > 0);
  for (const [count, modules] of pairs) {
    assert.deepStrictEqual([modules.count.state.n, modules.count.in], [count, count]);
  }
});

test('with async handlers too, the committed state matches the ack', async () => {
  const slow = 'module.exports = async (msg, ctx) => { await new Promise((r) => setTimeout(r, 1)); ctx.state.n = (ctx.state.n || 0) + 1; };';
  const h = await configured([moduleSpec('slow', slow), moduleSpec('fast', COUNT)]);
  for (let i = 0; i < 20; i++) h.send(`D0 ${i}\nD1 ${i}\n`);
  await h.waitForAck(40);
  let slowDone = 0;
  let fastDone = 0;
  for (const [count, modules] of ackedCommits(h.output.frames)) {
    if (modules.slow) slowDone = modules.slow.state.n;
    if (modules.fast) fastDone = modules.fast.state.n;
    // Frames alternate slow, fast: an ack of `count` covers ceil(count/2) for slow, floor(count/2) for fast.
    assert.deepStrictEqual([slowDone, fastDone], [Math.ceil(count / 2), Math.floor(count / 2)], `at A${count}`);
  }
});

test('no ack while a root after the finished ones has begun', () => {
  const acks = new AckTracker();
  const r1 = acks.open();
  const r2 = acks.open();
  acks.started = r2; // a handler began root 2 (its work is in some state now)
  acks.done(r1);
  assert.deepStrictEqual([acks.acked, acks.committable], [1, -1]);
  acks.done(r2);
  assert.strictEqual(acks.committable, 2);
  acks.add(0); // init sent a local message that is not handled yet
  assert.strictEqual(acks.committable, -1);
  acks.done(0);
  assert.strictEqual(acks.committable, 2);
});

test('a commit has only the modules that changed; a state JSON cannot encode is left out and logged once', async () => {
  const h = await configured([moduleSpec('count', COUNT), moduleSpec('idle', COUNT),
    moduleSpec('weird', 'module.exports = (msg, ctx) => { ctx.state = { big: 1n }; };')]);
  h.send('D0 1\n');
  await h.waitForAck(1);
  const first = ackedCommits(h.output.frames)[0][1];
  assert.deepStrictEqual(Object.keys(first).sort(), ['count', 'idle', 'weird'], 'after configure every module counts as changed');
  for (let i = 2; i <= 4; i++) {
    h.send('D2 null\n');
    await h.waitForAck(i);
  }
  const later = ackedCommits(h.output.frames).slice(1).map(([, modules]) => modules);
  assert.deepStrictEqual(later.map((m) => Object.keys(m)), [['weird'], ['weird'], ['weird']]);
  assert.deepStrictEqual(later.map((m) => m.weird), [1, 2, 3].map((n) => ({ in: n, out: 0, errors: 0 })));
  const logs = h.output.all('log').filter((l) => / of commit: /.test(l.text));
  assert.strictEqual(logs.length, 1, JSON.stringify(logs));
});

test('the commit frame of the shared vectors is what this runtime writes', async () => {
  const vectors = JSON.parse(fs.readFileSync(VECTORS_PATH, 'utf8')).commits;
  const vector = vectors.find((c) => c.name === 'a counting module after two messages');
  const count = 'module.exports = (msg, ctx) => { ctx.state.n = (ctx.state.n || 0) + 1; ctx.send("out", msg.payload); };';
  const h = await configured([moduleSpec('count', count)]);
  h.send('D0 "a"\nD0 "b"\n');
  await h.waitForAck(2);
  const pairs = ackedCommits(h.output.frames);
  assert.deepStrictEqual(pairs[pairs.length - 1][1], JSON.parse(vector.input.split('\n')[0]).modules);
});
