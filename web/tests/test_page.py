"""The web page (issue 14) in a real headless Chromium against a real
server with real runtimes. Run: python3 -m unittest discover -s web/tests
(after `swift build`; FLOWCTL_BIN overrides .build/debug/flowctl).
Skipped when chromedriver is missing, except with CI=true, where that fails.
POLYFLOW_SCREENSHOTS=1 saves the main views to docs/screenshots/."""

import json
import os
import shutil
import tempfile
import unittest
import urllib.error
import urllib.request

from page_case import PageTestCase, require_chromedriver, screenshot, severe
from polyflow_server import REPO
from webdriver import ENTER, SPACE, TAB, poll


def setUpModule():
    require_chromedriver()


class OverviewAndGraphTests(PageTestCase):
    flows = ("pipeline.json", "fanout.json", "debug.json")

    def test_the_page_loads_with_no_console_error(self):
        b = self.browser
        self.open("/")
        for flow in ("pipeline", "fanout", "words"):
            b.wait_for(f'#flows tr[data-flow="{flow}"]')
        b.wait_for("#runners tr[data-runner]", text="python3")
        poll("the event socket", lambda: b.find("#conn").text == "live")
        screenshot(b, "overview")
        self.open("/flows/fanout")
        b.wait_for('g.module[data-module="collect"]')
        poll("counters", lambda: "in " in b.find('g.module[data-module="collect"] text.counters').text)
        self.assertEqual(severe(b.logs()), [])

    def test_the_graph_shows_every_module_and_edge(self):
        b = self.browser
        for file, flow in (("fanout.json", "fanout"), ("debug.json", "words"), ("pipeline.json", "pipeline")):
            with open(os.path.join(REPO, "examples", "flows", file)) as f:
                doc = json.load(f)
            self.open(f"/flows/{flow}")
            b.wait_for(f'svg.graph[aria-label^="graph of flow {flow}"]')
            shown = sorted(e.attr("data-module") for e in b.find_all("svg.graph g.module"))
            self.assertEqual(shown, sorted(m["id"] for m in doc["modules"]), flow)
            edges = sorted((e.attr("data-from"), e.attr("data-to")) for e in b.find_all("svg.graph path.edge"))
            self.assertEqual(edges, sorted((c["from"], c["to"]) for c in doc["connections"]), flow)
            for m in doc["modules"]:
                box = b.find(f'g.module[data-module="{m["id"]}"]')
                self.assertIn(m["runtime"], box.text)
                self.assertIn("local", box.text, "the runner is shown")
        self.assertEqual(severe(b.logs()), [])

    def test_fifty_modules_are_laid_out_without_overlaps(self):
        modules = [{"id": f"m{i}", "runtime": "python3" if i % 3 else "node",
                    "code": "def on_message(m, c):\n    return m.payload\n" if i % 3 else "module.exports = (m) => m.payload;"}
                   for i in range(50)]
        connections = [{"from": f"m{(i - 1) // 2}.out", "to": f"m{i}.in"} for i in range(1, 50)]
        connections += [{"from": "m21.out", "to": "m3.in"}, {"from": "m40.out", "to": "m9.in"}, {"from": "m7.out", "to": "m7.in"}]
        self.server.rpc("addOrUpdateFlow", {"flow": {"id": "big", "modules": modules, "connections": connections}})
        self.addCleanup(self.server.rpc, "removeFlow", {"flowId": "big"})
        b = self.browser
        self.open("/flows/big")
        b.wait_for('g.module[data-module="m49"]', timeout=30)
        self.assertEqual(len(b.find_all("svg.graph path.edge")), len(connections))
        boxes = b.execute("""return [...document.querySelectorAll('svg.graph g.module rect.box')].map(r => {
            const b = r.getBBox(); return [b.x, b.y, b.width, b.height]; });""")
        self.assertEqual(len(boxes), 50)
        for i, (x, y, w, h) in enumerate(boxes):
            for (x2, y2, w2, h2) in boxes[i + 1:]:
                self.assertFalse(x < x2 + w2 and x2 < x + w and y < y2 + h2 and y2 < y + h, f"boxes overlap at {x},{y}")
        screenshot(b, "fifty-modules")

    def test_counters_move_when_messages_are_injected_from_the_form(self):
        b = self.browser
        self.open("/flows/pipeline")
        b.wait_for('g.module[data-module="enrich"]')
        before = self.server.rpc("getFlow", {"flowId": "pipeline"})
        enrich_out = next(m["messagesOut"] for m in before["modules"] if m["id"] == "enrich")
        for i in range(3):
            self.inject_from_form("parse", json.dumps({"text": f"Hello From Python {i}"}))
            b.wait_for("#inject-note", text=f"({i + 1} from this page)")
        self.wait_counter("enrich", "out", enrich_out + 3)
        self.wait_counter("parse", "in", enrich_out + 3)
        b.wait_for("#tail li.output", text="Hello From Python 2".lower().split()[0])
        screenshot(b, "flow")
        # A payload that is not JSON is caught on the page: nothing is sent.
        self.inject_from_form("parse", "{text: oops}")
        error = b.wait_for("#inject-error", text="not JSON")
        self.assertTrue(error.text)
        self.assertEqual(self.counter("parse", "in"), enrich_out + 3)

    def test_the_debugger_is_reachable_with_the_keyboard(self):
        b = self.browser
        self.open("/flows/pipeline")
        b.wait_for('g.module[data-module="enrich"]')
        # Tab from the Step button (Resume is disabled while the flow runs) reaches the first module, then its dot.
        b.execute("document.getElementById('step').focus()")
        b.press(TAB)
        self.assertEqual(b.focused().attr("data-module"), "parse")
        b.press(TAB)
        self.assertEqual(b.focused().attr("data-breakpoint"), "parse")
        b.press(ENTER)
        poll("the breakpoint set by Enter", lambda: b.find('circle[data-breakpoint="parse"]').attr("aria-pressed") == "true")
        b.find('circle[data-breakpoint="parse"]')  # still there after the refresh
        b.execute("document.querySelector('circle[data-breakpoint=\"parse\"]').focus()")
        b.press(SPACE)
        poll("the breakpoint removed by Space", lambda: b.find('circle[data-breakpoint="parse"]').attr("aria-pressed") == "false")
        self.assertEqual(self.server.rpc("getFlow", {"flowId": "pipeline"})["breakpoints"], [])
        # Enter on a module selects it.
        b.execute("document.querySelector('g.module[data-module=\"enrich\"]').focus()")
        b.press(ENTER)
        b.wait_for("#module-panel h2", text="Module enrich")


