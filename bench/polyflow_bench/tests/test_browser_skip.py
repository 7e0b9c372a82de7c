"""The browser case is skipped (and says why) without chromedriver or Chromium,
except with CI=true, where that fails the run.

    python3 -m unittest discover -s bench/polyflow_bench/tests -t bench     (from the repo root)
"""
import os
import subprocess
import sys
import tempfile
import unittest

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, BENCH_DIR)

from polyflow_bench.cases import Row, missing_browser_tools, require_browser  # noqa: E402
from polyflow_bench.harness import BenchError, CaseSkipped  # noqa: E402
from polyflow_bench.tests.test_verdicts import run_main  # noqa: E402
from polyflow_bench.verdicts import failures, skipped, verdict  # noqa: E402


def fake_tools(directory, *names):
    for name in names:
        path = os.path.join(directory, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(path, 0o755)


class DetectionTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="polyflow-bench-test-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.dir]))

    def test_an_empty_path_lacks_both(self):
        self.assertEqual(missing_browser_tools(self.dir), ["chromedriver", "chromium"])

    def test_chromedriver_alone_lacks_chromium(self):
        fake_tools(self.dir, "chromedriver")
        self.assertEqual(missing_browser_tools(self.dir), ["chromium"])

    def test_any_chromium_name_with_chromedriver_is_enough(self):
        for name in ("chromium", "chromium-browser", "google-chrome"):
            with self.subTest(name=name):
                d = tempfile.mkdtemp(dir=self.dir)
                fake_tools(d, "chromedriver", name)
                self.assertEqual(missing_browser_tools(d), [])

    def test_missing_tools_skip_outside_CI(self):
        for ci in (None, "false", "1"):
            env = {"PATH": self.dir} if ci is None else {"PATH": self.dir, "CI": ci}
            with self.subTest(ci=ci), self.assertRaises(CaseSkipped) as e:
                require_browser(env)
            self.assertIn("chromedriver and chromium not on PATH", str(e.exception))

    def test_missing_tools_fail_with_CI_true(self):
        with self.assertRaises(BenchError) as e:
            require_browser({"PATH": self.dir, "CI": "true"})
        self.assertIn("CI=true but chromedriver and chromium not on PATH", str(e.exception))

    def test_present_tools_run(self):
        fake_tools(self.dir, "chromedriver", "chromium")
        for ci in ("true", None):
            env = {"PATH": self.dir} if ci is None else {"PATH": self.dir, "CI": ci}
            require_browser(env)   # no exception


class SkippedCaseTests(unittest.TestCase):
    def test_a_skipped_row_does_not_fail_and_says_why(self):
        rows = [Row("browser", optional=True, skipped="chromedriver not on PATH")]
        self.assertEqual(failures(rows), [])
        self.assertEqual(skipped(rows), ["browser: skipped: chromedriver not on PATH"])
        self.assertEqual(verdict(rows[0]), "skipped")

    def test_a_case_that_raises_CaseSkipped_is_shown_skipped_and_the_run_exits_0(self):
        def case(ctx):
            raise CaseSkipped("chromedriver not on PATH")
        code, out, err = run_main([("browser", "browser case", case)], "--smoke")
        self.assertEqual(code, 0, err)
        self.assertIn("bench: browser case: skipped: chromedriver not on PATH", err)
        self.assertIn("| skipped |", out)


class SmokeWithoutChromiumTests(unittest.TestCase):
    """`bench/run --smoke --only browser` with a PATH that has no Chromium: no server is started
    (the case is skipped before), so /bin/true stands in for flowctl."""

    def run_bench(self, ci):
        empty = tempfile.mkdtemp(prefix="polyflow-bench-test-")
        self.addCleanup(os.rmdir, empty)
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        env["PATH"] = empty
        if ci:
            env["CI"] = "true"
        return subprocess.run([sys.executable, os.path.join(BENCH_DIR, "run"), "--smoke", "--only", "browser",
                               "--bin", "/bin/true"], env=env, capture_output=True, text=True, timeout=120)

    def test_skipped_and_exit_0_outside_CI(self):
        r = self.run_bench(ci=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("| skipped |", r.stdout)
        self.assertIn("skipped: chromedriver and chromium not on PATH", r.stdout)   # the notes
        self.assertIn("bench: browser runner chain and round trip (headless Chromium): skipped: chromedriver and "
                      "chromium not on PATH", r.stderr)

    def test_fails_with_CI_true(self):
        r = self.run_bench(ci=True)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("bench: FAILED: browser runner chain and round trip (headless Chromium): broke: CI=true but "
                      "chromedriver and chromium not on PATH", r.stderr)


if __name__ == "__main__":
    unittest.main()
