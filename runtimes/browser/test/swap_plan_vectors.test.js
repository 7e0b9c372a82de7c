// The swap plan against every case of Tests/Fixtures/vectors/swap-plan.json (the file the Swift
// SwapPlanVectorTests read too): changed, added, removed, whether a swap is needed, and the frame.
import test from 'node:test';
import assert from 'node:assert';
import { planSwap } from '../runner/swap_plan.js';
import { buildTables } from '../runner/flow_tables.js';
import { loadVectors } from '../test_support/vectors.js';

const vectors = loadVectors('swap-plan');

/** placed as runner.js gives it to a flow host: module -> { gen, state } (null: no state with it). */
function placedOf(flow, ids, arriving = {}) {
  const chosen = ids || flow.modules.map((m) => m.id);
  return new Map(chosen.map((id) => [id, { gen: 1, state: id in arriving ? arriving[id] : null }]));
}

test('the swap-plan vectors have cases', () => {
  assert.ok(vectors.cases.length >= 10);
});

for (const vector of vectors.cases) {
  test(`swap plan: ${vector.name}`, () => {
    const before = buildTables(vector.old, placedOf(vector.old, vector.oldPlaced));
    const placed = placedOf(vector.new, vector.placed, vector.arriving);
    const tables = buildTables(vector.new, placed);
    const plan = planSwap(before, tables, placed);
    assert.deepStrictEqual({ changed: plan.changed, added: plan.added, removed: plan.removed, nothing: plan.nothing },
      { changed: vector.changed, added: vector.added, removed: vector.removed, nothing: vector.nothing });
    if (vector.swap !== undefined) {
      // The frame flow_host.js sends: { t: 'swap', modules: loaded, remove: removed, slots, routes }.
      assert.deepStrictEqual({ modules: plan.loaded, remove: plan.removed, slots: tables.slots, routes: tables.routes }, vector.swap);
    }
  });
}
