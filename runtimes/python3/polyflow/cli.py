"""Command line of the runtime: arguments, environment, exit code."""

import argparse
import os
import sys

from .framing import DEFAULT_MAX_FRAME_BYTES
from .parent_watch import start_parent_watch
from .runtime import Runtime, open_fifos

MAX_FRAME_ENV = "POLYFLOW_MAX_FRAME_BYTES"


def max_frame_bytes(environ=os.environ):
    text = environ.get(MAX_FRAME_ENV)
    if not text:
        return DEFAULT_MAX_FRAME_BYTES
    try:
        value = int(text)
        if value <= 0:
            raise ValueError
    except ValueError:
        print(f"polyflow python3 runtime: {MAX_FRAME_ENV}={text!r} is not a positive integer; "
              f"using {DEFAULT_MAX_FRAME_BYTES}", file=sys.stderr)
        return DEFAULT_MAX_FRAME_BYTES
    return value


def main(argv):
    parser = argparse.ArgumentParser(prog="polyflow_runtime.py",
                                     description="Polyflow Python 3 runtime (docs/protocol.md)")
    parser.add_argument("--in", dest="in_path", required=True, help="fifo the host writes to")
    parser.add_argument("--out", dest="out_path", required=True, help="fifo the host reads from")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:
        return 64 if exit.code else 0
    start_parent_watch()  # before the opens: they block if the runner died before they ran
    limit = max_frame_bytes()
    try:
        in_fd, out_fd = open_fifos(args.in_path, args.out_path)
    except OSError as error:
        print(f"polyflow python3 runtime: cannot open the fifos: {error}", file=sys.stderr)
        return 66
    try:
        return Runtime(in_fd, out_fd, limit).run()
    except KeyboardInterrupt:
        return 130
