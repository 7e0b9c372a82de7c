#!/usr/bin/env python3
"""Polyflow Python 3 runtime.

    python3 runtimes/python3/polyflow_runtime.py --in FIFO_IN --out FIFO_OUT

Started by the runner host, which created both fifos and holds them open;
see docs/protocol.md. Exit codes: 0 after stop or end of input, 2 after a
fatal error, 64 for bad arguments, 66 when the fifos cannot be opened, 69
when the runner (the parent process) is gone (polyflow/parent_watch.py).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from polyflow.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
