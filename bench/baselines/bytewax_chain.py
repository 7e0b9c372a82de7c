"""Baseline: the in-runtime python chain in bytewax (run in bench/.venv).
    python bytewax_chain.py N BATCH [RUNS [WARMUP]]   -> {"rates": [...], "rate": median, "count": N}
TestingSource(range(N), batch_size=BATCH) -> map make -> m1 -> m2 -> m3 -> counting sink,
run with bytewax.testing.run_main (one worker, in this thread); each pass builds the
dataflow and runs it to completion; WARMUP untimed passes, then RUNS timed ones (runs.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bytewax.operators as op  # noqa: E402
from bytewax.dataflow import Dataflow  # noqa: E402
from bytewax.outputs import DynamicSink, StatelessSinkPartition  # noqa: E402
from bytewax.testing import TestingSource, run_main  # noqa: E402
from chain_funcs import m1, m2, m3, make  # noqa: E402
from runs import arguments, timed_passes  # noqa: E402

n, batch = int(sys.argv[1]), int(sys.argv[2])
runs, warmup = arguments(sys.argv, first=3)
totals = {"count": 0, "qty": 0}


class _Partition(StatelessSinkPartition):
    def write_batch(self, items):
        totals["count"] += len(items)
        totals["qty"] += sum(p["qty"] for p in items)


class CountSink(DynamicSink):
    def build(self, step_id, worker_index, worker_count):
        return _Partition()


def one_pass():
    totals["count"] = 0
    flow = Dataflow("bench")
    s = op.input("inp", flow, TestingSource(range(n), batch_size=batch))
    s = op.map("make", s, make)
    s = op.map("m1", s, m1)
    s = op.map("m2", s, m2)
    s = op.map("m3", s, m3)
    op.output("out", s, CountSink())
    run_main(flow)
    return totals["count"]


timed_passes(one_pass, n, runs, warmup)
