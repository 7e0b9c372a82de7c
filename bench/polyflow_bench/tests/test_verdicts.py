"""A NO on a correctness verdict fails a bench run, in smoke mode too; a missed
performance target does not.

    python3 -m unittest discover -s bench/polyflow_bench/tests -t bench     (from the repo root)
"""
import contextlib
import importlib.machinery
import importlib.util
import io
import os
import signal
import sys
import unittest
from unittest import mock

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, BENCH_DIR)

from polyflow_bench.cases import Row  # noqa: E402
from polyflow_bench.verdicts import failures, verdict  # noqa: E402


def load_run():
    """bench/run (a script without .py) as a module."""
    loader = importlib.machinery.SourceFileLoader("bench_run", os.path.join(BENCH_DIR, "run"))
    spec = importlib.util.spec_from_loader("bench_run", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def run_main(cases, *args):
    """bench/run's main() with `cases` in place of the real ones: (exit status, stdout, stderr)."""
    run = load_run()
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    out, err = io.StringIO(), io.StringIO()
    try:
        with mock.patch.object(run, "CASES", cases), \
                mock.patch.object(sys, "argv", ["bench/run", "--bin", "/bin/true", *args]), \
                mock.patch.object(run, "machine", lambda: {"cores": 1, "usable_cores": 1, "cpu": "?", "memory": "",
                                                          "kernel": "?", "python": "?", "node": "?", "swift": "?"}), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run.main()
    finally:
        for s, h in saved.items():
            signal.signal(s, h)
    return code, out.getvalue(), err.getvalue()


def lost_row(lost):
    return Row("failover: messages lost / delivered twice", lost, "msgs", text=f"{lost} lost, 0 twice of 1,000",
               target="0 lost", met=lost == 0, correctness=True)


def slow_row():
    return Row("latency p50", 900.0, "µs", target="≤ 150 µs", met=False)


class FailuresTests(unittest.TestCase):
    def test_a_NO_on_a_correctness_verdict_fails_naming_the_case_and_the_verdict(self):
        lines = failures([lost_row(3)])
        self.assertEqual(lines, ['failover: messages lost / delivered twice: NO on the correctness verdict "0 lost" '
                                 '(got 3 lost, 0 twice of 1,000)'])
        self.assertNotIn("\n", lines[0])

    def test_a_correctness_verdict_met_passes(self):
        self.assertEqual(failures([lost_row(0)]), [])

    def test_a_correctness_row_without_a_verdict_fails(self):
        row = lost_row(0)
        row.met = None
        self.assertEqual(len(failures([row])), 1)

    def test_a_missed_performance_target_does_not_fail(self):
        self.assertEqual(failures([slow_row()]), [])
        self.assertEqual(verdict(slow_row()), "NO")

    def test_a_broken_case_and_a_row_without_a_number_fail(self):
        lines = failures([Row("cross", failed="counter reported None"), Row("deploy", None, "ms")])
        self.assertEqual(lines, ["cross: broke: counter reported None", "deploy: produced no number (n/a)"])

    def test_optional_rows_do_not_fail(self):
        self.assertEqual(failures([Row("same chain vs bytewax", text="n/a: skipped", optional=True)]), [])


class RunExitStatusTests(unittest.TestCase):
    """bench/run's main() with one fake case in place of the real ones."""

    def run_main(self, rows, *args):
        return run_main([("fake", "a fake case", lambda ctx: rows)], *args)

    def test_smoke_exits_1_on_a_NO_on_a_correctness_verdict(self):
        code, out, err = self.run_main([slow_row(), lost_row(2)], "--smoke")
        self.assertEqual(code, 1)
        self.assertIn('bench: FAILED: failover: messages lost / delivered twice: NO on the correctness verdict "0 lost"', err)
        self.assertIn("| NO ", out)

    def test_full_run_exits_1_on_a_NO_on_a_correctness_verdict(self):
        code, _, err = self.run_main([lost_row(1)])
        self.assertEqual(code, 1)
        self.assertIn("NO on the correctness verdict", err)

    def test_a_missed_performance_target_alone_exits_0(self):
        code, out, err = self.run_main([slow_row(), lost_row(0)], "--smoke")
        self.assertEqual(code, 0, err)
        self.assertNotIn("FAILED", err)


if __name__ == "__main__":
    unittest.main()
