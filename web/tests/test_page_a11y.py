"""Accessibility of the web page, as the browser computes it: the accessible
names of the modules (their state and counters) and of the tail's filter,
and the contrast (WCAG 2 relative luminance) of the pills' text and of the
breakpoint dot. Headless Chromium against a real server."""

import re
import unittest

from page_case import PageTestCase, require_chromedriver
from webdriver import poll


def setUpModule():
    require_chromedriver()


def rgb(css):
    """'rgb(1, 2, 3)' or 'rgba(1, 2, 3, 1)' → (1, 2, 3); refuses a colour that is not opaque."""
    m = re.fullmatch(r"rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)", css)
    if not m:
        raise AssertionError(f"not an rgb() colour: {css!r}")
    if m.group(4) is not None and float(m.group(4)) != 1:
        raise AssertionError(f"a colour with transparency cannot be measured alone: {css!r}")
    return tuple(int(m.group(i)) for i in (1, 2, 3))


def luminance(c):
    def channel(v):
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    hi, lo = sorted((luminance(rgb(a)), luminance(rgb(b))), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


class ContrastFormulaTests(unittest.TestCase):
    def test_the_formula_gives_the_known_values(self):
        self.assertAlmostEqual(contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 21.0, places=3)
        self.assertAlmostEqual(contrast("rgb(119, 119, 119)", "rgb(255, 255, 255)"), 4.48, places=2)
        self.assertAlmostEqual(contrast("rgb(255, 255, 255)", "rgb(255, 255, 255)"), 1.0)


PILL_STATES = ["", "running", "connected", "ready", "live", "paused", "suspect", "unplaced", "unreachable",
               "degraded", "lost", "failed", "stopped", "deployed", "loading", "load-error", "joining", "unknown"]


class AccessibilityTests(PageTestCase):
    flows = ("pipeline.json",)

    def test_each_module_is_named_with_its_state_and_counters(self):
        b = self.browser
        self.open("/flows/pipeline")
        b.wait_for('g.module[data-module="enrich"]')
        self.server.rpc("inject", {"flowModuleId": "pipeline/parse", "payload": {"text": "Hello There"}})
        self.wait_counter("parse", "in", 1)
        st = {m["id"]: m for m in self.server.rpc("getFlow", {"flowId": "pipeline"})["modules"]}
        for module in ("parse", "enrich"):
            el = b.find(f'g.module[data-module="{module}"]')
            name = poll(f"{module}'s name with its counters", lambda: (lambda n: n if f"in {st[module]['messagesIn']}," in n else None)(el.computed_label()))
            self.assertIn(f"module {module}", name)
            self.assertIn("running", name)
            self.assertIn("on runner local", name)
            self.assertRegex(name, r"in \d+, out \d+, errors \d+, queued \d+")
            self.assertEqual(el.computed_role(), "button")

    def test_the_tail_filter_and_kind_have_labels(self):
        b = self.browser
        self.open("/flows/pipeline")
        b.wait_for("#tail-filter")
        self.assertEqual(b.find("#tail-filter").computed_label(), "Filter")
        self.assertEqual(b.find("#tail-kind").computed_label(), "Show")
        self.assertEqual(b.execute("return document.getElementById('tail-filter').labels.length"), 1, "a <label> element, not only a placeholder")

    def test_pill_text_has_at_least_4_5_to_1_contrast(self):
        b = self.browser
        self.open("/")
        b.wait_for('#flows tr[data-flow="pipeline"]')
        colours = b.execute("""
            const host = document.getElementById('view');
            return arguments[0].map((state) => {
              const pill = document.createElement('span');
              pill.className = 'pill' + (state ? ' ' + state : '');
              pill.textContent = state || 'plain';
              host.append(pill);
              const s = getComputedStyle(pill);
              const out = [state, s.color, s.backgroundColor];
              pill.remove();
              return out;
            });""", PILL_STATES)
        self.assertEqual(len(colours), len(PILL_STATES))
        for state, fg, bg in colours:
            self.assertGreaterEqual(contrast(fg, bg), 4.5, f"pill {state or '(plain)'}: {fg} on {bg}")
        # The pills the page itself shows now (flows, runners) too.
        shown = b.execute("return [...document.querySelectorAll('.pill')].map((p) => [p.className, getComputedStyle(p).color, getComputedStyle(p).backgroundColor])")
        self.assertTrue(shown)
        for cls, fg, bg in shown:
            self.assertGreaterEqual(contrast(fg, bg), 4.5, f"{cls}: {fg} on {bg}")

    def test_the_breakpoint_dot_has_at_least_3_to_1_contrast_with_its_box(self):
        b = self.browser
        self.open("/flows/pipeline")
        b.wait_for('g.module[data-module="parse"]')
        cases = b.execute("""
            const g = document.querySelector('g.module[data-module="parse"]');
            const dot = g.querySelector('circle.bp-dot'), box = g.querySelector('rect.box');
            const out = [];
            for (const marks of [[], ['paused'], ['holding'], ['unplaced'], ['selected'], ['errored']]) {
              for (const on of [false, true]) {
                marks.forEach((m) => g.classList.add(m));
                dot.classList.toggle('on', on);
                const d = getComputedStyle(dot), f = getComputedStyle(box);
                out.push({ marks: marks.join(' '), on, stroke: d.stroke, fill: d.fill, box: f.fill });
                marks.forEach((m) => g.classList.remove(m));
                dot.classList.remove('on');
              }
            }
            return out;""")
        for c in cases:
            # The dot's outline (off) or its fill (on) is what sets it apart from the box.
            edge = c["fill"] if c["on"] else c["stroke"]
            self.assertGreaterEqual(contrast(edge, c["box"]), 3.0, c)


if __name__ == "__main__":
    unittest.main()
