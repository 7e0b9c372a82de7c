'use strict';
// Baseline: the in-runtime node chain as plain function calls.
//   node plain_chain.js N   -> {"rate": messages/s, "count": N}
const make = (i) => ({ i, sku: 'ABC-12345', qty: 3, price: 19.99 });
const m1 = (p) => ({ ...p, qty: p.qty * 2 });
const m2 = (p) => ({ ...p, total: p.qty * p.price });
const m3 = (p) => ({ ...p, ok: true });

const n = Number(process.argv[2]);
let count = 0;
let qty = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const p = m3(m2(m1(make(i))));
  count++;
  qty += p.qty;
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ rate: n / seconds, count, qty, seconds }));
