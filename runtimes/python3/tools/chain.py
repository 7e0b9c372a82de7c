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

from polyflow.configure import parse_configure  # noqa: E402
from polyflow.frame_writer import FrameWriter  # noqa: E402
from polyflow.instance import Instance  # noqa: E402
from polyflow.log_capture import LogCapture  # noqa: E402
from polyflow.scheduler import Scheduler  # noqa: E402

GEN = '''
def on_message(msg, ctx):
    n = msg.payload["n"]
    send = ctx.send
    for i in range(n):
        send("out", {"i": i, "sku": "ABC-12345", "qty": 3, "price": 19.99})
'''
M1 = '''
def on_message(msg, ctx):
    p = msg.payload
    return {**p, "qty": p["qty"] * 2}
'''
M2 = '''
def on_message(msg, ctx):
    p = msg.payload
    return {**p, "total": p["qty"] * p["price"]}
'''
M3 = '''
def on_message(msg, ctx):
    return {**msg.payload, "ok": True}
'''
COUNT = '''
def on_message(msg, ctx):
    s = ctx.state
    s["count"] = s.get("count", 0) + 1
    s["qty"] = s.get("qty", 0) + msg.payload["qty"]
    if s["count"] >= ctx.config["n"]:
        ctx.send("out", {"count": s["count"], "qty": s["qty"]})
        s["count"] = 0
        s["qty"] = 0
'''


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
# a loop at module level (its names are globals).
PLAIN = '''
def make(i):
    return {"i": i, "sku": "ABC-12345", "qty": 3, "price": 19.99}
def m1(p):
    return {**p, "qty": p["qty"] * 2}
def m2(p):
    return {**p, "total": p["qty"] * p["price"]}
def m3(p):
    return {**p, "ok": True}
count = qty = 0
start = clock()
for i in range(n):
    p = m3(m2(m1(make(i))))
    count += 1
    qty += p["qty"]
seconds = clock() - start
'''


def plain_rate(n):
    names = {"n": n, "clock": time.process_time}
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
