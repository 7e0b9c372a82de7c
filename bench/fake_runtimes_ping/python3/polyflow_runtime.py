#!/usr/bin/env python3
"""Bench-only fake "python3" runtime for the host-latency probe: a pinger.

The first data frame it gets ({"n": N}) starts N sequential round trips: it writes one data
frame (about 50 bytes) on the route of its module's "out" port and blocks until a data frame
comes back, acking what it received. Then it writes {"n", "p50", "p99", "max"} (µs) on the
route of its "result" port. No module code runs; docs/protocol.md just enough.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fake_runtimes"))
from fake_wire import Wire  # noqa: E402


def main(argv):
    wire = Wire(argv)
    fin, write = wire.fin, wire.write
    wire.hello()
    routes, received = {}, 0
    rest = b""

    def lines():
        nonlocal rest
        while True:
            while b"\n" not in rest:
                chunk = os.read(fin, 65536)
                if not chunk:
                    sys.exit(0)
                rest += chunk
            line, rest = rest.split(b"\n", 1)
            yield line

    feed = lines()
    for line in feed:
        if line[:1] == b"{":
            obj = json.loads(line)
            if "routes" in obj:
                routes = {r["port"]: r["remote"] for r in obj["routes"] if r.get("remote") is not None}
            if wire.answer(obj, received):
                return 0
        elif line[:1] == b"D":
            received += 1
            n = json.loads(line[line.index(b" ") + 1:])["n"]
            write(b"A%d\n" % received)
            frame = b'D%d {"seq":0,"sku":"ABC-12345","qty":3,"price":19.99}\n' % routes["out"]
            samples = []
            clock = time.perf_counter_ns
            ack = b""
            for _ in range(n):
                t0 = clock()
                write(ack + frame)          # the ack of the last reply rides with the next ping
                for reply in feed:
                    if reply[:1] == b"D":
                        break
                samples.append(clock() - t0)
                received += 1
                ack = b"A%d\n" % received
            write(ack)
            samples.sort()
            result = {"n": n, "p50": samples[n // 2] / 1000, "p99": samples[min(n - 1, n * 99 // 100)] / 1000,
                      "max": samples[-1] / 1000}
            write(b"D%d " % routes["result"] + json.dumps(result).encode() + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
