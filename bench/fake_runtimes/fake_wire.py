"""What the bench's fake python3 runtimes share (bench/fake_runtimes, bench/fake_runtimes_ping):
the fifos from the command line, `hello`, and the answers to control frames. docs/protocol.md,
just enough; no module code runs."""
import json
import os
import sys


class Wire:
    def __init__(self, argv):
        self.fin = os.open(argv[argv.index("--in") + 1], os.O_RDONLY)
        self.fout = os.open(argv[argv.index("--out") + 1], os.O_WRONLY)
        self.module_ids = []

    def write(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.fout, view):]

    def send(self, obj):
        self.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    def hello(self):
        self.send({"t": "hello", "protocol": 1, "runtime": "python3", "name": "CPython",
                   "version": "%d.%d.%d" % sys.version_info[:3], "pid": os.getpid()})

    def answer(self, obj, received):
        """Answers a control frame: configure/swap -> configured/swapped, report -> stats,
        stop -> stats + bye. Returns True after `stop` (the fake then exits)."""
        t = obj.get("t")
        if t in ("configure", "swap"):
            self.module_ids = [m["id"] for m in obj.get("modules", [])]
            self.send({"t": "configured" if t == "configure" else "swapped",
                       "modules": {i: {"ok": True} for i in self.module_ids}})
        elif t in ("stop", "report"):
            self.send({"t": "stats", "modules": {i: {"in": received, "out": 0, "errors": 0, "state": {}}
                                                 for i in self.module_ids}})
            if t == "stop":
                self.send({"t": "bye"})
                return True
        return False
