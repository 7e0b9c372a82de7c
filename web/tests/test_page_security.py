"""The page's defences, tried: the Content-Security-Policy each kind of page
gets (parsed, compared exactly), and hostile HTML carried by everything a
flow can put on the page (its description, log lines, error messages,
payloads, state, a breakpoint's condition) shown as text, never run.
Headless Chromium against a real server (see test_page.py)."""

import os
import shutil
import tempfile
import unittest
import urllib.request

from page_case import PageTestCase, require_chromedriver, severe
from polyflow_server import REPO
from webdriver import poll


def setUpModule():
    require_chromedriver()


def directives(policy):
    """'a x y; b z' → {'a': ['x', 'y'], 'b': ['z']} (each directive once, as CSP requires)."""
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            if words[0] in out:
                raise AssertionError(f"directive {words[0]} twice in {policy!r}")
            out[words[0]] = words[1:]
    return out


class DirectiveParserTests(unittest.TestCase):
    def test_sources_are_compared_whole_not_as_substrings(self):
        d = directives("default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self'")
        self.assertEqual(d["script-src"], ["'self'", "'unsafe-eval'"])
        self.assertNotEqual(d["script-src"], ["'self'"], "a policy with 'unsafe-eval' is not the strict one")
        self.assertEqual(directives("script-src 'self'")["script-src"], ["'self'"])


HOSTILE = "<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script><b>bold</b>"

MODULE = f"""H = {HOSTILE!r}

def on_message(msg, ctx):
    ctx.log(H)
    ctx.state['note'] = H
    if msg.payload == 'throw':
        raise ValueError(H)
    return H
"""

# Before the page's own scripts: every CSP violation the page meets is recorded.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


class ContentSecurityPolicyTests(PageTestCase):
    """The HTML pages and what their policy allows. A copy of web/ with one more HTML page
    (`strict-probe.html`, a page that runs no browser modules) is served (POLYFLOW_WEB)."""
    flows = ()

    @classmethod
    def setUpClass(cls):
        cls.web_tmp = tempfile.mkdtemp(prefix="polyflow-web-")
        cls.web = os.path.join(cls.web_tmp, "web")
        shutil.copytree(os.path.join(REPO, "web"), cls.web, ignore=shutil.ignore_patterns("tests", "__pycache__"))
        with open(os.path.join(cls.web, "strict-probe.html"), "w") as f:
            f.write("<!doctype html><title>probe</title><p>no scripts</p>\n")
        try:
            super().setUpClass()
        except Exception:
            shutil.rmtree(cls.web_tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.web_tmp, ignore_errors=True)

    def head(self, path):
        with urllib.request.urlopen(self.server.url + path, timeout=30) as r:
            return r.status, r.headers

    def policy(self, path):
        status, headers = self.head(path)
        self.assertEqual(status, 200, path)
        values = headers.get_all("Content-Security-Policy") or []
        self.assertEqual(len(values), 1, f"{path}: one policy header")
        return directives(values[0])

    def assert_common(self, path, d):
        host = self.server.url.split("//", 1)[1]
        self.assertEqual(d["default-src"], ["'none'"], path)
        self.assertEqual(d["style-src"], ["'self'"], path)
        self.assertEqual(d["connect-src"], ["'self'", f"ws://{host}", f"wss://{host}"], path)
        self.assertEqual(d["frame-ancestors"], ["'none'"], path)
        self.assertEqual(d["base-uri"], ["'none'"], path)
        self.assertEqual(d["form-action"], ["'none'"], path)
        for name, sources in d.items():
            self.assertNotIn("'unsafe-inline'", sources, f"{path}: {name}")
            self.assertNotIn("*", sources, f"{path}: {name}")

    def test_an_html_page_that_runs_no_browser_modules_gets_script_src_self_alone(self):
        d = self.policy("/web/strict-probe.html")
        self.assertEqual(d["script-src"], ["'self'"])
        self.assert_common("/web/strict-probe.html", d)

    def test_the_page_and_the_runner_page_may_eval_module_code_and_nothing_more(self):
        # The web page is a browser runner once its switch is on (module code compiled from text),
        # so the server gives it, like the runner page, 'unsafe-eval' (docs/security.md); never inline script.
        for path in ("/", "/web/index.html", "/runtimes/browser/runner.html"):
            d = self.policy(path)
            self.assertEqual(d["script-src"], ["'self'", "'unsafe-eval'"], path)
            self.assert_common(path, d)

    def test_scripts_and_styles_are_served_without_a_policy_but_never_sniffed(self):
        for path, kind in (("/web/js/main.js", "text/javascript"), ("/web/css/page.css", "text/css"),
                           ("/runtimes/browser/polyflow.js", "text/javascript")):
            status, headers = self.head(path)
            self.assertEqual(status, 200, path)
            self.assertIsNone(headers.get("Content-Security-Policy"), path)
            self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff", path)
            self.assertTrue(headers.get("Content-Type", "").startswith(kind), (path, headers.get("Content-Type")))
            self.assertEqual(headers.get("X-Frame-Options"), None, path)
        _, headers = self.head("/")
        self.assertEqual(headers.get("X-Frame-Options"), "DENY")


