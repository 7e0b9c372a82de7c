"""What the web page's Chromium tests share: the module's skip rule, the
browser log's errors, screenshots, and a test case that opens the page and
reads and drives the flow view (counters, the inject form)."""

import os
import unittest

from chromium_case import ChromiumServerTestCase
from polyflow_server import REPO
from webdriver import find_chromedriver, poll

SCREENSHOTS = os.environ.get("POLYFLOW_SCREENSHOTS") == "1"
ON_CI = os.environ.get("CI") == "true"


def require_chromedriver():
    """For setUpModule: skip without chromedriver, except with CI=true, where that fails."""
    if find_chromedriver() is None:
        if ON_CI:
            raise RuntimeError("CI=true but chromedriver is missing: .ci/run installs chromium and chromium-driver")
        raise unittest.SkipTest("chromedriver is not installed (apt-get install chromium chromium-driver)")


def screenshot(browser, name):
    if SCREENSHOTS:
        os.makedirs(os.path.join(REPO, "docs", "screenshots"), exist_ok=True)
        browser.screenshot(os.path.join(REPO, "docs", "screenshots", name + ".png"))


def severe(logs):
    return [e for e in logs if e.get("level") == "SEVERE"]


class PageTestCase(ChromiumServerTestCase):
    def open(self, fragment="/"):
        self.browser.get(self.server.url + "/#" + fragment)

    def counter(self, module, name):
        el = self.browser.find(f'g.module[data-module="{module}"] text.counters')
        return int(el.attr(f"data-{name}") or 0) if el else 0

    def wait_counter(self, module, name, value, timeout=20):
        poll(f"{module} {name} == {value}", lambda: self.counter(module, name) == value, timeout)

    def inject_from_form(self, module, payload):
        b = self.browser
        b.execute("const s = document.getElementById('inject-module'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));", module)
        area = b.find("#inject-payload")
        area.clear()
        area.send_keys(payload)
        b.find("#inject-send").click()

    def deploy(self, doc):
        """Deploys (and starts) a flow for this test; removed again at its end if still there."""
        self.assertIs(self.server.rpc("addOrUpdateFlow", {"flow": doc}), True)
        self.addCleanup(self.remove_quietly, doc["id"])

    def remove_quietly(self, flow_id):
        try:
            self.server.rpc("removeFlow", {"flowId": flow_id})
        except RuntimeError:
            pass  # the test removed it already
