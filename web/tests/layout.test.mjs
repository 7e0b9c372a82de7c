// The graph layout alone (node --test web/tests/): layers, cycles, crossings, size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { layout } from "../js/layout.js";

const e = (pairs) => pairs.map(([from, to]) => ({ from, to }));

test("a chain goes left to right, one layer per module", () => {
  const r = layout(["a", "b", "c"], e([["a", "b"], ["b", "c"]]));
  assert.deepEqual(["a", "b", "c"].map((id) => r.nodes.get(id).layer), [0, 1, 2]);
  assert.ok(r.nodes.get("a").x < r.nodes.get("b").x);
});

test("a cycle is laid out, with its closing edge marked as going back", () => {
  const r = layout(["a", "b", "c"], e([["a", "b"], ["b", "c"], ["c", "a"], ["b", "b"]]));
  assert.equal(r.edges.length, 4);
  assert.equal(r.edges.filter((x) => x.back).length, 1);
  assert.equal(r.edges.filter((x) => x.loop).length, 1);
  for (const x of r.edges) for (const p of x.points) assert.ok(Number.isFinite(p.x) && Number.isFinite(p.y));
});

test("a long edge goes around through a point per layer it spans", () => {
  const r = layout(["a", "b", "c", "d"], e([["a", "b"], ["b", "c"], ["c", "d"], ["a", "d"]]));
  assert.equal(r.edges[3].points.length, 4);
});

test("barycentre ordering removes the crossing of a crossed diamond", () => {
  // Declared so that document order crosses: a→d, b→c.
  const r = layout(["a", "b", "c", "d"], e([["a", "d"], ["b", "c"]]));
  const order = (id) => r.nodes.get(id).order;
  assert.equal(Math.sign(order("a") - order("b")), Math.sign(order("d") - order("c")));
});

test("fifty modules with fan-out and back edges lay out quickly, without overlaps", () => {
  const ids = Array.from({ length: 50 }, (_, i) => "m" + i);
  const edges = [];
  for (let i = 1; i < 50; i++) edges.push({ from: "m" + Math.floor((i - 1) / 2), to: "m" + i });
  for (let i = 7; i < 50; i += 7) edges.push({ from: "m" + i, to: "m" + (i % 5) });
  const started = performance.now();
  const r = layout(ids, edges);
  assert.ok(performance.now() - started < 500);
  const seen = new Set();
  for (const id of ids) {
    const p = r.nodes.get(id);
    const key = `${p.x},${p.y}`;
    assert.ok(!seen.has(key), `two modules at ${key}`);
    seen.add(key);
    assert.ok(p.x + r.size.W <= r.width && p.y <= r.height);
  }
  assert.equal(r.edges.length, edges.length);
});

test("edges naming unknown modules are left out, not drawn to nowhere", () => {
  const r = layout(["a"], e([["a", "zz"]]));
  assert.equal(r.edges.length, 0);
});
