"""The parent watchdog (polyflow/parent_watch.py): a runtime whose runner
is SIGKILLed ends within a few seconds, idle or in a handler that never
returns.

The runner is dying_runner.py, a process of its own. This test process is
a child subreaper while a test runs, so the orphaned runtime is
reparented to it (its parent changes, as under init) and its exit status
can be read; a pidfd tells when it ended."""

import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import unittest

from host_harness import HERE

from polyflow.parent_watch import EXIT_RUNNER_GONE, start_parent_watch

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
# The watchdog looks once a second; a loaded CI machine is slow.
EXIT_TIMEOUT = 10.0


def subreaper(on):
    """Makes this process a child subreaper (or not); returns what it was."""
    libc = ctypes.CDLL(None, use_errno=True)
    was = ctypes.c_int(0)
    if libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(was), 0, 0, 0) != 0 \
            or libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl")
    return bool(was.value)


class Orphan:
    """A runtime started by dying_runner.py in ``state``; ``kill_runner``
    SIGKILLs the runner. ``close`` ends and reaps both and removes the
    runtime's dir."""

    def __init__(self, state):
        self.runner = subprocess.Popen([sys.executable, os.path.join(HERE, "dying_runner.py"), state],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = self.runner.stdout.readline().decode()
        self.pid, self.dir = (int(line.split()[0]), line.split()[1]) if line else (None, None)
        self.pidfd = os.pidfd_open(self.pid) if self.pid else None
        self.held = []
        self.status = None

    def hold_fifos(self):
        """Another process (this one) holds both fifos open, as a leaked
        descriptor would: the runtime sees no end of input, no EPIPE."""
        for name in ("to-runtime", "from-runtime"):
            self.held.append(os.open(os.path.join(self.dir, name), os.O_RDWR))

    def kill_runner(self):
        self.runner.kill()
        self.runner.wait()

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        """The runtime's exit code, or None if it still runs after ``timeout``."""
        if not select.select([self.pidfd], [], [], timeout)[0]:
            return None
        self.status = os.waitpid(self.pid, 0)[1]
        return os.waitstatus_to_exitcode(self.status)

    def output(self):
        with open(os.path.join(self.dir, "process-output.txt"), encoding="utf-8", errors="replace") as file:
            return file.read()

    def close(self):
        if self.runner.poll() is None:
            self.kill_runner()  # the runtime is reparented to this process
        self.runner.stdin.close()
        self.runner.stdout.close()
        for fd in self.held:
            os.close(fd)
        if self.pid is not None:
            if self.status is None:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            os.close(self.pidfd)
            shutil.rmtree(self.dir, ignore_errors=True)


class ParentWatchTests(unittest.TestCase):
    def setUp(self):
        self.addCleanup(subreaper, subreaper(True))

    def orphan(self, state):
        orphan = Orphan(state)
        self.addCleanup(orphan.close)
        self.assertIsNotNone(orphan.pid, f"dying_runner.py {state} did not start a runtime")
        return orphan

    def assert_runner_gone(self, orphan):
        code = orphan.wait_exit()
        self.assertIsNotNone(code, f"the runtime still runs; output: {orphan.output()!r}")
        self.assertEqual(code, EXIT_RUNNER_GONE, orphan.output())
        self.assertIn(f"polyflow python3 runtime: the runner (pid {orphan.runner.pid}) is gone; exiting\n",
                      orphan.output())

    def test_idle_runtime_endsWhenItsRunnerIsKilled(self):
        orphan = self.orphan("idle")
        orphan.kill_runner()
        # End of input usually tells first (exit 0); the watchdog may.
        self.assertIn(orphan.wait_exit(), (0, EXIT_RUNNER_GONE), orphan.output())

    def test_idle_runtime_whoseFifosAreHeldElsewhere_endsWhenItsRunnerIsKilled(self):
        orphan = self.orphan("idle")
        orphan.hold_fifos()
        orphan.kill_runner()
        self.assert_runner_gone(orphan)

    def test_handlerLoopingForever_endsWhenItsRunnerIsKilled(self):
        orphan = self.orphan("busy")
        orphan.kill_runner()
        self.assert_runner_gone(orphan)

    def test_environmentVariable_turnsTheWatchdogOff(self):
        self.assertIsNone(start_parent_watch({"POLYFLOW_PARENT_WATCHDOG": "0"}))


if __name__ == "__main__":
    unittest.main()
