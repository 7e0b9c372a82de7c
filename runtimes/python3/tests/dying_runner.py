"""The runner of the parent-watchdog tests (test_parent_watch.py), a process
of its own so that a test can SIGKILL it.

    python3 dying_runner.py idle|busy

Starts a runtime as the host does (``host_harness.RuntimeProcess``: a temp
dir with the fifos, the runtime's output in ``process-output.txt`` there),
brings it into the state asked for, prints ``<runtime pid> <dir>`` and waits.
``idle``: after ``hello``. ``busy``: configured with a module whose handler
loops forever, one message sent, the handler running (it made the file
``spinning`` in the dir). Not killed, it ends at the end of its stdin and
cleans up.
"""

import os
import sys
import time

from host_harness import TIMEOUT, RuntimeProcess

SPIN = """\
def on_message(msg, ctx):
    open("spinning", "w").close()
    while True:
        pass
"""


class Cleanups:
    """What ``RuntimeProcess`` needs of a test case."""

    def __init__(self):
        self.functions = []

    def addCleanup(self, function):
        self.functions.append(function)

    def run(self):
        for function in reversed(self.functions):
            function()


def busy(runtime):
    runtime.send_control({
        "t": "configure", "flowId": "orphan",
        "modules": [{"id": "spin", "code": SPIN, "config": {}, "inputs": ["in"], "outputs": ["out"],
                     "state": None, "init": True}],
        "slots": [["spin", "in"]],
        "routes": [{"module": "spin", "port": "out", "local": [], "remote": 1}],
    })
    runtime.wait_control("configured")
    runtime.send_data(0, 1)
    marker = os.path.join(runtime.dir, "spinning")
    deadline = time.monotonic() + TIMEOUT
    while not os.path.exists(marker):
        if time.monotonic() > deadline:
            raise SystemExit(f"the handler did not start; output: {runtime.output()!r}")
        time.sleep(0.01)


def main(state):
    cleanups = Cleanups()
    try:
        runtime = RuntimeProcess(cleanups)
        runtime.wait_control("hello")
        if state == "busy":
            busy(runtime)
        print(runtime.process.pid, runtime.dir, flush=True)
        sys.stdin.read()
    finally:
        cleanups.run()


if __name__ == "__main__":
    main(sys.argv[1])
