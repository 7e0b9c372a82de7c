"""A small W3C WebDriver client over HTTP (standard library only), and a
chromedriver it starts and stops: enough for the web page's tests, and for
the browser runner's tests later.

    with ChromeDriver() as driver:
        with driver.session() as browser:
            browser.get("http://127.0.0.1:7770/")
            browser.wait_for("#flows table")
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
ENTER = "\ue007"
TAB = "\ue004"
SPACE = "\ue00d"


class WebDriverError(Exception):
    pass


def free_port():
    """A port free right now (the caller binds it soon; a clash is retried)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_chromedriver():
    return shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def poll(what, condition, timeout=15.0, interval=0.05):
    """Calls `condition` until it returns something truthy; raises after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except WebDriverError as e:
            last_error = e
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(interval)


class ChromeDriver:
    """A chromedriver process on a free port; stopped (and reaped) on exit."""

    def __init__(self, executable=None, chromium=None):
        self.executable = executable or find_chromedriver()
        self.chromium = chromium or find_chromium()
        self.process = None
        self.url = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        if not self.executable:
            raise WebDriverError("chromedriver is not installed: apt-get install chromium chromium-driver")
        for _ in range(5):
            port = free_port()
            self.process = subprocess.Popen(
                [self.executable, f"--port={port}", "--allowed-ips=127.0.0.1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            self.url = f"http://127.0.0.1:{port}"
            try:
                poll("chromedriver to listen", lambda: self.process.poll() is None and self._status_ready(), timeout=10)
                return
            except TimeoutError:
                self.stop()
        raise WebDriverError("chromedriver did not start on a free port (five tries)")

    def _status_ready(self):
        try:
            with urllib.request.urlopen(self.url + "/status", timeout=2) as r:
                return json.load(r)["value"].get("ready", False)
        except (OSError, ValueError):
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def session(self, width=1400, height=1000):
        """A new headless Chromium with its own profile; ended (browser quit) on exit."""
        return Browser(self, width, height)


class Browser:
    """One WebDriver session."""

    def __init__(self, driver, width, height):
        self.driver = driver
        self.profile = tempfile.mkdtemp(prefix="polyflow-chromium-")
        args = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", f"--user-data-dir={self.profile}",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions"]
        options = {"args": args}
        if driver.chromium:
            options["binary"] = driver.chromium
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options,
            "goog:loggingPrefs": {"browser": "ALL"}, "pageLoadStrategy": "normal",
        }}}
        value = self._request("POST", f"{driver.url}/session", caps)
        self.id = value["sessionId"]
        self.base = f"{driver.url}/session/{self.id}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()

    def quit(self):
        try:
            self._request("DELETE", self.base)
        except (WebDriverError, OSError):
            pass
        shutil.rmtree(self.profile, ignore_errors=True)

    @staticmethod
    def _request(method, url, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.load(r).get("value")
        except urllib.error.HTTPError as e:
            try:
                value = json.load(e).get("value", {})
                raise WebDriverError(f"{value.get('error')}: {value.get('message', '')[:500]}") from None
            except ValueError:
                raise WebDriverError(f"HTTP {e.code} from chromedriver for {method} {url}") from None

    def cmd(self, method, path, body=None):
        return self._request(method, self.base + path, body)

    # Navigation and scripts
    def get(self, url):
        self.cmd("POST", "/url", {"url": url})

    def execute(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def execute_async(self, script, *args):
        """Runs `script` with a callback as its last argument; returns what it is called with."""
        return self.cmd("POST", "/execute/async", {"script": script, "args": list(args)})

    def set_window_rect(self, width, height):
        """Resizes the window; in headless Chromium the viewport is then `width` wide."""
        return self.cmd("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path):
        data = self.cmd("GET", "/screenshot")
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def logs(self):
        """The browser console's entries since the last call: [{level, message, source}]."""
        return self.cmd("POST", "/se/log", {"type": "browser"}) or []

    def press(self, *keys):
        """Presses keys (WebDriver key codes, e.g. ENTER, TAB) on whatever has the focus."""
        actions = []
        for k in keys:
            actions += [{"type": "keyDown", "value": k}, {"type": "keyUp", "value": k}]
        self.cmd("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})
        self.cmd("DELETE", "/actions")

    def focused(self):
        """The element that has the focus."""
        value = self.cmd("GET", "/element/active")
        return Element(self, value[ELEMENT]) if value else None

    # Elements
    def find_all(self, css):
        return [Element(self, e[ELEMENT]) for e in self.cmd("POST", "/elements", {"using": "css selector", "value": css})]

    def find(self, css):
        found = self.find_all(css)
        return found[0] if found else None

    def wait_for(self, css, timeout=15.0, text=None):
        """The first element matching `css` (whose text contains `text`, if given)."""
        def look():
            for el in self.find_all(css):
                if text is None or text in el.text:
                    return el
            return None
        return poll(f"{css!r}" + (f" with text {text!r}" if text else ""), look, timeout)


class Element:
    def __init__(self, browser, id):
        self.browser = browser
        self.id = id

    def cmd(self, method, path, body=None):
        return self.browser.cmd(method, f"/element/{self.id}{path}", body)

    def click(self):
        self.cmd("POST", "/click", {})

    def clear(self):
        self.cmd("POST", "/clear", {})

    def send_keys(self, text):
        self.cmd("POST", "/value", {"text": text})

    def attr(self, name):
        return self.cmd("GET", f"/attribute/{name}")

    def prop(self, name):
        return self.cmd("GET", f"/property/{name}")

    @property
    def text(self):
        return self.cmd("GET", "/text")

    def computed_label(self):
        """The accessible name the browser computes for the element (what a screen reader says)."""
        return self.cmd("GET", "/computedlabel")

    def computed_role(self):
        return self.cmd("GET", "/computedrole")

    def find_all(self, css):
        return [Element(self.browser, e[ELEMENT]) for e in self.cmd("POST", "/elements", {"using": "css selector", "value": css})]
