"""The browser runner (issue 13) end to end: runtimes/browser/runner.html in a
real headless Chromium joins a real `flowctl serve` at /runners and runs the
`browser` modules of python3 → browser → node flows.
Run: python3 -m unittest discover -s web/tests -p 'test_browser_runner.py'
(after `swift build --product flowctl`; FLOWCTL_BIN overrides .build/debug/flowctl).
Skipped when chromedriver is missing, except with CI=true, where that fails.

Outputs are observed through the node sink's `state` (getFlow's `moduleState`):
the sink appends every `seq` it receives, so order, loss and duplicates are
all visible. Every wait is a poll with a timeout, never a sleep."""

import json
import os
import threading
import unittest
import urllib.request

from chromium_case import ChromiumServerTestCase
from webdriver import find_chromedriver, poll

ON_CI = os.environ.get("CI") == "true"
SLOW = 90  # seconds: the machine may be shared with a Swift build

SRC = "def on_message(msg, ctx):\n    return msg.payload\n"
MID = """exports.init = (ctx) => { ctx.state.n = ctx.state.n || 0; };
exports.onMessage = (msg, ctx) => {
  if (ctx.state.first === undefined) ctx.state.first = msg.payload.seq;
  ctx.state.n += 1;
  if (msg.payload.boom) throw new Error('boom at ' + msg.payload.seq);
  return { seq: msg.payload.seq, v: VERSION };
};"""
SINK = """exports.onMessage = (msg, ctx) => {
  (ctx.state.seen = ctx.state.seen || []).push(msg.payload.seq);
  if (msg.payload.v === 2) ctx.state.v2 = (ctx.state.v2 || 0) + 1;
};"""


def flow(flow_id, version=1):
    return {
        "id": flow_id,
        "modules": [
            {"id": "src", "runtime": "python3", "code": SRC},
            {"id": "mid", "runtime": "browser", "code": MID.replace("VERSION", str(version))},
            {"id": "sink", "runtime": "node", "code": SINK},
        ],
        "connections": [{"from": "src.out", "to": "mid.in"}, {"from": "mid.out", "to": "sink.in"}],
    }


def setUpModule():
    if find_chromedriver() is None:
        if ON_CI:
            raise RuntimeError("CI=true but chromedriver is missing: .ci/run installs chromium and chromium-driver")
        raise unittest.SkipTest("chromedriver is not installed (apt-get install chromium chromium-driver)")


