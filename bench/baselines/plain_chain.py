"""Baseline: the in-runtime python chain as plain function calls.
    python3 plain_chain.py N [RUNS [WARMUP]]   -> {"rates": [...], "rate": median, "count": N}
(see runs.py: WARMUP untimed passes, then RUNS timed ones, in this one process)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chain_funcs import m1, m2, m3, make  # noqa: E402
from runs import arguments, timed_passes  # noqa: E402

n = int(sys.argv[1])
runs, warmup = arguments(sys.argv)


def one_pass():
    count = qty = 0
    for i in range(n):
        p = m3(m2(m1(make(i))))
        count += 1
        qty += p["qty"]
    return count


timed_passes(one_pass, n, runs, warmup)
