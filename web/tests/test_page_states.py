"""The web page when things are not as they should be: an address that
cannot be read, a flow that does not exist or is removed while shown, a
module no runner can take, counters that lag the errors, and events the
server dropped. Headless Chromium against a real server (see test_page.py)."""

import unittest

from page_case import PageTestCase, require_chromedriver, severe
from webdriver import poll


def setUpModule():
    require_chromedriver()


ECHO = "def on_message(msg, ctx):\n    return msg.payload\n"


class AddressAndLifecycleTests(PageTestCase):
    flows = ("pipeline.json",)

    def test_a_malformed_percent_escape_in_the_address_is_said_so_without_an_error(self):
        b = self.browser
        self.open("/flows/%E0%A4%A")
        card = b.wait_for("#bad-address")
        self.assertIn("malformed percent-escape", card.text)
        self.assertIn("#/flows/%E0%A4%A", card.text, "the address is shown as it was typed")
        self.assertEqual(b.find("#bad-address a").attr("href"), "#/")
        self.assertEqual(severe(b.logs()), [], "no uncaught URIError")
        # From a working view too (hashchange), and the link home works.
        self.open("/flows/pipeline")
        b.wait_for('g.module[data-module="enrich"]')
        b.execute("location.hash = '#/%ZZ'")
        b.wait_for("#bad-address", text="malformed percent-escape")
        b.find("#bad-address a").click()
        b.wait_for('#flows tr[data-flow="pipeline"]')
        self.assertEqual(severe(b.logs()), [])

    def test_an_unknown_flow_says_there_is_no_such_flow_with_a_link_home(self):
        b = self.browser
        self.open("/flows/nope")
        gone = b.wait_for("#flow-gone")
        self.assertIn("No flow named nope", gone.text)
        self.assertIn('no flow "nope"', b.find("#flow-gone-reason").text, "the server's own words")
        self.assertNotIn("Loading", b.find("#view").text)
        b.find("#flow-gone-home").click()
        b.wait_for('#flows tr[data-flow="pipeline"]')
        self.assertEqual(severe(b.logs()), [])

    def test_a_flow_removed_while_shown_is_replaced_by_a_message(self):
        self.deploy({"id": "short", "modules": [{"id": "only", "runtime": "python3", "code": ECHO}], "connections": []})
        b = self.browser
        self.open("/flows/short")
        b.wait_for('g.module[data-module="only"]')
        self.assertIs(self.server.rpc("removeFlow", {"flowId": "short"}), True)
        gone = b.wait_for("#flow-gone", text="was removed")
        self.assertIn("The flow short was removed", gone.text)
        self.assertIsNone(b.find("svg.graph"), "the removed flow's graph is no longer on screen")
        self.assertIsNone(b.find("#inject-send"), "nor its controls")
        # Deployed again, it comes back by itself.
        self.deploy({"id": "short", "modules": [{"id": "only", "runtime": "python3", "code": ECHO}], "connections": []})
        b.wait_for('g.module[data-module="only"]')
        self.assertIsNone(b.find("#flow-gone"))


class UnplacedModuleTests(PageTestCase):
    flows = ()

    def test_a_module_no_runner_can_take_shows_unplaced_with_the_reason_and_invents_no_runner(self):
        self.deploy({
            "id": "needs-gpu",
            "modules": [
                {"id": "src", "runtime": "python3", "code": ECHO},
                {"id": "gpu", "runtime": "python3", "requireTags": ["gpu"], "code": ECHO},
            ],
            "connections": [{"from": "src.out", "to": "gpu.in"}],
        })
        reason = next(m for m in self.server.rpc("getFlow", {"flowId": "needs-gpu"})["modules"] if m["id"] == "gpu")["unplacedReason"]
        self.assertIn("gpu", reason)
        b = self.browser
        self.open("/flows/needs-gpu")
        box = b.wait_for('g.module[data-module="gpu"][data-state="unplaced"]')
        self.assertIn("unplaced", box.text)
        self.assertNotIn("local", box.text, "no runner is invented for it")
        self.assertIn("local", b.find('g.module[data-module="src"]').text, "the placed one names its runner")
        self.assertIn("unplaced", box.attr("class"))
        label = box.attr("aria-label")
        self.assertIn("unplaced", label)
        self.assertIn(reason, label)
        self.assertIn(reason, b.find('g.module[data-module="gpu"] text.place title').prop("textContent"))
        # The flow says why it is degraded.
        b.wait_for("#flow-status", text="degraded")
        self.assertIn("module gpu runs on no runner", b.find("#flow-reason").text)
        # The panel: the state, why, what it waits for, its waiting messages.
        box.click()
        b.wait_for("#module-state", text="unplaced")
        placement = b.wait_for("#module-placement")
        self.assertIn(reason, placement.text)
        self.assertIn("Waits for: a python3 runner with the tag gpu to join", placement.text)
        self.assertIn("Messages waiting", placement.text)
        # Two messages for it: held by src's runner, counted by getFlow (`waiting`), shown on the box and the panel.
        for n in (1, 2):
            self.server.rpc("inject", {"flowModuleId": "needs-gpu/src", "payload": n})
        b.wait_for("#module-placement", text="Messages waiting: 2")
        b.wait_for('g.module[data-module="gpu"]', text="2 wait")
        self.assertEqual(b.find("#module-runner").text, "runs on no runner")
        self.assertNotIn("local", b.find("#module-panel").text)
        self.assertEqual(severe(b.logs()), [])