class BrowserRunnerTestCase(ChromiumServerTestCase):
    token = None

    # The runner tabs
    def runner_url(self, name):
        url = f"{self.server.url}/runtimes/browser/runner.html?name={name}"
        return url + (f"#token={self.token}" if self.token else "")

    def open_runner(self, name):
        """Opens the runner page in the current window and waits for its welcome."""
        self.browser.get(self.runner_url(name))
        poll(f"{name} connected", lambda: self.browser.execute(
            "return window.polyflowRunner && window.polyflowRunner.link") == "connected", SLOW)
        poll(f"{name} in listRunners", lambda: self.runner_entry(name), SLOW)

    def new_window(self):
        handle = self.browser.cmd("POST", "/window/new", {"type": "window"})["handle"]
        self.browser.cmd("POST", "/window", {"handle": handle})
        return handle

    # The API
    def rpc(self, method, params=None):
        return self.server.rpc(method, params, token=self.token)

    def runner_entry(self, name):
        for r in self.rpc("listRunners"):
            if (r.get("id") or r.get("name")) == name and r.get("state") == "live":
                return r
        return None

    def deploy(self, doc):
        self.assertIs(self.rpc("addOrUpdateFlow", {"flow": doc}), True)
        self.addCleanup(self.rpc, "removeFlow", {"flowId": doc["id"]})
        try:
            self.rpc("startFlow", {"flowId": doc["id"]})
        except RuntimeError:
            pass  # already running

    def module(self, flow_id, module_id):
        return next(m for m in self.rpc("getFlow", {"flowId": flow_id})["modules"] if m["id"] == module_id)

    def wait_running_on(self, flow_id, module_id, runner):
        def placed():
            try:
                m = self.module(flow_id, module_id)
            except RuntimeError as e:
                # getFlow asks every runner of the flow; one lost while it asks fails that call
                # ("runner X left: silent for 3.1 secs"): the next call goes without it.
                if "left" in str(e):
                    return None
                raise
            return m.get("runner") == runner and m.get("state") == "running"
        poll(f"{flow_id}/{module_id} running on {runner}", placed, SLOW)

    def inject(self, flow_id, payload):
        self.assertIs(self.rpc("inject", {"flowModuleId": f"{flow_id}/src", "payload": payload}), True)

    def seen(self, flow_id):
        try:
            return (self.module(flow_id, "sink").get("moduleState") or {}).get("seen", [])
        except RuntimeError as e:
            if "left" in str(e):  # a runner found lost during this getFlow (see wait_running_on)
                return []
            raise

    def assert_duplicates_counted(self, flow_id, seen):
        """Messages seen twice at the sink are at most what `redelivered` counts (summed over the flow's modules)."""
        twice = len(seen) - len(set(seen))
        redelivered = sum((self.rpc("getFlow", {"flowId": flow_id}).get("redelivered") or {}).values())
        self.assertLessEqual(twice, redelivered, f"{twice} delivered twice, {redelivered} counted as redelivered")

    def wait_seen(self, flow_id, count):
        return poll(f"{count} messages at {flow_id}/sink", lambda: (lambda s: s if len(set(s)) >= count else None)(self.seen(flow_id)), SLOW)


