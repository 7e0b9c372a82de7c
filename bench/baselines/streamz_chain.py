"""Baseline: the in-runtime python chain in streamz (run in bench/.venv).
    python streamz_chain.py N [RUNS [WARMUP]]   -> {"rates": [...], "rate": median, "count": N}
Stream() -> map make -> m1 -> m2 -> m3 -> sink, fed with emit() (synchronous); one
stream, WARMUP untimed passes then RUNS timed ones (runs.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from streamz import Stream  # noqa: E402
from chain_funcs import m1, m2, m3, make  # noqa: E402
from runs import arguments, timed_passes  # noqa: E402

n = int(sys.argv[1])
runs, warmup = arguments(sys.argv)
totals = {"count": 0, "qty": 0}


def count(p):
    totals["count"] += 1
    totals["qty"] += p["qty"]


source = Stream()
source.map(make).map(m1).map(m2).map(m3).sink(count)
emit = source.emit


def one_pass():
    totals["count"] = 0
    for i in range(n):
        emit(i)
    return totals["count"]


timed_passes(one_pass, n, runs, warmup)
