// The flow tables against every case of Tests/Fixtures/vectors/flow-tables.json (the file the
// Swift FlowPlanVectorTests read too): configure-frame modules, slots and routes, and the host's
// route table, for the modules placed on this runner.
import test from 'node:test';
import assert from 'node:assert';
import { buildTables } from '../runner/flow_tables.js';
import { loadVectors } from '../test_support/vectors.js';

const vectors = loadVectors('flow-tables');

/** A routeTable entry in the vectors' form. */
function hostRoute(entry) {
  return { module: entry.module, port: entry.port, slots: entry.local, elsewhere: entry.targets.map((t) => [t.module, t.port]), output: entry.output };
}

test('the flow-table vectors have cases', () => {
  assert.ok(vectors.cases.length >= 10);
});

for (const vector of vectors.cases) {
  test(`flow tables: ${vector.name}`, () => {
    const ids = vector.placed || vector.flow.modules.map((m) => m.id);
    const tables = buildTables(vector.flow, new Map(ids.map((id) => [id, { gen: 1, state: null }])));
    assert.deepStrictEqual(tables.specs, vector.modules);
    assert.deepStrictEqual(tables.slots, vector.slots);
    assert.deepStrictEqual(tables.routes, vector.routes);
    assert.deepStrictEqual(tables.routeTable.map(hostRoute), vector.hostRoutes);
    for (const [slot, [module, port]] of vector.slots.entries()) assert.strictEqual(tables.slotOf(module, port), slot);
  });
}