class BrowserRunnerTests(BrowserRunnerTestCase):

    def test_a_python_browser_node_flow_delivers_in_order_and_the_tab_is_a_listed_runner(self):
        self.open_runner("tab-1")
        entry = self.runner_entry("tab-1")
        runtimes = [r["id"] if isinstance(r, dict) else r for r in entry["runtimes"]]
        self.assertEqual(runtimes, ["browser"], entry)
        self.deploy(flow("order"))
        self.wait_running_on("order", "mid", "tab-1")
        for seq in range(60):
            self.inject("order", {"seq": seq})
        self.assertEqual(self.wait_seen("order", 60), list(range(60)), "every message, once, in order")
        mid = self.module("order", "mid")
        self.assertEqual((mid["messagesIn"], mid["errors"]), (60, 0), mid)
        self.assertEqual(mid["moduleState"]["n"], 60)
        # The page shows the flow it runs.
        poll("the flow on the runner page", lambda: "order" in self.browser.find("#flows").text, SLOW)
        severe = [e for e in self.browser.logs() if e.get("level") == "SEVERE"]
        self.assertEqual(severe, [], "no CSP violation or other error on the runner page")

    def test_a_breakpoint_on_the_browser_module_pauses_the_flow_a_step_shows_it_and_resume_drains(self):
        self.open_runner("tab-debug")
        self.deploy(flow("debug"))
        self.wait_running_on("debug", "mid", "tab-debug")
        self.assertIs(self.rpc("setBreakPointAtModule", {"flowModuleId": "debug/mid"}), True)
        for seq in range(5):
            self.inject("debug", {"seq": seq})
        poll("the flow paused", lambda: self.rpc("getFlow", {"flowId": "debug"})["status"] == "paused", SLOW)
        self.assertEqual(self.seen("debug"), [])
        step = self.rpc("singleStepFlow", {"flowId": "debug"})
        self.assertIn("debug/mid", step, step)
        mid = step["debug/mid"]
        for key in ("inputStates", "outputStates", "errors", "state"):
            self.assertIn(key, mid, mid)
        self.assertIn('"seq": 0', json.dumps(mid["inputStates"]), mid)
        self.assertIn('"seq": 0', json.dumps(mid["outputStates"]), mid)
        self.assertEqual(mid["errors"], [])
        self.assertEqual(mid["state"]["n"], 1)
        self.assertNotIn("debug/sink", step, "the step's output is queued at sink, not processed")
        self.assertIs(self.rpc("removeBreakPointAtModule", {"flowModuleId": "debug/mid"}), True)
        self.rpc("resumeFlow", {"flowId": "debug"})
        self.assertEqual(self.wait_seen("debug", 5), list(range(5)), "resume drains, nothing lost")
        poll("the flow running", lambda: self.rpc("getFlow", {"flowId": "debug"})["status"] == "running", SLOW)

    def test_a_conditional_breakpoint_on_the_browser_module_pauses_only_on_a_match(self):
        self.open_runner("tab-cond")
        self.deploy(flow("cond"))
        self.wait_running_on("cond", "mid", "tab-cond")
        self.assertIs(self.rpc("setBreakPointAtModule", {"flowModuleId": "cond/mid", "condition": {"pointer": "/seq", "equals": 3}}), True)
        for seq in range(6):
            self.inject("cond", {"seq": seq})
        poll("the flow paused", lambda: self.rpc("getFlow", {"flowId": "cond"})["status"] == "paused", SLOW)
        # Nothing past the match went through. The ones before it went through, or wait at sink:
        # the pause holds the whole flow, so one still on its way to sink's runner is held there.
        self.assertTrue(set(self.seen("cond")) <= {0, 1, 2}, self.seen("cond"))
        step = self.rpc("singleStepFlow", {"flowId": "cond"})
        self.assertIn('"seq": 3', json.dumps(step["cond/mid"]["inputStates"]), step)
        self.assertIs(self.rpc("removeBreakPointAtModule", {"flowModuleId": "cond/mid"}), True)
        self.rpc("resumeFlow", {"flowId": "cond"})
        self.assertEqual(self.wait_seen("cond", 6), list(range(6)))

    def test_tags_choose_between_two_tabs(self):
        self.open_runner("tab-plain")
        first = self.browser.cmd("GET", "/window")
        self.new_window()
        self.browser.get(self.runner_url("tab-dash").replace("?name=tab-dash", "?name=tab-dash&tags=dashboard"))
        poll("tab-dash connected", lambda: self.runner_entry("tab-dash"), SLOW)
        self.assertEqual(self.runner_entry("tab-dash")["tags"], ["dashboard"])
        doc = flow("tags")
        doc["modules"][1]["tags"] = ["dashboard"]
        self.deploy(doc)
        self.wait_running_on("tags", "mid", "tab-dash")
        for seq in range(5):
            self.inject("tags", {"seq": seq})
        self.assertEqual(self.wait_seen("tags", 5), list(range(5)))
        self.browser.cmd("POST", "/window", {"handle": first})
        self.assertNotIn("tags", self.browser.find("#flows").text, "the untagged tab runs nothing of it")

    def test_a_browser_module_that_throws_is_an_error_with_its_stack_and_the_flow_goes_on(self):
        self.open_runner("tab-errors")
        self.deploy(flow("errors"))
        self.wait_running_on("errors", "mid", "tab-errors")
        for seq in range(10):
            self.inject("errors", {"seq": seq, "boom": seq == 3})
        seen = self.wait_seen("errors", 9)
        self.assertEqual(seen, [s for s in range(10) if s != 3])
        mid = poll("the error recorded", lambda: (lambda m: m if m["errors"] == 1 else None)(self.module("errors", "mid")), SLOW)
        error = mid["lastError"]
        self.assertIn("boom at 3", error["message"])
        self.assertTrue(error.get("stack"), error)
        self.assertIn("mid", error["stack"], "the stack names the module")
        self.assertEqual(error.get("payload"), {"seq": 3, "boom": True})
        self.assertEqual(len(mid["recentErrors"]), 1)

    def test_closing_the_tab_moves_its_modules_with_their_state_to_a_second_tab_and_nothing_is_lost(self):
        self.open_runner("tab-1")
        first = self.browser.cmd("GET", "/window")
        self.deploy(flow("move"))
        self.wait_running_on("move", "mid", "tab-1")
        for seq in range(20):
            self.inject("move", {"seq": seq})
        self.wait_seen("move", 20)
        poll("mid's state reported", lambda: (self.module("move", "mid").get("moduleState") or {}).get("n") == 20, SLOW)
        self.new_window()
        self.open_runner("tab-2")
        self.assertEqual(self.module("move", "mid")["runner"], "tab-1", "a new runner moves nothing")
        # Messages in flight while the tab closes.
        total = 220
        injector = threading.Thread(target=lambda: [self.inject("move", {"seq": s}) for s in range(20, total)])
        injector.start()
        poll("some messages past the first 20", lambda: len(self.seen("move")) >= 40, SLOW)
        self.browser.cmd("POST", "/window", {"handle": first})
        self.browser.cmd("DELETE", "/window")
        injector.join(SLOW)
        self.assertFalse(injector.is_alive())
        self.wait_running_on("move", "mid", "tab-2")
        seen = self.wait_seen("move", total)
        self.assertEqual(set(seen), set(range(total)), "every seq arrives (at-least-once)")
        self.assert_duplicates_counted("move", seen)
        state = self.module("move", "mid")["moduleState"]
        self.assertEqual(state["first"], 0, f"mid's state came along from tab-1: {state}")
        self.assertGreaterEqual(state["n"], 20)

    def test_a_frozen_tab_is_lost_by_silence_its_module_moves_and_on_thaw_it_drops_it(self):
        self.open_runner("tab-frozen")
        frozen = self.browser.cmd("GET", "/window")
        self.deploy(flow("freeze"))
        self.wait_running_on("freeze", "mid", "tab-frozen")
        for seq in range(10):
            self.inject("freeze", {"seq": seq})
        self.wait_seen("freeze", 10)
        self.new_window()
        self.open_runner("tab-warm")
        self.browser.cmd("POST", "/window", {"handle": frozen})
        self.browser.cmd("POST", "/goog/cdp/execute", {"cmd": "Page.setWebLifecycleState", "params": {"state": "frozen"}})
        for seq in range(10, 30):
            self.inject("freeze", {"seq": seq})
        self.wait_running_on("freeze", "mid", "tab-warm")
        self.assertEqual(set(self.wait_seen("freeze", 30)), set(range(30)), "every seq arrives (at-least-once)")
        self.browser.cmd("POST", "/goog/cdp/execute", {"cmd": "Page.setWebLifecycleState", "params": {"state": "active"}})
        poll("the thawed tab back, without the module", lambda: self.browser.execute(
            "const r = window.polyflowRunner; return r.link === 'connected' && r.snapshot().flows.every(f => f.modules.length === 0)"), SLOW)
        self.assertEqual(self.module("freeze", "mid")["runner"], "tab-warm", "it stays where it moved")
        for seq in range(30, 35):
            self.inject("freeze", {"seq": seq})
        seen = self.wait_seen("freeze", 35)
        self.assertEqual(set(seen), set(range(35)))
        self.assert_duplicates_counted("freeze", seen)

    def test_a_hot_swap_of_the_browser_module_under_load_loses_nothing(self):
        self.open_runner("tab-swap")
        self.deploy(flow("swap"))
        self.wait_running_on("swap", "mid", "tab-swap")
        total = 300
        injector = threading.Thread(target=lambda: [self.inject("swap", {"seq": s}) for s in range(total)])
        injector.start()
        poll("the load running", lambda: len(self.seen("swap")) >= 20, SLOW)
        self.assertIs(self.rpc("addOrUpdateFlow", {"flow": flow("swap", version=2)}), True)
        injector.join(SLOW)
        self.assertFalse(injector.is_alive())
        seen = self.wait_seen("swap", total)
        self.assertEqual(seen, list(range(total)), "nothing lost, nothing twice, in order")
        sink = self.module("swap", "sink")["moduleState"]
        self.assertGreater(sink.get("v2", 0), 0, "the new code ran")
        mid = self.module("swap", "mid")
        self.assertEqual(mid["moduleState"]["n"], total, "state kept across the swap")
        self.assertEqual(mid["runner"], "tab-swap")

    def test_a_hot_swap_moves_the_module_from_the_browser_to_node_and_back_with_its_state(self):
        self.open_runner("tab-rt")
        self.deploy(flow("rt"))
        self.wait_running_on("rt", "mid", "tab-rt")
        for seq in range(10):
            self.inject("rt", {"seq": seq})
        self.wait_seen("rt", 10)
        poll("mid's state reported", lambda: (self.module("rt", "mid").get("moduleState") or {}).get("n") == 10, SLOW)
        to_node = flow("rt")
        to_node["modules"][1]["runtime"] = "node"
        self.assertIs(self.rpc("addOrUpdateFlow", {"flow": to_node}), True)
        self.wait_running_on("rt", "mid", "local")
        for seq in range(10, 20):
            self.inject("rt", {"seq": seq})
        self.assertEqual(self.wait_seen("rt", 20), list(range(20)))
        self.assertEqual(self.module("rt", "mid")["moduleState"]["n"], 20, "the state came along to node")
        self.assertIs(self.rpc("addOrUpdateFlow", {"flow": flow("rt")}), True)
        self.wait_running_on("rt", "mid", "tab-rt")
        for seq in range(20, 30):
            self.inject("rt", {"seq": seq})
        self.assertEqual(self.wait_seen("rt", 30), list(range(30)))
        self.assertEqual(self.module("rt", "mid")["moduleState"]["n"], 30, "and back to the tab")


