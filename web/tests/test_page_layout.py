"""The web page on a narrow screen (a 420 px window) and with large counters:
nothing wider than the window, the graph and the step results scroll or wrap
in their own boxes, breakpoint dots big enough to hit, six-digit (and larger)
counters inside their module box. Headless Chromium against a real server."""

import unittest

from page_case import PageTestCase, require_chromedriver, screenshot, severe
from webdriver import poll


def setUpModule():
    require_chromedriver()


WIDTH = 420

# Every element of `root` whose right edge passes the right edge of `box` (its card), as text.
OVERFLOWING = """
const [root, box] = [document.querySelector(arguments[0]), document.querySelector(arguments[1])];
const limit = box.getBoundingClientRect().right + 0.5;
return [...root.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().right > limit)
  .map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ' > ' + Math.round(limit));
"""


class NarrowWindowTests(PageTestCase):
    flows = ("pipeline.json", "debug.json")

    def setUp(self):
        super().setUp()
        self.browser.set_window_rect(WIDTH, 900)
        self.open("/")
        self.assertEqual(self.browser.execute("return innerWidth"), WIDTH, "the viewport is 420 px wide")

    def page_width(self):
        return self.browser.execute("return document.documentElement.scrollWidth")

    def test_the_home_page_fits_a_420_px_window(self):
        b = self.browser
        self.open("/")
        b.wait_for('#flows tr[data-flow="words"]')
        b.wait_for("#runners tr[data-runner]")
        self.assertLessEqual(self.page_width(), WIDTH)
        screenshot(b, "narrow-overview")

    def test_the_flow_page_fits_the_graph_scrolls_in_its_box_the_step_wraps_and_the_dots_are_24_px(self):
        b = self.browser
        self.open("/flows/words")
        b.wait_for('g.module[data-module="total"]')
        self.assertLessEqual(self.page_width(), WIDTH)
        # The graph is wider than the window: it scrolls inside its own box.
        wrap = b.execute("""const w = document.getElementById('graph'); const r = w.getBoundingClientRect();
            return { left: r.left, right: r.right, client: w.clientWidth, scroll: w.scrollWidth,
                     svg: document.querySelector('svg.graph').getBoundingClientRect().width };""")
        self.assertLessEqual(wrap["right"], WIDTH)
        self.assertGreater(wrap["svg"], wrap["client"], "this graph does not fit 420 px at a size where its dots stay 24 px")
        self.assertGreater(wrap["scroll"], wrap["client"], "so it scrolls in its box")
        # Every breakpoint dot: a hit target of at least 24 x 24 px, a visible dot of at least 14 px.
        for size in b.execute("""return [...document.querySelectorAll('svg.graph g.module')].map((g) => {
              const hit = g.querySelector('circle.bp').getBoundingClientRect(), dot = g.querySelector('circle.bp-dot').getBoundingClientRect();
              return [hit.width, hit.height, dot.width, dot.height]; });"""):
            self.assertGreaterEqual(min(size[:2]), 24, size)
            self.assertGreaterEqual(min(size[2:]), 14, size)
        # The dot is hit where it is drawn (the hit area is on top), and toggles the breakpoint.
        b.execute("document.querySelector('circle.bp[data-breakpoint=\"clean\"]').scrollIntoView({block: 'center', inline: 'center'})")
        b.find('circle[data-breakpoint="clean"]').click()
        poll("the breakpoint set", lambda: self.server.rpc("getFlow", {"flowId": "words"})["breakpoints"] == [{"module": "clean"}])
        self.addCleanup(self.server.rpc, "resumeFlow", {"flowId": "words"})
        self.addCleanup(self.server.rpc, "removeBreakPointAtModule", {"flowModuleId": "words/clean"})
        # A step whose JSON has a long unbroken word wraps (or scrolls) inside its box.
        long_word = "W" + "x" * 400
        self.server.rpc("inject", {"flowModuleId": "words/split", "payload": long_word + " short"})
        b.wait_for("#flow-status", text="paused")
        b.execute("document.getElementById('step').scrollIntoView()")
        b.find("#step").click()
        b.wait_for('#step-detail section.step-module[data-module="words/clean"] dd.inputs', text="xxxx")
        self.assertEqual(b.execute(OVERFLOWING, "#step-detail", "#steps"), [])
        self.assertLessEqual(self.page_width(), WIDTH)
        # The module panel and the inject form too.
        b.execute("document.querySelector('g.module[data-module=\"clean\"]').dispatchEvent(new MouseEvent('click', {bubbles: true}))")
        b.wait_for("#module-panel .held-payloads")
        self.assertEqual(b.execute(OVERFLOWING, "#module-panel", "#module-panel"), [])
        self.assertLessEqual(self.page_width(), WIDTH)
        screenshot(b, "narrow-step")
        self.assertEqual(severe(b.logs()), [])


class CounterSizeTests(PageTestCase):
    flows = ("pipeline.json",)

    def test_six_digit_and_larger_counters_stay_inside_their_box_with_the_exact_numbers_at_hand(self):
        b = self.browser
        self.open("/flows/pipeline")
        b.wait_for('g.module[data-module="enrich"]')
        flow = self.server.rpc("getFlow", {"flowId": "pipeline"})
        # The page's own graph, drawn into the page with the server's status and large counters.
        result = b.execute_async("""
            const [info, done] = [arguments[0], arguments[arguments.length - 1]];
            import('/web/js/graph.js').then(({ FlowGraph }) => {
              const out = [];
              for (const counts of [[123456, 654321, 12345, 999999], [987654321, 123456789, 99999999, 1234567890123]]) {
                const modules = info.modules.map((m) => ({ ...m, messagesIn: counts[0], messagesOut: counts[1], errors: counts[2], queued: counts[3] }));
                const graph = new FlowGraph(info.flow, { onSelect() {}, onToggleBreakpoint() {} });
                const holder = document.createElement('div');
                holder.append(graph.svg);
                document.body.append(holder);
                graph.update({ ...info, modules }, null);
                for (const g of graph.svg.querySelectorAll('g.module')) {
                  const box = g.querySelector('rect.box').getBBox(), text = g.querySelector('text.counters');
                  const t = text.getBBox();
                  out.push({ module: g.dataset.module, counts, boxRight: box.x + box.width, textRight: t.x + t.width, textLeft: t.x, boxLeft: box.x,
                             shown: text.firstChild.data, title: text.querySelector('title').textContent, label: g.getAttribute('aria-label') });
                }
                holder.remove();
              }
              done(out);
            }, (e) => done(String(e)));""", flow)
        self.assertIsInstance(result, list, result)
        self.assertEqual(len(result), 2 * len(flow["modules"]))
        for r in result:
            self.assertLessEqual(r["textRight"], r["boxRight"] - 4, r)
            self.assertGreaterEqual(r["textLeft"], r["boxLeft"], r)
            exact = r["counts"]
            self.assertIn(f"in {exact[0]}, out {exact[1]}, errors {exact[2]}, queued {exact[3]}", r["title"], "the exact numbers in the title")
            self.assertIn(f"in {exact[0]}, out {exact[1]}, errors {exact[2]}, queued {exact[3]}", r["label"], "and in the accessible name")
        first = result[0]["shown"]
        self.assertEqual(first, "in 123k · out 654k · err 12.3k · q 1M")


if __name__ == "__main__":
    unittest.main()
