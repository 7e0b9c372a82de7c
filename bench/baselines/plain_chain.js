'use strict';
// Baseline: the in-runtime node chain as plain function calls.
//   node plain_chain.js N [RUNS [WARMUP]]   -> {"rates": [...], "rate": median, "count": N}
// WARMUP untimed passes over N (the JIT warms up there), then RUNS timed passes, in this one
// process: the same warm-up and runs as the engine's side (bench/baselines/runs.py).
const make = (i) => ({ i, sku: 'ABC-12345', qty: 3, price: 19.99 });
const m1 = (p) => ({ ...p, qty: p.qty * 2 });
const m2 = (p) => ({ ...p, total: p.qty * p.price });
const m3 = (p) => ({ ...p, ok: true });

const n = Number(process.argv[2]);
const runs = process.argv.length > 3 ? Number(process.argv[3]) : 1;
const warmup = process.argv.length > 4 ? Number(process.argv[4]) : 0;

function onePass() {
  let count = 0;
  let qty = 0;
  for (let i = 0; i < n; i++) {
    const p = m3(m2(m1(make(i))));
    count++;
    qty += p.qty;
  }
  return count;
}

for (let w = 0; w < warmup; w++) {
  if (onePass() !== n) throw new Error('a warm-up pass did not count every message');
}
const rates = [];
for (let r = 0; r < runs; r++) {
  const t0 = process.hrtime.bigint();
  const count = onePass();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (count !== n) throw new Error(`a run counted ${count} of ${n}`);
  rates.push(n / seconds);
}
const sorted = [...rates].sort((a, b) => a - b);
const mid = sorted.length >> 1;
const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
console.log(JSON.stringify({ rates, rate: median, count: n, runs, warmup }));
