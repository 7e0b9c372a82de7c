// Breakpoint conditions against every case of Tests/Fixtures/vectors/break-conditions.json (the
// file the Swift BreakConditionVectorTests read too): the same problems, word for word, and the
// same matches.
import test from 'node:test';
import assert from 'node:assert';
import { conditionProblem, matches } from '../runner/break_condition.js';
import { loadVectors } from '../test_support/vectors.js';

const vectors = loadVectors('break-conditions');

test('the break-condition vectors have valid and invalid cases', () => {
  assert.ok(vectors.valid.length >= 10 && vectors.invalid.length >= 10);
});

for (const vector of vectors.valid) {
  test(`valid condition matches as the vectors say: ${vector.name}`, () => {
    assert.strictEqual(conditionProblem(vector.condition), null);
    const payloads = vector.payloads || [{ payload: vectors.payload, matches: vector.matches }];
    for (const { payload, matches: expected } of payloads) {
      assert.strictEqual(matches(vector.condition, payload), expected, JSON.stringify(payload));
    }
  });
}

for (const vector of vectors.invalid) {
  test(`invalid condition names the field and the fix: ${vector.name}`, () => {
    assert.strictEqual(conditionProblem(vector.condition), vector.problem);
  });
}
