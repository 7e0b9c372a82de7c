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


def main(argv):
    fin = os.open(argv[argv.index("--in") + 1], os.O_RDONLY)
    fout = os.open(argv[argv.index("--out") + 1], os.O_WRONLY)

    def write(data):
        view = memoryview(data)
        while view:
            view = view[os.write(fout, view):]

    def send(obj):
        write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    send({"t": "hello", "protocol": 1, "runtime": "python3", "name": "CPython",
          "version": "%d.%d.%d" % sys.version_info[:3], "pid": os.getpid()})
    ids, routes, received = [], {}, 0
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
            if obj.get("t") in ("configure", "swap"):
                ids = [m["id"] for m in obj.get("modules", [])]
                routes = {r["port"]: r["remote"] for r in obj.get("routes", []) if r.get("remote") is not None}
                send({"t": "configured" if obj["t"] == "configure" else "swapped", "modules": {i: {"ok": True} for i in ids}})
            elif obj.get("t") in ("stop", "report"):
                send({"t": "stats", "modules": {i: {"in": received, "out": 0, "errors": 0, "state": {}} for i in ids}})
                if obj["t"] == "stop":
                    send({"t": "bye"})
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
