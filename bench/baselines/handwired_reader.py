"""Hand-wired baseline: the python reader. Reads NDJSON lines from a fifo, parses each,
counts them and sums `qty`; after ROUNDS × N lines prints {"end": wall-clock seconds of
the last line, "marks": [wall-clock seconds of the last line of each round], "count": N, "qty": sum}.
    python3 handwired_reader.py FIFO N [ROUNDS]
"""
import json
import sys
import time

path, n = sys.argv[1], int(sys.argv[2])
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 1
loads = json.loads
count = qty = 0
marks = []
total = n * rounds
with open(path, "rb", buffering=1 << 20) as f:
    for line in f:
        qty += loads(line)["qty"]
        count += 1
        if count % n == 0:
            marks.append(time.time())
            if count >= total:
                break
print(json.dumps({"end": marks[-1] if marks else time.time(), "marks": marks, "count": count, "rounds": rounds, "qty": qty}), flush=True)
