"""Hand-wired baseline: the python reader. Reads NDJSON lines from a fifo, parses each,
counts them and sums `qty`; after N lines prints {"end": wall-clock seconds, "count": N, "qty": sum}.
    python3 handwired_reader.py FIFO N
"""
import json
import sys
import time

path, n = sys.argv[1], int(sys.argv[2])
loads = json.loads
count = qty = 0
with open(path, "rb", buffering=1 << 20) as f:
    for line in f:
        qty += loads(line)["qty"]
        count += 1
        if count >= n:
            break
print(json.dumps({"end": time.time(), "count": count, "qty": qty}), flush=True)
