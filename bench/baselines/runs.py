"""How every baseline script times itself, the same way the bench times the
engine: WARMUP untimed passes over N messages (start-up, imports, caches and
JIT are paid there), then RUNS timed passes of N, all in one process.
Prints {"rates": [...], "rate": median, "count": N, "warmup": W}."""
import json
import statistics
import time


def timed_passes(one_pass, n, runs, warmup):
    """`one_pass()` handles N messages and returns how many it counted."""
    for _ in range(warmup):
        if one_pass() != n:
            raise SystemExit("a warm-up pass did not count every message")
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        count = one_pass()
        seconds = time.perf_counter() - t0
        if count != n:
            raise SystemExit(f"a run counted {count} of {n}")
        rates.append(n / seconds)
    print(json.dumps({"rates": rates, "rate": statistics.median(rates), "count": n, "runs": runs, "warmup": warmup}))


def arguments(argv, first=2):
    """RUNS and WARMUP from argv[first:], defaulting to 1 run and no warm-up."""
    runs = int(argv[first]) if len(argv) > first else 1
    warmup = int(argv[first + 1]) if len(argv) > first + 1 else 0
    return runs, warmup