class HostileTextTests(PageTestCase):
    flows = ()

    def setUp(self):
        super().setUp()
        self.browser.cmd("POST", "/goog/cdp/execute", {"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": WATCH}})

    def assert_nothing_ran(self):
        b = self.browser
        self.assertIsNone(b.execute("return window.__pwned === undefined ? null : window.__pwned"), "injected code ran")
        self.assertEqual(b.execute("return document.querySelectorAll('img, b, script:not([src])').length"), 0,
                         "markup from the flow became elements")
        self.assertEqual(b.execute("return window.__violations"), [], "nothing even tried to run (no CSP violation)")
        self.assertEqual(severe(b.logs()), [])

    def test_hostile_html_in_a_flow_is_shown_as_text_everywhere_and_never_runs(self):
        self.deploy({
            "id": "hostile", "description": HOSTILE,
            "modules": [{"id": "echo", "runtime": "python3", "code": MODULE},
                        {"id": "sink", "runtime": "python3", "code": "def on_message(msg, ctx):\n    ctx.state['last'] = msg.payload\n"}],
            "connections": [{"from": "echo.out", "to": "sink.in"}],
        })
        b = self.browser
        # The overview: the flow's description.
        self.open("/")
        row = b.wait_for('#flows tr[data-flow="hostile"]')
        self.assertIn(HOSTILE, row.text)
        # The flow: a payload through the form, an error, logs, state; all in the tail and the panel.
        self.open("/flows/hostile")
        b.wait_for('g.module[data-module="echo"]')
        self.inject_from_form("echo", '"hello"')
        self.inject_from_form("echo", '"throw"')
        b.wait_for("#tail li.log", text=HOSTILE)
        b.wait_for("#tail li.error", text=HOSTILE)
        b.wait_for('g.module[data-module="echo"]').click()
        b.wait_for("#module-last-error", text=HOSTILE)
        b.wait_for("#module-logs", text=HOSTILE)
        b.wait_for("#module-state-json", text=HOSTILE)
        # A breakpoint with the text in its condition, a pause on it, a step that shows it.
        b.find("#bp-mode")
        b.execute("const s = document.getElementById('bp-mode'); s.value = 'equals'; s.dispatchEvent(new Event('change'));")
        b.find("#bp-equals").send_keys('"' + HOSTILE + '"')
        b.find("#bp-set").click()
        b.wait_for("#bp-current", text=HOSTILE)
        self.addCleanup(self.server.rpc, "resumeFlow", {"flowId": "hostile"})
        self.addCleanup(self.server.rpc, "removeBreakPointAtModule", {"flowModuleId": "hostile/echo"})
        self.server.rpc("inject", {"flowModuleId": "hostile/echo", "payload": HOSTILE})
        b.wait_for("#paused-at", text="<img src=x")
        b.find('g.module[data-module="echo"]').click()  # unselect
        b.find('g.module[data-module="echo"]').click()
        b.wait_for("#module-panel .held-payloads", text=HOSTILE)
        b.find("#step").click()
        step = b.wait_for('#step-detail section.step-module[data-module="hostile/echo"]')
        self.assertIn(HOSTILE, step.find_all("dd.inputs")[0].text)
        self.assertIn(HOSTILE, step.find_all("dd.outputs")[0].text)
        self.assertIn(HOSTILE, step.find_all("dd.state")[0].text)
        # The inject form's echo of the last payload, and the graph's titles, too.
        self.assert_nothing_ran()

    def test_hostile_html_in_a_browser_module_error_is_text_on_the_runner_page(self):
        self.deploy({"id": "hostile-tab", "modules": [{"id": "b", "runtime": "browser",
                     "code": "exports.onMessage = (msg) => { throw new Error(msg.payload); };"}], "connections": []})
        b = self.browser
        b.get(f"{self.server.url}/runtimes/browser/runner.html?name=tab-hostile")
        poll("the tab running the module", lambda: next(
            m for m in self.server.rpc("getFlow", {"flowId": "hostile-tab"})["modules"])["state"] == "running", 90)
        self.server.rpc("inject", {"flowModuleId": "hostile-tab/b", "payload": HOSTILE})
        b.wait_for("#errors li", text=HOSTILE, timeout=90)
        b.wait_for("#flows", text="hostile-tab")
        self.assert_nothing_ran()


if __name__ == "__main__":
    unittest.main()
