"""Baseline: the in-runtime python chain in streamz (run in bench/.venv).
    python streamz_chain.py N   -> {"rate": messages/s, "count": N}
Stream() -> map make -> m1 -> m2 -> m3 -> sink, fed with emit() (synchronous)."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from streamz import Stream  # noqa: E402
from chain_funcs import m1, m2, m3, make  # noqa: E402

n = int(sys.argv[1])
totals = {"count": 0, "qty": 0}


def count(p):
    totals["count"] += 1
    totals["qty"] += p["qty"]


source = Stream()
source.map(make).map(m1).map(m2).map(m3).sink(count)
emit = source.emit
t0 = time.perf_counter()
for i in range(n):
    emit(i)
seconds = time.perf_counter() - t0
assert totals["count"] == n, totals
print(json.dumps({"rate": n / seconds, "count": totals["count"], "seconds": seconds}))