class NoBrowserRunnerTests(PageTestCase):
    """A server whose runtimes directory has no browser/ (POLYFLOW_RUNTIMES: the repository's
    runtimes, linked one by one, without browser/): /runtimes/browser/polyflow.js is a 404."""
    flows = ("pipeline.json",)

    @classmethod
    def setUpClass(cls):
        cls.runtimes_tmp = tempfile.mkdtemp(prefix="polyflow-runtimes-")
        source = os.path.join(REPO, "runtimes")
        for name in os.listdir(source):
            if name != "browser":
                os.symlink(os.path.join(source, name), os.path.join(cls.runtimes_tmp, name))
        cls.runtimes = cls.runtimes_tmp
        try:
            super().setUpClass()
        except Exception:
            shutil.rmtree(cls.runtimes_tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.runtimes_tmp, ignore_errors=True)

    def test_the_runner_switch_says_when_the_server_has_no_browser_runner(self):
        with self.assertRaises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(self.server.url + "/runtimes/browser/polyflow.js", timeout=30)
        self.assertEqual(missing.exception.code, 404, "this server really has no browser runner")
        b = self.browser
        self.open("/")
        b.wait_for('#flows tr[data-flow="pipeline"]')
        b.find("#runner-switch").click()
        b.wait_for("#runner-message.bad", text="no browser runner")
        self.assertFalse(b.find("#runner-switch").prop("checked"))
        self.assertFalse(b.find("#runner-switch").prop("disabled"), "it can be tried again")
        # The rest of the page works on: the flows are live.
        b.wait_for('#flows tr[data-flow="pipeline"]')
        logs = severe(b.logs())
        self.assertTrue(all("polyflow.js" in e.get("message", "") for e in logs), logs)


