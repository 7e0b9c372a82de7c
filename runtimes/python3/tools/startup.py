#!/usr/bin/env python3
"""Start-up time of the runtime: spawn to the ``hello`` frame, and ``stop``
to exit, as the runner host sees them (fifos created and held open first).

    python3 runtimes/python3/tools/startup.py [-n RUNS] [--runtime PATH] [-- PYTHON_FLAG ...]

Prints the median and the spread of RUNS (default 20) start-ups. Flags
after ``--`` go to the interpreter (``-- -s``, ``-- -I``, ``-- -X
frozen_modules=on``), to compare what they would save.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNTIME = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "polyflow_runtime.py")


def start_once(runtime, flags):
    """Seconds from spawn to ``hello``, and from ``stop`` to exit."""
    with tempfile.TemporaryDirectory() as directory:
        to_child, from_child = os.path.join(directory, "in"), os.path.join(directory, "out")
        os.mkfifo(to_child, 0o600)
        os.mkfifo(from_child, 0o600)
        write_fd, read_fd = os.open(to_child, os.O_RDWR), os.open(from_child, os.O_RDWR)
        try:
            start = time.perf_counter()
            child = subprocess.Popen([sys.executable, *flags, runtime, "--in", to_child, "--out", from_child],
                                     stdin=subprocess.DEVNULL)
            data = b""
            while b"\n" not in data:
                data += os.read(read_fd, 65536)
            hello = time.perf_counter() - start
            if not data.startswith(b'{"t":"hello"'):
                raise SystemExit(f"expected hello, got {data[:200]!r}")
            stop = time.perf_counter()
            os.write(write_fd, b'{"t":"stop"}\n')
            child.wait()
            return hello, time.perf_counter() - stop
        finally:
            os.close(write_fd)
            os.close(read_fd)


def main(argv):
    flags = []
    if "--" in argv:
        flags = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description="spawn-to-hello time of the python3 runtime")
    parser.add_argument("-n", type=int, default=20, help="start-ups to time (default 20)")
    parser.add_argument("--runtime", default=RUNTIME, help="polyflow_runtime.py to start")
    args = parser.parse_args(argv)
    start_once(args.runtime, flags)  # warm the page cache
    runs = [start_once(args.runtime, flags) for _ in range(args.n)]
    hellos = sorted(h * 1000 for h, _ in runs)
    exits = sorted(e * 1000 for _, e in runs)
    print(f"{' '.join([sys.executable, *flags, args.runtime])} ({args.n} runs):\n  "
          f"spawn->hello median {statistics.median(hellos):.1f} ms (min {hellos[0]:.1f}, max {hellos[-1]:.1f}); "
          f"stop->exit median {statistics.median(exits):.1f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
