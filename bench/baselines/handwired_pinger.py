"""Hand-wired baseline for latency: sequential round trips python -> node relay -> python
over two fifos (the relay is handwired_relay.js). Each round trip writes one NDJSON line and
waits for the relayed line. WARMUP round trips first, not recorded; then RUNS runs of N, as the
engine's side runs them on one deployed flow. Prints {"n", "p50", "p99", "max"} (microseconds)
of each run, one line per run.
    python3 handwired_pinger.py TO_RELAY FROM_RELAY N WARMUP [RUNS]
"""
import json
import os
import sys
import time

to_path, from_path, n, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
runs = int(sys.argv[5]) if len(sys.argv) > 5 else 1
out_fd = os.open(to_path, os.O_WRONLY)
in_fd = os.open(from_path, os.O_RDONLY)
dumps = json.JSONEncoder(separators=(",", ":")).encode
loads = json.loads
clock = time.perf_counter_ns
payload = {"seq": 0, "sku": "ABC-12345", "qty": 3, "price": 19.99}
rest = b""
seq = 0


def round_trips(count):
    global rest, seq
    samples = []
    for _ in range(count):
        payload["seq"] = seq
        t0 = clock()
        os.write(out_fd, (dumps(payload) + "\n").encode())
        while b"\n" not in rest:
            rest += os.read(in_fd, 65536)
        line, rest = rest.split(b"\n", 1)
        reply = loads(line)
        t1 = clock()
        assert reply["seq"] == seq
        seq += 1
        samples.append(t1 - t0)
    return samples


round_trips(warmup)
for _ in range(runs):
    samples = sorted(round_trips(n))
    print(json.dumps({"n": n, "p50": samples[n // 2] / 1000, "p99": samples[min(n - 1, n * 99 // 100)] / 1000,
                      "max": samples[-1] / 1000}), flush=True)
os.close(out_fd)
