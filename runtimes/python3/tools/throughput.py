#!/usr/bin/env python3
"""Quick throughput check: the runtime relaying N data frames through one
module, against a hand-written Python fifo relay.

    python3 runtimes/python3/tools/throughput.py [N]

Both read one fifo and write another like the runner host sets them up;
a writer thread feeds frames while the main thread reads until the last
ack (the relay acks too, to do comparable work).
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

RUNTIME = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "polyflow_runtime.py")
MODULES = {
    "return": "def on_message(msg, ctx):\n    return msg.payload\n",
    "ctx.send": "def on_message(msg, ctx):\n    ctx.send('out', msg.payload)\n",
}
RELAY = r'''
import json, os, sys
fin, fout = os.open(sys.argv[1], os.O_RDONLY), os.open(sys.argv[2], os.O_WRONLY)
rest, n = b"", 0
while chunk := os.read(fin, 1 << 20):
    lines = (rest + chunk).split(b"\n")
    rest = lines.pop()
    out = []
    for line in lines:
        value = json.loads(line[line.index(b" ") + 1:])
        out.append("D0 " + json.dumps(value, separators=(",", ":")) + "\n")
    n += len(lines)
    out.append("A%d\n" % n)
    os.write(fout, "".join(out).encode())
'''


def measure(name, command, count, configure=None):
    with tempfile.TemporaryDirectory() as directory:
        to_child, from_child = os.path.join(directory, "in"), os.path.join(directory, "out")
        os.mkfifo(to_child, 0o600)
        os.mkfifo(from_child, 0o600)
        write_fd, read_fd = os.open(to_child, os.O_RDWR), os.open(from_child, os.O_RDWR)
        fifos = ["--in", to_child, "--out", from_child] if configure else [to_child, from_child]
        child = subprocess.Popen(command + fifos)
        reader = LineReader(read_fd)
        if configure:
            reader.until(b'{"t":"hello"')
            os.write(write_fd, json.dumps(configure).encode() + b"\n")
            reader.until(b'{"t":"configured"')
        frame = b"D0 " + json.dumps({"n": 1, "value": "hello world", "tags": ["a", "b"]}).encode() + b"\n"
        data = frame * count
        start = time.perf_counter()
        feeder = threading.Thread(target=write_all, args=(write_fd, data))
        feeder.start()
        reader.until(b"A%d" % count, exact=True)
        seconds = time.perf_counter() - start
        feeder.join()
        os.close(write_fd)
        child.wait()
        os.close(read_fd)
    print(f"{name:24} {count / seconds:>10,.0f} messages/s")


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[:1 << 20]):]


class LineReader:
    def __init__(self, fd):
        self.fd = fd
        self.rest = b""

    def until(self, start, exact=False):
        while True:
            lines = self.rest.split(b"\n")
            self.rest = lines.pop()
            for line in lines:
                if line == start if exact else line.startswith(start):
                    return
            self.rest += os.read(self.fd, 1 << 20)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    measure("hand-written relay", [sys.executable, "-c", RELAY], count)
    for name, code in MODULES.items():
        configure = {"t": "configure", "flowId": "bench", "slots": [["m", "in"]],
                     "modules": [{"id": "m", "code": code, "state": None, "init": True}],
                     "routes": [{"module": "m", "port": "out", "local": [], "remote": 0}]}
        measure(f"runtime ({name})", [sys.executable, RUNTIME], count, configure)


if __name__ == "__main__":
    main()
