"""Modules hosted in this test process: the runtime's scheduler, routing and
capture without fifos or a child process. Output frames are collected."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from polyflow.configuration import parse_configure, parse_swap  # noqa: E402
from polyflow.frame_writer import FrameWriter  # noqa: E402
from polyflow.framing import ACK, CONTROL, DATA, FrameDecoder  # noqa: E402
from polyflow.instance import Instance  # noqa: E402
from polyflow.log_capture import LogCapture  # noqa: E402
from polyflow.scheduler import MAX_DEPTH, Scheduler  # noqa: E402
from polyflow.stats import commit_line, stats_line  # noqa: E402


def module(module_id, code, inputs=("in",), outputs=("out",), state=None, init=True, config=None,
           swap=False):
    return {"id": module_id, "code": code, "inputs": list(inputs), "outputs": list(outputs),
            "state": state, "init": init, "config": config, "swap": swap}


class LocalInstance:
    """``max_depth``: the scheduler's nesting limit (0: every hand-over
    waits in an inbox)."""

    def __init__(self, modules, slots, routes, flush_at=1 << 30, max_depth=MAX_DEPTH):
        self.written = bytearray()
        self.writer = FrameWriter(self._sink, flush_at=flush_at)
        self.capture = LogCapture(self.writer.log)
        self.scheduler = Scheduler(self.writer, self.capture, max_depth)
        configuration = parse_configure(
            {"t": "configure", "flowId": "flow", "modules": modules, "slots": slots, "routes": routes})
        self.instance = Instance(configuration, self.scheduler, self.writer)
        self.configured = self._captured(self.instance.load)
        self.decoder = FrameDecoder()
        self.frames = []

    def _sink(self, data):
        self.written += data
        return len(data)

    def _captured(self, function, *args):
        self.capture.install()
        try:
            return function(*args)
        finally:
            self.capture.uninstall()

    def swap(self, modules=(), remove=(), slots=(), routes=(), via_host=False):
        """Apply a swap frame; returns the ``modules`` of the reply."""
        frame = {"t": "swap", "modules": list(modules), "remove": list(remove),
                 "slots": list(slots), "routes": list(routes)}
        return self._captured(self.instance.swap, parse_swap(frame, self.instance.modules), via_host)

    def deliver(self, slot, payload):
        module, port = self.instance.slots[slot]
        self.scheduler.receive(module, port, payload)

    def run(self, budget=1 << 30):
        self._captured(self.scheduler.run, budget)
        return self.collect()

    def stats(self, all_states=False):
        self.writer.line(stats_line(self.instance.modules.values(), self.writer, all_states))
        return self.collect()

    def commit(self):
        """The commit frame of the modules that changed (nothing when none did)."""
        line = commit_line(self.instance.modules.values(), self.writer)
        if line is not None:
            self.writer.line(line)
        return self.collect()

    def collect(self):
        """Flush and decode what was written since the last collect."""
        self.writer.flush()
        frames = self.decoder.feed(bytes(self.written))
        self.written.clear()
        self.frames.extend(frames)
        return frames

    def data(self, frames=None):
        return [(f[1], json.loads(f[2])) for f in (self.frames if frames is None else frames)
                if f[0] is DATA]

    def controls(self, kind, frames=None):
        return [f[1] for f in (self.frames if frames is None else frames)
                if f[0] is CONTROL and f[1]["t"] == kind]

    def acks(self):
        return [f[1] for f in self.frames if f[0] is ACK]

    def state(self, module_id):
        return self.instance.modules[module_id].ctx.state
