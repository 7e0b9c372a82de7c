#!/usr/bin/env python3
"""Bench-only fake "python3" runtime: a frame sink for the host-routing case.

Speaks docs/protocol.md just enough (hello, configure -> configured,
stop -> stats + bye) and runs no module code. It counts the data frames it
receives without parsing them, acks after every read (cumulative `A<n>`),
and when it has seen `config.n` frames it writes one flow output on its
first output's route: {"frames": n, "seconds": time from the first frame to
the last, "bytes": frame bytes}, and again for every further config.n frames
(one run of the blaster each). Started by the real host when
POLYFLOW_RUNTIMES points at bench/fake_runtimes.
"""
import fcntl
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from fake_wire import Wire  # noqa: E402


def main(argv):
    wire = Wire(argv)
    fin, write = wire.fin, wire.write
    for fd in (wire.fin, wire.fout):  # as the real Python runtime does
        try:
            fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ
        except OSError:
            pass
    wire.hello()

    target, route = 0, None
    received = 0
    first = None
    nbytes = 0
    rest = b""          # the incomplete line at the end of the last read (at most one frame)
    frame_len = None    # the length of the data frames seen so far, while they are all equal
    reads = 0
    while True:
        chunk = os.read(fin, 1 << 20)
        if not chunk:
            return 0
        reads += 1
        now = time.perf_counter()
        last_nl = chunk.rfind(b"\n")
        if last_nl < 0:
            rest += chunk
            continue
        complete = len(rest) + last_nl + 1
        count = chunk.count(b"\n")
        if frame_len is None or count * frame_len != complete:
            # slow path: control frames, or frames of another length: split the lines
            count = 0
            for line in (rest + chunk[:last_nl + 1]).split(b"\n")[:-1]:
                if line[:1] == b"D":
                    count += 1
                    frame_len = len(line) + 1 if frame_len in (None, len(line) + 1) else -1
                elif line[:1] == b"{":
                    obj = json.loads(line)
                    for m in obj.get("modules", []):
                        target = int((m.get("config") or {}).get("n", 0)) or target
                    for r in obj.get("routes", []):
                        if r.get("remote") is not None and route is None:
                            route = r["remote"]
                    if wire.answer(obj, received):
                        return 0
        # else: fast path: only data frames of the usual length (their count times their length
        # is exactly the bytes of complete lines, which no control frame could keep)
        rest = chunk[last_nl + 1:]
        nbytes += complete
        if count:
            if first is None:   # the first read of a run: timing starts after it
                first, first_count, run_base, run_bytes, run_reads = now, count, received, nbytes - complete, reads
            received += count
            out = b"A%d\n" % received
            if target and received - run_base >= target:
                frames = received - run_base
                result = {"frames": frames, "measured": frames - first_count, "seconds": now - first,
                          "bytes": nbytes - run_bytes, "reads": reads - run_reads}
                if route is not None:
                    out += b"D%d " % route + json.dumps(result).encode() + b"\n"
                first = None    # the next frame starts the next run
            write(out)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
