"""`flowctl serve` as a real process on a free port, with directories of its own."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def flowctl_path():
    return os.environ.get("FLOWCTL_BIN") or os.path.join(REPO, ".build", "debug", "flowctl")


class PolyflowServer:
    """`runtimes` and `web` replace the repository's runtimes/ and web/ (POLYFLOW_RUNTIMES, POLYFLOW_WEB)."""

    def __init__(self, flows=(), args=(), runtimes=None, web=None):
        self.dir = tempfile.mkdtemp(prefix="polyflow-web-test-")
        env = dict(os.environ)
        env["XDG_RUNTIME_DIR"] = os.path.join(self.dir, "run")
        env["POLYFLOW_RUNTIMES"] = runtimes or os.path.join(REPO, "runtimes")
        env["POLYFLOW_WEB"] = web or os.path.join(REPO, "web")
        env.pop("FLOWCTL_TOKEN", None)
        os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
        self.env = env
        self.args = list(args)
        self.flows = [os.path.join(REPO, "examples", "flows", f) for f in flows]
        self._spawn(0)

    def _spawn(self, port):
        self.process = subprocess.Popen(
            [flowctl_path(), "serve", "--port", str(port), "--state-dir", os.path.join(self.dir, "state"), *self.args, *self.flows],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, start_new_session=True, text=True)
        self.stderr = []
        threading.Thread(target=self._drain_stderr, args=(self.process.stderr,), daemon=True).start()
        line = self._read_listening()
        self.url = json.loads(line)["listening"]
        self.port = int(self.url.rsplit(":", 1)[1])

    def halt(self):
        """Stops the server, keeping its directories (for `resume`)."""
        self._terminate()

    def resume(self):
        """Starts the server again on the same port with the same state."""
        self._spawn(self.port)

    def _drain_stderr(self, stream):
        with stream:
            for line in stream:
                self.stderr.append(line)

    def _read_listening(self):
        result = {}

        def read():
            for line in self.process.stdout:
                if '"listening"' in line:
                    result["line"] = line
                    return
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(60)
        if "line" not in result:
            self.stop()
            raise RuntimeError("flowctl serve did not start listening within 60 s: " + "".join(self.stderr[-20:]))
        return result["line"]

    def rpc(self, method, params=None, token=None):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.url + "/rpc", data=body, headers=headers, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            reply = json.load(r)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']['message']}")
        return reply["result"]

    def stop(self):
        self._terminate()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _terminate(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process.stdout.close()
