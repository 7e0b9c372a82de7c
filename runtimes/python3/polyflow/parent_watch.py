"""The parent watchdog: the runtime ends when its runner (the parent
process) is gone, whatever the main thread is doing.

The fifos usually tell: when the runner dies, ``--in`` reads end of file
and a write to ``--out`` fails. They do not tell a runtime whose handler
never returns, nor one whose fifos another process still holds open. So a
daemon thread looks at ``os.getppid()`` once a second: when it changed, the
runner died and the runtime was reparented (to init or a subreaper), and
the thread ends the process at once with ``os._exit``, nobody being left to
read what a cleaner exit would write. A handler looping in Python code does
not stop it (the thread gets the GIL every switch interval); only one stuck
in a C call that holds the GIL does.
"""

import os
import threading
import time

ENV = "POLYFLOW_PARENT_WATCHDOG"
EXIT_RUNNER_GONE = 69
INTERVAL = 1.0


def start_parent_watch(environ=os.environ, interval=INTERVAL):
    """Starts the watchdog thread, unless ``POLYFLOW_PARENT_WATCHDOG=0``;
    returns it, or None."""
    if environ.get(ENV) == "0":
        return None
    parent = os.getppid()
    thread = threading.Thread(target=_watch, args=(parent, interval),
                              name="polyflow-parent-watch", daemon=True)
    thread.start()
    return thread


def _watch(parent, interval):
    while os.getppid() == parent:
        time.sleep(interval)
    try:
        # fd 2 itself: sys.stderr is captured as log frames.
        os.write(2, f"polyflow python3 runtime: the runner (pid {parent}) is gone; exiting\n".encode())
    except OSError:
        pass  # stderr was a pipe to the runner
    os._exit(EXIT_RUNNER_GONE)
