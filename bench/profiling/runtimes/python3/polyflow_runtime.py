#!/usr/bin/env python3
"""bench/run --profile: runs the real Python runtime (POLYFLOW_REAL_RUNTIMES) under cProfile and
writes POLYFLOW_PROFILE_DIR/python3-<pid>.prof when it exits."""
import cProfile
import os
import runpy
import sys

real = os.path.join(os.environ["POLYFLOW_REAL_RUNTIMES"], "python3", "polyflow_runtime.py")
out = os.path.join(os.environ["POLYFLOW_PROFILE_DIR"], f"python3-{os.getpid()}.prof")
sys.argv[0] = real
profile = cProfile.Profile()
profile.enable()
try:
    runpy.run_path(real, run_name="__main__")
finally:
    profile.disable()
    profile.dump_stats(out)