class DebuggerTests(PageTestCase):
    flows = ("debug.json",)

    def test_a_click_sets_a_breakpoint_step_shows_the_result_and_resume_drains(self):
        b = self.browser
        self.open("/flows/words")
        b.wait_for('g.module[data-module="clean"]')
        total_in = self.server.rpc("getFlow", {"flowId": "words"})["modules"][3]["messagesIn"]

        # A click on the module's dot sets the breakpoint.
        b.find('circle[data-breakpoint="clean"]').click()
        poll("the breakpoint shown", lambda: b.find('circle[data-breakpoint="clean"]').attr("aria-pressed") == "true")
        self.assertEqual(self.server.rpc("getFlow", {"flowId": "words"})["breakpoints"], [{"module": "clean"}])

        # The next message pauses the flow at clean, with the words held there.
        self.inject_from_form("split", '"Hello, brave world"')
        b.wait_for("#flow-status", text="paused")
        b.wait_for('g.module.paused[data-module="clean"]')
        b.wait_for('g.module[data-module="clean"] text.held', text="3 held")
        b.wait_for("#paused-at", text="clean.in")
        b.find('g.module[data-module="clean"]').click()
        b.wait_for("#module-panel .held-payloads", text='"brave"')
        screenshot(b, "paused")

        # Step: only clean runs; the result is the documented one.
        b.find("#step").click()
        section = b.wait_for('#step-detail section.step-module[data-module="words/clean"]')
        self.assertEqual(section.find_all("dd.inputs")[0].text, 'in: "Hello,"')
        self.assertEqual(section.find_all("dd.outputs")[0].text, 'out: ["hello"]')
        self.assertEqual(section.find_all("dd.err")[0].text, "none")
        self.assertEqual(len(b.find_all("#step-detail section.step-module")), 1)

        # Step again: clean and score each process their oldest message.
        b.find("#step").click()
        score = b.wait_for('#step-detail section.step-module[data-module="words/score"]')
        self.assertIn('"word":"hello"', score.find_all("dd.outputs")[0].text)
        self.assertIn('"scored": 1', score.find_all("dd.state")[0].text)
        self.assertIn('in: "brave"', b.find('#step-detail section.step-module[data-module="words/clean"] dd.inputs').text)
        screenshot(b, "step")
        # The history keeps both steps; the first can be shown again.
        steps = b.find_all("#step-list button")
        self.assertEqual(len(steps), 2, "a step taken here is not listed twice (its stepped event is the same step)")
        steps[1].click()
        b.wait_for("#step-detail h3", text="Step 1")

        # Remove the breakpoint (the dot again) and resume: everything drains, nothing lost.
        b.find('circle[data-breakpoint="clean"]').click()
        poll("the breakpoint removed", lambda: b.find('circle[data-breakpoint="clean"]').attr("aria-pressed") == "false")
        b.find("#resume").click()
        b.wait_for("#flow-status", text="running")
        self.wait_counter("total", "in", total_in + 3)
        outputs = poll("three outputs of total in the tail",
                       lambda: [li.text for li in b.find_all("#tail li.output") if "total.out" in li.text] if
                       len([li for li in b.find_all("#tail li.output") if "total.out" in li.text]) >= 3 else None)
        self.assertEqual(len(outputs), 3)
        for word in ("hello", "brave", "world"):
            self.assertTrue(any(f'"word":"{word}"' in o for o in outputs), f"{word} in {outputs}")
        self.assertEqual(severe(b.logs()), [])

    def test_a_conditional_breakpoint_from_the_panel_and_a_bad_condition_is_shown_there(self):
        b = self.browser
        self.open("/flows/words")
        b.wait_for('g.module[data-module="score"]').click()
        b.wait_for("#bp-mode")
        b.execute("const s = document.getElementById('bp-mode'); s.value = 'equals'; s.dispatchEvent(new Event('change'));")
        b.find("#bp-pointer").send_keys("total")
        b.find("#bp-set").click()
        b.wait_for("#breakpoint-error", text="not a JSON Pointer")
        b.find("#bp-pointer").clear()
        b.find("#bp-equals").send_keys('"world"')
        b.find("#bp-set").click()
        b.wait_for("#bp-current", text='"equals":"world"')
        self.inject_from_form("split", '"brave new world"')
        b.wait_for("#paused-at", text='score.in on "world"')
        # A step taken elsewhere (flowctl, the API) joins the page's history, marked as such.
        result = self.server.rpc("singleStepFlow", {"flowId": "words"})
        self.assertIn("words/score", result)
        b.wait_for("#step-detail h3", text="from another client")
        b.wait_for('#step-detail section.step-module[data-module="words/score"] dd.inputs', text='in: "world"')
        self.assertEqual(len(b.find_all("#step-list button")), 1)
        b.find("#bp-remove").click()
        b.wait_for("#bp-current", text="None")
        b.find("#resume").click()
        b.wait_for("#flow-status", text="running")

    def test_resume_ignoring_breakpoints_runs_on_and_disabled_breakpoints_can_be_restored(self):
        b = self.browser
        self.open("/flows/words")
        b.wait_for('g.module[data-module="clean"]')
        total_in = next(m for m in self.server.rpc("getFlow", {"flowId": "words"})["modules"] if m["id"] == "total")["messagesIn"]
        # While the flow runs, Step is not the emphasised button, and there is nothing to resume.
        b.wait_for("#flow-status", text="running")
        self.assertNotIn("primary", b.find("#step").attr("class") or "")
        self.assertTrue(b.find("#resume-ignoring").prop("disabled"))
        self.assertTrue(b.find("#disable-breakpoints").prop("disabled"), "no breakpoint to disable")
        # Two breakpoints, one with a condition; a message pauses the flow at clean.
        b.find('circle[data-breakpoint="clean"]').click()
        self.assertIs(self.server.rpc("setBreakPointAtModule", {"flowModuleId": "words/score", "condition": {"pointer": "", "equals": "x"}}), True)
        poll("both breakpoints shown", lambda: b.find('circle[data-breakpoint="score"]').attr("aria-pressed") == "true"
             and b.find('circle[data-breakpoint="clean"]').attr("aria-pressed") == "true")
        self.inject_from_form("split", '"Hello, brave world"')
        b.wait_for("#flow-status", text="paused")
        poll("Step emphasised while paused", lambda: "primary" in (b.find("#step").attr("class") or ""))
        self.assertFalse(b.find("#resume-ignoring").prop("disabled"))
        # Resume, ignoring breakpoints: the three words drain and the flow stays running.
        b.find("#resume-ignoring").click()
        b.wait_for("#flow-status", text="running")
        self.wait_counter("total", "in", total_in + 3)
        self.assertEqual(self.server.rpc("getFlow", {"flowId": "words"})["breakpoints"], [])
        self.assertNotIn("primary", b.find("#step").attr("class") or "")
        restore = b.wait_for("#restore-breakpoints", text="Restore 2 breakpoints")
        # A later message runs through too: nothing pauses it.
        self.inject_from_form("split", '"again"')
        self.wait_counter("total", "in", total_in + 4)
        self.assertEqual(self.server.rpc("getFlow", {"flowId": "words"})["status"], "running")
        # Restored as they were, condition included; then disabled without resuming, and restored again.
        restore.click()
        poll("the breakpoints back", lambda: self.server.rpc("getFlow", {"flowId": "words"})["breakpoints"] == [
            {"module": "clean"}, {"module": "score", "condition": {"pointer": "", "equals": "x"}}])
        poll("the restore button gone", lambda: b.find("#restore-breakpoints").prop("hidden") is True)
        poll("Disable all enabled", lambda: b.find("#disable-breakpoints").prop("disabled") is False)
        b.find("#disable-breakpoints").click()
        poll("the breakpoints disabled", lambda: self.server.rpc("getFlow", {"flowId": "words"})["breakpoints"] == [])
        b.wait_for("#debug-note", text="2 breakpoints disabled")
        b.wait_for("#restore-breakpoints", text="Restore 2 breakpoints").click()
        poll("the breakpoints back again", lambda: len(self.server.rpc("getFlow", {"flowId": "words"})["breakpoints"]) == 2)
        for module in ("clean", "score"):
            self.server.rpc("removeBreakPointAtModule", {"flowModuleId": f"words/{module}"})
        self.assertEqual(severe(b.logs()), [])


