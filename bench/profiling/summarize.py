#!/usr/bin/env python3
"""Summarizes the profiles bench/run --profile DIR wrote: per runtime process, the functions
with the most self time (cProfile .prof files and V8 .cpuprofile files).

    python3 bench/profiling/summarize.py DIR [TOP]
"""
import collections
import glob
import io
import json
import os
import pstats
import sys


def python(path, top):
    s = io.StringIO()
    st = pstats.Stats(path, stream=s)
    total = st.total_tt
    if total < 0.2:
        return None
    st.sort_stats("tottime").print_stats(top)
    return f"{os.path.basename(path)}: {total:.2f} s profiled\n" + "\n".join(
        l for l in s.getvalue().splitlines() if l.strip() and not l.startswith(("   Ordered", "   List")))


def node(path, top):
    with open(path) as f:
        prof = json.load(f)
    nodes = {n["id"]: n for n in prof["nodes"]}
    dt = (prof["endTime"] - prof["startTime"]) / 1e6
    samples = collections.Counter(prof.get("samples", []))
    total = sum(samples.values()) or 1
    self_by_fn = collections.Counter()
    for nid, count in samples.items():
        cf = nodes[nid]["callFrame"]
        where = f"{cf['functionName'] or '(anonymous)'} {os.path.basename(cf['url'])}:{cf['lineNumber'] + 1}"
        self_by_fn[where] += count
    busy = total - sum(c for k, c in self_by_fn.items() if k.startswith("(idle)"))
    if busy / total * dt < 0.2:
        return None
    lines = [f"{os.path.basename(path)}: {dt:.2f} s, busy {100 * busy / total:.0f}%"]
    for fn, c in self_by_fn.most_common(top):
        lines.append(f"  {100 * c / total:5.1f}%  {fn}")
    return "\n".join(lines)


def main():
    d = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    for path in sorted(glob.glob(os.path.join(d, "*.prof"))):
        text = python(path, top)
        if text:
            print(text, "\n")
    for path in sorted(glob.glob(os.path.join(d, "*.cpuprofile"))):
        text = node(path, top)
        if text:
            print(text, "\n")


if __name__ == "__main__":
    main()