class ExampleAndPageSwitchTests(BrowserRunnerTestCase):
    flows = ("browser.json",)

    def test_the_example_flow_draws_a_live_table_in_the_runner_tab(self):
        self.open_runner("tab-1")
        self.wait_running_on("browser", "show", "tab-1")
        for text in ("Hello Browser", "Second Row"):
            self.rpc("inject", {"flowModuleId": "browser/parse", "payload": {"text": text}})
        rows = poll("two rows in the live table", lambda: (lambda r: r if len(r) == 2 else None)(
            self.browser.find_all("#modules-area table.polyflow-live-table tbody tr")), SLOW)
        self.assertIn('"second"', rows[0].text, "newest first")
        self.assertIn('"hello"', rows[1].text)
        count = poll("count's state", lambda: (self.module("browser", "count").get("moduleState") or {}).get("rows") == 2, SLOW)
        self.assertTrue(count)
        # What the modules draw sits under a heading of its own, not under "Last errors".
        where = self.browser.execute("""
            const area = document.getElementById('modules-area'), section = area.closest('section');
            const headings = [...document.querySelectorAll('h2')];
            const before = headings.filter((h) => h.compareDocumentPosition(area) & Node.DOCUMENT_POSITION_FOLLOWING);
            return { section: section && section.querySelector('h2').textContent, nearest: before.at(-1).textContent,
                     inErrors: !!document.getElementById('errors').closest('section').contains(area),
                     label: area.getAttribute('aria-labelledby') && document.getElementById(area.getAttribute('aria-labelledby')).textContent };""")
        self.assertEqual(where, {"section": "What the modules show", "nearest": "What the modules show",
                                 "inErrors": False, "label": "What the modules show"})

    def test_the_web_page_switch_makes_the_page_a_runner_that_runs_browser_modules(self):
        b = self.browser
        b.get(self.server.url + "/")
        b.wait_for('#flows tr[data-flow="browser"]', timeout=SLOW)
        b.find("#runner-switch").click()
        b.wait_for("#runner-message", text="runs browser modules as runner", timeout=SLOW)
        name = b.find("#runner-message").text.split('"')[1]
        self.wait_running_on("browser", "show", name)
        self.rpc("inject", {"flowModuleId": "browser/parse", "payload": {"text": "From The Page"}})
        b.wait_for("table.polyflow-live-table tbody tr", text='"from"', timeout=SLOW)
        severe = [e for e in b.logs() if e.get("level") == "SEVERE"]
        self.assertEqual(severe, [], "no CSP violation: the page may compile module code")