class ReconnectTests(PageTestCase):
    flows = ("pipeline.json",)

    def test_the_event_socket_drop_is_shown_and_the_page_reconnects(self):
        b = self.browser
        self.open("/flows/pipeline")
        b.wait_for('g.module[data-module="enrich"]')
        poll("the event socket", lambda: b.find("#conn").text == "live")
        self.server.halt()
        b.wait_for("#banner", text="connection to the server dropped")
        self.assertEqual(b.find("#conn").text, "disconnected")
        screenshot(b, "disconnected")
        self.server.resume()
        poll("the page live again", lambda: b.find("#conn").text == "live", timeout=30)
        poll("the banner gone", lambda: b.find("#banner").prop("hidden") is True)
        # Live again: an injection from the form reaches the tail through the new socket.
        self.inject_from_form("parse", '{"text": "Back Again"}')
        b.wait_for("#tail li.output", text="back")
        b.logs()  # the dropped socket's errors are expected here


class ErrorTests(PageTestCase):
    flows = ("debug.json",)

    def test_a_step_shows_a_module_error_with_its_stack_and_the_tail_too(self):
        b = self.browser
        self.open("/flows/words")
        b.wait_for('circle[data-breakpoint="score"]').click()
        poll("the breakpoint on score", lambda: b.find('circle[data-breakpoint="score"]').attr("aria-pressed") == "true")
        # clean turns "!!" into "", on which score throws.
        self.inject_from_form("split", '"!!"')
        b.wait_for("#paused-at", text='score.in on ""')
        b.find("#step").click()
        err = b.wait_for('#step-detail section.step-module[data-module="words/score"] dd.err pre')
        self.assertIn("empty word", err.text)
        self.assertIn("score", err.text.split("\n", 1)[1], "the stack follows the message")
        self.assertEqual(b.find('#step-detail section.step-module[data-module="words/score"] dd.outputs').text, "nothing")
        b.wait_for("#tail li.error", text="empty word")
        b.wait_for('g.module.errored[data-module="score"]')
        b.find('circle[data-breakpoint="score"]').click()
        poll("the breakpoint removed", lambda: b.find('circle[data-breakpoint="score"]').attr("aria-pressed") == "false")
        b.find("#resume").click()
        b.wait_for("#flow-status", text="running")


class TokenTests(PageTestCase):
    flows = ("pipeline.json",)
    server_args = ("--token", "right-token")

    def test_a_wrong_token_is_refused_on_the_page_and_the_right_one_is_kept_for_the_tab(self):
        b = self.browser
        self.open("/")
        b.wait_for("#token-input").send_keys("wrong-token")
        b.find("#token-submit").click()
        b.wait_for("#token-error", text="refused this token")
        self.assertIsNone(b.find("#flows"))
        screenshot(b, "token")
        field = b.find("#token-input")
        field.clear()
        field.send_keys("right-token")
        b.find("#token-submit").click()
        b.wait_for('#flows tr[data-flow="pipeline"]')
        poll("the event socket with the token", lambda: b.find("#conn").text == "live")
        self.assertEqual(b.execute("return sessionStorage.getItem('polyflow.token')"), "right-token")
        self.assertEqual(b.execute("return localStorage.length"), 0)
        # A reload in the same tab does not ask again.
        self.open("/flows/pipeline")
        b.execute("location.reload()")
        b.wait_for('g.module[data-module="enrich"]')


if __name__ == "__main__":
    unittest.main()
