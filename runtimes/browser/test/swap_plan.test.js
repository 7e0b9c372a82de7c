// The swap plan of browser modules, without a runtime.
import test from 'node:test';
import assert from 'node:assert';
import { planSwap } from '../runner/swap_plan.js';
import { buildTables } from '../runner/flow_tables.js';

const mod = (id, code, extra = {}) => ({ id, runtime: 'browser', code, ...extra });
const placedOf = (entries) => new Map(entries.map(([id, state = null]) => [id, { gen: 1, state }]));

test('changed, added (moved here with its state), removed; the swap frame specs say init and swap', () => {
  const v1 = { id: 'f', modules: [mod('a', 'A1'), mod('b', 'B'), mod('gone', 'G')], connections: [{ from: 'a.out', to: 'b.in' }] };
  const v2 = { id: 'f', modules: [mod('a', 'A2'), mod('b', 'B'), mod('new', 'N'), mod('moved', 'M')], connections: [{ from: 'a.out', to: 'b.in' }] };
  const before = buildTables(v1, placedOf([['a'], ['b'], ['gone']]));
  const placed = placedOf([['a'], ['b'], ['new'], ['moved', { n: 3 }]]);
  const plan = planSwap(before, buildTables(v2, placed), placed);
  assert.deepStrictEqual([plan.changed, plan.added, plan.removed], [['a'], ['new', 'moved'], ['gone']]);
  assert.deepStrictEqual(plan.loaded.map((s) => [s.id, s.state, s.init, s.swap]), [
    ['a', null, false, true], ['new', null, true, false], ['moved', { n: 3 }, false, true],
  ]);
  assert.strictEqual(plan.nothing, false);
});

test('the same modules and tables: nothing to swap; a new connection is a swap of tables only', () => {
  const v1 = { id: 'f', modules: [mod('a', 'A'), mod('b', 'B')], connections: [] };
  const placed = placedOf([['a'], ['b']]);
  const before = buildTables(v1, placed);
  assert.strictEqual(planSwap(before, buildTables(v1, placed), placed).nothing, true);
  const v2 = { ...v1, connections: [{ from: 'a.out', to: 'b.in' }] };
  const plan = planSwap(before, buildTables(v2, placed), placed);
  assert.strictEqual(plan.nothing, false);
  assert.deepStrictEqual(plan.loaded, []);
});
