import test from 'node:test';
import assert from 'node:assert';
import { AckTracker } from '../ack_tracker.js';

test('acks are cumulative: a finished root waits for the roots before it', () => {
  const acks = new AckTracker();
  const r1 = acks.open();
  const r2 = acks.open();
  const r3 = acks.open();
  assert.deepStrictEqual([r1, r2, r3], [1, 2, 3]);
  acks.done(r2);
  acks.done(r3);
  assert.strictEqual(acks.acked, 0);
  acks.done(r1);
  assert.strictEqual(acks.acked, 3);
  assert.ok(acks.idle);
});

test('a root with local descendants is finished when the last of them is', () => {
  const acks = new AckTracker();
  const root = acks.open();
  acks.add(root); // the handler sent two local messages
  acks.add(root);
  acks.done(root); // the first message is processed
  acks.done(root);
  assert.strictEqual(acks.acked, 0);
  acks.done(root);
  assert.strictEqual(acks.acked, 1);
});

test('root 0 (work from init or timers) is not tracked', () => {
  const acks = new AckTracker();
  acks.add(0);
  acks.done(0);
  assert.strictEqual(acks.acked, 0);
  assert.ok(acks.idle);
});

test('many roots pass through without growing without bound', () => {
  const acks = new AckTracker();
  for (let i = 0; i < 100000; i++) acks.done(acks.open());
  assert.strictEqual(acks.acked, 100000);
  assert.strictEqual(acks.pending.length, 0);
  assert.ok(acks.pending.items.length <= 16);
});
