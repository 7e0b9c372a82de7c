"""The base of the Chromium tests: one ChromeDriver and one `flowctl serve`
per test class, a fresh browser session per test."""
import unittest

from polyflow_server import PolyflowServer
from webdriver import ChromeDriver


class ChromiumServerTestCase(unittest.TestCase):
    flows = ()        # example flows to serve, by file name
    server_args = ()  # extra `flowctl serve` arguments
    runtimes = None   # another runtimes/ directory (POLYFLOW_RUNTIMES), set before setUpClass
    web = None        # another web/ directory (POLYFLOW_WEB)

    @classmethod
    def setUpClass(cls):
        cls.driver = ChromeDriver()
        cls.driver.start()
        try:
            cls.server = PolyflowServer(cls.flows, cls.server_args, runtimes=cls.runtimes, web=cls.web)
        except Exception:
            cls.driver.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.driver.stop()

    def setUp(self):
        self.browser = self.driver.session()
        self.addCleanup(self.browser.quit)
