"""A stand-in for the runner host: fifos, a runtime child process, and
reading its frames with timeouts (never sleeps)."""

import json
import os
import select
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME_DIR = os.path.dirname(HERE)
ENTRY = os.path.join(RUNTIME_DIR, "polyflow_runtime.py")
sys.path.insert(0, RUNTIME_DIR)

from polyflow.framing import ACK, CONTROL, DATA, FrameDecoder  # noqa: E402

TIMEOUT = 10.0


class RuntimeProcess:
    """Owns a temp dir with two fifos, the host's O_RDWR fds on them, and the
    child process; ``close`` (registered with addCleanup) releases all."""

    def __init__(self, test, env=None):
        self.dir = tempfile.mkdtemp(prefix="polyflow-py-test-")
        os.chmod(self.dir, 0o700)
        self.to_runtime = os.path.join(self.dir, "to-runtime")
        self.from_runtime = os.path.join(self.dir, "from-runtime")
        os.mkfifo(self.to_runtime, 0o600)
        os.mkfifo(self.from_runtime, 0o600)
        self.write_fd = os.open(self.to_runtime, os.O_RDWR)
        self.read_fd = os.open(self.from_runtime, os.O_RDWR)
        self.decoder = FrameDecoder()
        self.frames = []  # every frame read so far, in order
        self._unseen = 0  # index of the first frame no wait_for has passed
        self.logs = open(os.path.join(self.dir, "process-output.txt"), "w+b")
        self.process = subprocess.Popen(
            [sys.executable, ENTRY, "--in", self.to_runtime, "--out", self.from_runtime],
            cwd=self.dir,  # any working directory must do
            stdin=subprocess.DEVNULL, stdout=self.logs, stderr=self.logs,
            env=dict(os.environ, **(env or {})),
        )
        test.addCleanup(self.close)

    # host -> runtime

    def send_raw(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.write_fd, view):]

    def send_control(self, frame):
        self.send_raw(json.dumps(frame).encode() + b"\n")

    def send_data(self, slot, payload):
        self.send_raw(b"D%d %s\n" % (slot, json.dumps(payload).encode()))

    def close_input(self):
        """The host goes away: the runtime reads EOF."""
        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None

    # runtime -> host

    def wait_for(self, predicate, what, timeout=TIMEOUT):
        """The first frame after the last one matched that satisfies
        ``predicate``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            while self._unseen < len(self.frames):
                frame = self.frames[self._unseen]
                self._unseen += 1
                if predicate(frame):
                    return frame
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                raise AssertionError(f"timed out waiting for {what}; frames: {self.frames[-20:]!r}; "
                                     f"process output: {self.output()!r}")

    def wait_control(self, kind, timeout=TIMEOUT, **fields):
        def match(frame):
            return (frame[0] is CONTROL and frame[1]["t"] == kind
                    and all(frame[1].get(k) == v for k, v in fields.items()))
        return self.wait_for(match, f"control {kind} {fields or ''}", timeout)[1]

    def wait_ack(self, count, timeout=TIMEOUT):
        return self.wait_for(lambda f: f[0] is ACK and f[1] >= count, f"ack {count}", timeout)[1]

    def data_frames(self):
        return [(f[1], json.loads(f[2])) for f in self.frames if f[0] is DATA]

    def controls(self, kind):
        return [f[1] for f in self.frames if f[0] is CONTROL and f[1]["t"] == kind]

    def _read(self, timeout):
        if not select.select([self.read_fd], [], [], timeout)[0]:
            return False
        self.frames.extend(self.decoder.feed(os.read(self.read_fd, 1 << 20)))
        return True

    def wait_exit(self, timeout=TIMEOUT):
        return self.process.wait(timeout)

    def output(self):
        self.logs.flush()
        self.logs.seek(0)
        return self.logs.read().decode("utf-8", "replace")

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.close_input()
        os.close(self.read_fd)
        self.logs.close()
        for name in (self.to_runtime, self.from_runtime, self.logs.name):
            os.unlink(name)
        os.rmdir(self.dir)
