"""Baseline: the in-runtime python chain as plain function calls.
    python3 plain_chain.py N      -> {"rate": messages/s, "count": N}
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chain_funcs import m1, m2, m3, make  # noqa: E402

n = int(sys.argv[1])
count = qty = 0
t0 = time.perf_counter()
for i in range(n):
    p = m3(m2(m1(make(i))))
    count += 1
    qty += p["qty"]
seconds = time.perf_counter() - t0
print(json.dumps({"rate": n / seconds, "count": count, "seconds": seconds}))