class TokenAndPolicyTests(BrowserRunnerTestCase):
    server_args = ("--token", "tab-token")
    token = "tab-token"

    def headers(self, path):
        with urllib.request.urlopen(self.server.url + path, timeout=30) as r:
            return r.headers

    def test_runner_pages_may_eval_and_every_other_page_stays_strict(self):
        host = self.server.url.split("//", 1)[1]
        for path in ("/runtimes/browser/runner.html", "/runtimes/browser/examples/table.html", "/"):
            csp = self.headers(path)["Content-Security-Policy"]
            directives = dict((d.split(" ", 1) + [""])[:2] for d in csp.split("; "))
            self.assertEqual(directives["script-src"], "'self' 'unsafe-eval'", path)
            self.assertIn(f"ws://{host}", directives["connect-src"], path)
            self.assertNotIn("unsafe-inline", csp, path)
            self.assertEqual(directives["frame-ancestors"], "'none'", path)
        self.assertIsNone(self.headers("/runtimes/browser/polyflow.js")["Content-Security-Policy"])

    def test_a_tab_with_the_token_in_the_fragment_joins_and_runs_a_module(self):
        self.open_runner("tab-t")
        self.assertNotIn("tab-token", self.browser.execute("return location.href"), "the token leaves the address bar")
        self.deploy(flow("tok"))
        self.wait_running_on("tok", "mid", "tab-t")
        for seq in range(3):
            self.inject("tok", {"seq": seq})
        self.assertEqual(self.wait_seen("tok", 3), [0, 1, 2])

    def test_a_wrong_token_is_refused_in_the_hello_and_the_page_asks_for_the_right_one(self):
        b = self.browser
        b.get(f"{self.server.url}/runtimes/browser/runner.html?name=tab-w#token=wrong")
        poll("the refusal", lambda: b.execute("return window.polyflowRunner && window.polyflowRunner.link") == "refused", SLOW)
        b.wait_for("#token-form:not([hidden])", timeout=SLOW)
        self.assertIsNone(self.runner_entry("tab-w"))
        # Said the browser's way: the field, or the page's address with the token; not a command-line option.
        refusal = b.wait_for("#refusal", text="refused the token", timeout=SLOW)
        self.assertIn("Enter the dispatcher's token", refusal.text)
        self.assertIn("runner.html?name=tab-w#token=TOKEN", refusal.text)
        self.assertEqual(b.execute("return document.activeElement.id"), "token", "the field has the focus")
        poll("the refusal among the last errors", lambda: "refused" in b.find("#errors").text, SLOW)
        self.assertNotIn("--token", b.execute("return document.body.innerText"))
        self.assertNotIn("FLOWCTL_TOKEN", b.execute("return document.body.innerText"))
        b.find("#token").send_keys(self.token)
        b.find("#token-form button").click()
        poll("tab-w connected", lambda: b.execute("return window.polyflowRunner.link") == "connected", SLOW)
        poll("tab-w in listRunners", lambda: self.runner_entry("tab-w"), SLOW)
        self.assertTrue(b.find("#refusal").prop("hidden"), "the refusal goes once the right token is in")

    def test_a_tab_without_a_token_is_told_to_enter_one(self):
        b = self.browser
        b.get(f"{self.server.url}/runtimes/browser/runner.html?name=tab-none")
        poll("the refusal", lambda: b.execute("return window.polyflowRunner && window.polyflowRunner.link") == "refused", SLOW)
        refusal = b.wait_for("#refusal", text="needs a token", timeout=SLOW)
        self.assertIn("Enter the dispatcher's token", refusal.text)
        self.assertNotIn("--token", b.execute("return document.body.innerText"))


if __name__ == "__main__":
    unittest.main()
