#!/usr/bin/env python3
"""Quick in-process check of the scheduler's per-hop cost: the bench's
in-runtime chain (gen -> m1 -> m2 -> m3 -> count, bench/run --only pychain)
run by this package without fifos, against the same work as plain calls.

    python3 runtimes/python3/tools/chain.py [N] [--profile]

Prints messages/s of both (per CPU second, so that other processes on
the machine disturb less) and their ratio (median of 3 runs each). Only the
handlers and the scheduler run, no JSON and no pipe; the one incoming
message is all the bench adds, so the ratio is close to the bench's.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from polyflow.configuration import parse_configure  # noqa: E402
from polyflow.frame_writer import FrameWriter  # noqa: E402
from polyflow.instance import Instance  # noqa: E402
from polyflow.log_capture import LogCapture  # noqa: E402
from polyflow.scheduler import Scheduler  # noqa: E402

# The bench's modules and plain functions, so that this check runs exactly its work.
BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bench")
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(BENCH, "baselines"))
from polyflow_bench.flows import PY_COUNT as COUNT, PY_GEN as GEN, PY_M1 as M1, PY_M2 as M2, PY_M3 as M3  # noqa: E402
import chain_funcs  # noqa: E402


def chain_instance(n):
    names = ["gen", "m1", "m2", "m3", "count"]
    codes = [GEN, M1, M2, M3, COUNT]
    modules = [{"id": name, "code": code, "config": {"n": n} if name == "count" else {}}
               for name, code in zip(names, codes)]
    routes = [{"module": a, "port": "out", "local": [[b, "in"]], "remote": None, "all": 1}
              for a, b in zip(names, names[1:])]
    routes.append({"module": "count", "port": "out", "local": [], "remote": 0, "all": 0})
    configure = {"t": "configure", "flowId": "chain", "modules": modules,
                 "slots": [["gen", "in"]], "routes": routes}
    out = bytearray()

    def sink(data):
        out.extend(data)
        return len(data)

    writer = FrameWriter(sink)
    capture = LogCapture(writer.log)
    scheduler = Scheduler(writer, capture)
    instance = Instance(parse_configure(configure), scheduler, writer)
    instance.load()
    return instance, scheduler, writer, out


def engine_rate(n):
    instance, scheduler, writer, out = chain_instance(n)
    module, port = instance.slots[0]
    start = time.process_time()
    scheduler.receive(module, port, {"n": n})
    while not scheduler.idle:
        scheduler.run(16384)
    seconds = time.process_time() - start
    writer.flush()
    expected = b'D0 {"count":%d,"qty":%d}\n' % (n, 6 * n)
    if expected not in out:
        raise SystemExit(f"chain gave {bytes(out)[:200]!r}, expected {expected!r}")
    return n / seconds


# The same work as plain calls, as bench/baselines/plain_chain.py does it:
# a loop at module level (its names are globals), over bench/baselines/chain_funcs.py.
PLAIN = '''
count = qty = 0
start = clock()
for i in range(n):
    p = m3(m2(m1(make(i))))
    count += 1
    qty += p["qty"]
seconds = clock() - start
'''


def plain_rate(n):
    names = {"n": n, "clock": time.process_time, "make": chain_funcs.make,
             "m1": chain_funcs.m1, "m2": chain_funcs.m2, "m3": chain_funcs.m3}
    exec(compile(PLAIN, "plain_chain", "exec"), names)
    return n / names["seconds"]


def main(argv):
    n = int(argv[0]) if argv and argv[0].isdigit() else 200_000
    if "--profile" in argv:
        import cProfile
        import pstats
        profile = cProfile.Profile()
        profile.runcall(engine_rate, n)
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)
        return
    engine = statistics.median(engine_rate(n) for _ in range(3))
    plain = statistics.median(plain_rate(n) for _ in range(3))
    print(f"engine {engine:,.0f} msg/s, plain calls {plain:,.0f} msg/s, ratio {engine / plain:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
