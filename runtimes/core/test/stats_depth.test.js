// A state nested past what the dispatcher takes (512 levels, docs/security.md "Deep JSON") is
// left out of stats and commits, as one JSON cannot carry, so that it never costs a runner its connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_STATE_DEPTH, nestsDeeper, encodeCommit } from '../stats.js';

const nested = (n) => '['.repeat(n) + '1' + ']'.repeat(n);

test('nesting is counted outside strings only', () => {
  assert.equal(MAX_STATE_DEPTH, 512);
  assert.equal(nestsDeeper(nested(512), 512), false);
  assert.equal(nestsDeeper(nested(513), 512), true);
  assert.equal(nestsDeeper(JSON.stringify(['['.repeat(600)]), 512), false);
  assert.equal(nestsDeeper(JSON.stringify(['\\', '"[[[']), 1), false);
  assert.equal(nestsDeeper('{"a":{"b":[1]}}', 2), true);
});

test('a commit leaves a too deep state out and says why, once', () => {
  let v = 1;
  for (let i = 0; i < 600; i++) v = [v];
  const module = { id: 'd', received: 1, sent: 0, errors: 0, unsaved: true, badState: false, ctx: { state: { v } } };
  const told = [];
  const [frame] = encodeCommit([module], false, 1 << 20, (m, reason) => told.push(`${m.id}: ${reason}`));
  assert.equal(frame, '{"t":"commit","modules":{"d":{"in":1,"out":0,"errors":0}}}\n');
  assert.deepEqual(told, ['d: it nests deeper than 512 levels: flatten it']);
  module.ctx.state = { v: 1 };
  module.unsaved = true;
  const [again] = encodeCommit([module], false, 1 << 20, () => assert.fail('a fine state is told about'));
  assert.match(again, /"state":\{"v":1\}/);
});
