"""Hand-wired baseline: the python writer. Writes ROUNDS × N NDJSON objects (about 50
bytes, or padded to about PAD extra bytes) to a fifo through a 1 MiB buffer, then closes it.
Prints {"start": wall-clock seconds} once the fifo is open, just before the first write.
The reader marks the end of each round of N: the first round warms the chain up
(start-up, JIT), the others are the timed runs (see handwired_reader.py).
    python3 handwired_writer.py FIFO N PAD [ROUNDS]
"""
import json
import sys
import time

path, n, pad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 1
dumps = json.JSONEncoder(separators=(",", ":")).encode
with open(path, "wb", buffering=1 << 20) as f:
    print(json.dumps({"start": time.time()}), flush=True)
    write = f.write
    for _ in range(rounds):
        if pad:
            filler = "x" * pad
            for i in range(n):
                write((dumps({"i": i, "sku": "ABC-12345", "qty": 3, "price": 19.99, "pad": filler}) + "\n").encode())
        else:
            for i in range(n):
                write((dumps({"i": i, "sku": "ABC-12345", "qty": 3, "price": 19.99}) + "\n").encode())
