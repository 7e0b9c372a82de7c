"""Hand-wired baseline: the python writer. Writes N NDJSON objects (about 50 bytes,
or padded to about PAD extra bytes) to a fifo through a 1 MiB buffer, then closes it.
Prints {"start": wall-clock seconds} once the fifo is open, just before the first write.
    python3 handwired_writer.py FIFO N PAD
"""
import json
import sys
import time

path, n, pad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
dumps = json.JSONEncoder(separators=(",", ":")).encode
with open(path, "wb", buffering=1 << 20) as f:
    print(json.dumps({"start": time.time()}), flush=True)
    write = f.write
    if pad:
        filler = "x" * pad
        for i in range(n):
            write((dumps({"i": i, "sku": "ABC-12345", "qty": 3, "price": 19.99, "pad": filler}) + "\n").encode())
    else:
        for i in range(n):
            write((dumps({"i": i, "sku": "ABC-12345", "qty": 3, "price": 19.99}) + "\n").encode())