class ErrorCounterTests(PageTestCase):
    flows = ("debug.json",)

    def test_the_panel_never_shows_a_last_error_beside_errors_0(self):
        b = self.browser
        self.open("/flows/words")
        b.wait_for('g.module[data-module="score"]').click()
        b.wait_for("#module-panel h2", text="Module score")
        b.wait_for("#module-counters")
        self.assertIsNone(b.find("#module-last-error"))
        # Every state the panel and the box go through is checked as it happens.
        b.execute("""
            window.__seen = { lastError: 0, violations: [] };
            const check = () => {
              const last = document.getElementById('module-last-error');
              if (!last) return;
              window.__seen.lastError += 1;
              const panel = Number(document.getElementById('module-counters')?.dataset.errors);
              const box = Number(document.querySelector('g.module[data-module="score"] text.counters').getAttribute('data-errors'));
              if (!(panel >= 1) || !(box >= 1)) window.__seen.violations.push({ panel, box, text: last.textContent.slice(0, 60) });
            };
            new MutationObserver(check).observe(document.getElementById('view'), { subtree: true, childList: true, characterData: true, attributes: true });
        """)
        # clean turns "!!" into "", on which score throws.
        self.assertIs(self.server.rpc("inject", {"flowModuleId": "words/split", "payload": "!!"}), True)
        b.wait_for("#module-last-error", text="empty word")
        b.wait_for("#tail li.error", text="empty word")
        # Until the server's own count has caught up and the page shows it.
        errors = poll("score's error counted by the server", lambda: next(
            m for m in self.server.rpc("getFlow", {"flowId": "words"})["modules"] if m["id"] == "score")["errors"])
        poll("the page showing it", lambda: int(b.find("#module-counters").attr("data-errors")) == errors)
        seen = b.execute("return window.__seen")
        self.assertGreater(seen["lastError"], 0)
        self.assertEqual(seen["violations"], [], "a last error was shown beside errors 0")


class DroppedEventTests(PageTestCase):
    """The server drops the oldest events of a subscriber that falls behind and says how many
    with `{"type":"dropped","count":N}`, without a flowId for a subscription to every flow
    (the page's). The page is made to fall behind: its main thread waits (synchronous calls
    to getFlow, a condition with a timeout) while a module emits far more than the server
    keeps for it (10,000 events), so the socket is not read."""
    flows = ()

    def test_a_dropped_notice_without_a_flow_id_is_shown_in_the_tail(self):
        burst = "def on_message(msg, ctx):\n    pad = 'x' * 2000\n    for i in range(msg.payload):\n        ctx.send('out', {'i': i, 'pad': pad})\n"
        self.deploy({"id": "burst", "modules": [{"id": "many", "runtime": "python3", "code": burst}], "connections": []})
        b = self.browser
        # Before the page's own scripts: a record of the dropped notices as they arrive on the wire.
        b.cmd("POST", "/goog/cdp/execute", {"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": """
            window.__dropped = [];
            const Original = window.WebSocket;
            window.WebSocket = class extends Original {
              constructor(...args) {
                super(...args);
                this.addEventListener('message', (m) => {
                  try { const p = JSON.parse(m.data).params; if (p && p.type === 'dropped') window.__dropped.push(p); } catch {}
                });
              }
            };"""}})
        self.open("/flows/burst")
        b.wait_for('g.module[data-module="many"]')
        poll("the event socket", lambda: b.find("#conn").text == "live")
        total = 40000
        sent = b.execute("""
            const [total, deadline] = [arguments[0], Date.now() + 60000];
            const rpc = (method, params) => {
              const x = new XMLHttpRequest();
              x.open('POST', '/rpc', false);
              x.setRequestHeader('Content-Type', 'application/json');
              x.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }));
              return JSON.parse(x.responseText).result;
            };
            rpc('inject', { flowModuleId: 'burst/many', payload: total });
            while (Date.now() < deadline) {
              const out = rpc('getFlow', { flowId: 'burst' }).modules[0].messagesOut;
              if (out >= total) return out;
            }
            return -1;""", total)
        self.assertGreaterEqual(sent, total, "the module emitted everything within 60 s")
        notice = b.wait_for("#tail-notice", text="The server dropped", timeout=60)
        dropped = b.execute("return window.__dropped")
        self.assertTrue(dropped, "the server sent a dropped notice")
        self.assertTrue(all("flowId" not in d for d in dropped), dropped)
        count = sum(d["count"] for d in dropped)
        self.assertIn(f"The server dropped {count} events", notice.text)
        self.assertIn(f"the server dropped {count} events", b.find("#tail-info").text)
        # The tail reads on after the gap.
        b.wait_for("#tail li.output", text=f'"i":{total - 1},')
        self.assertFalse(b.find("#tail-notice").prop("hidden"))


if __name__ == "__main__":
    unittest.main()
