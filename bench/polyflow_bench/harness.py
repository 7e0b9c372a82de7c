"""Processes, servers, JSON-RPC, event tails and RSS for the bench.

Everything started here is registered with a `Session` and torn down by
`Session.close()` (called from bench/run on exit, on failure and on
Ctrl-C/SIGTERM): child processes get their own process group, so a server
and the runtimes it spawned are reaped together; temp dirs (fifos, state
dirs) live under one root that is removed at the end.
"""
import http.client
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(BENCH_DIR)
BASELINES = os.path.join(BENCH_DIR, "baselines")
FAKE_RUNTIMES = os.path.join(BENCH_DIR, "fake_runtimes")
FAKE_PING_RUNTIMES = os.path.join(BENCH_DIR, "fake_runtimes_ping")


class BenchError(Exception):
    """A case could not produce its number; the message says why."""


class CaseSkipped(Exception):
    """A case cannot run on this machine (a tool it needs is missing); the message says why.
    The run goes on and shows the case as skipped; it is not a break."""


class Session:
    def __init__(self, keep_logs=False):
        self.root = tempfile.mkdtemp(prefix="polyflow-bench-")
        os.chmod(self.root, 0o700)
        self.procs = []          # (Popen, grace seconds), in start order
        self.keep_logs = keep_logs
        self._lock = threading.Lock()
        self._closed = False
        self._n = 0

    def tempdir(self, name):
        with self._lock:
            self._n += 1
            path = os.path.join(self.root, f"{self._n:03d}-{name}")
        os.makedirs(path, mode=0o700)
        return path

    def spawn(self, cmd, grace=2.0, **kw):
        """Starts a process in its own process group and registers it for clean-up."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(cmd, start_new_session=True, **kw)
        with self._lock:
            self.procs.append((proc, grace))
        return proc

    def stop(self, proc, grace=None):
        """SIGTERM to the process, SIGKILL to its whole group after `grace` seconds (and to any
        member of the group left behind once it exited)."""
        if grace is None:
            grace = next((g for p, g in self.procs if p is proc), 2.0)
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # the group we created for it: its children too
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (proc.stdout, proc.stderr):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass
        with self._lock:
            self.procs = [(p, g) for p, g in self.procs if p is not proc]

    def close(self):
        if self._closed:
            return
        self._closed = True
        for proc, grace in reversed(list(self.procs)):
            self.stop(proc, grace)
        if not self.keep_logs:
            shutil.rmtree(self.root, ignore_errors=True)


# --- JSON-RPC --------------------------------------------------------------

class RPCError(BenchError):
    def __init__(self, method, error):
        self.error = error
        data = error.get("data") or {}
        self.code = data.get("code") if isinstance(data, dict) else None
        super().__init__(f"{method}: {error.get('message')}" + (f" ({self.code})" if self.code else ""))


class RPC:
    """JSON-RPC over POST /rpc, one keep-alive connection per thread."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self._local = threading.local()
        self._id = 0

    def _conn(self, timeout):
        c = getattr(self._local, "conn", None)
        if c is None:
            c = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        c.timeout = timeout
        if c.sock is not None:
            c.sock.settimeout(timeout)
        return c

    def call(self, method, timeout=120, **params):
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        for attempt in (1, 2):
            c = self._conn(timeout)
            try:
                c.request("POST", "/rpc", body=body, headers={"Content-Type": "application/json"})
                resp = c.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError) as e:
                c.close()
                self._local.conn = None
                if attempt == 2 or isinstance(e, TimeoutError):
                    raise BenchError(f"{method}: no answer from the server ({e})") from None
        reply = json.loads(data)
        if "error" in reply:
            raise RPCError(method, reply["error"])
        return reply.get("result")


# --- the server ------------------------------------------------------------

PROFILE = {"dir": None,     # bench/run --profile DIR: runtimes run under cProfile / the V8 profiler
           "perf": None}    # bench/run --perf DIR: `perf record` of each server (the host)


def real_runtimes_dir(flowctl):
    """The runtimes/ the server would use for this flowctl (as RuntimeLocator finds it)."""
    if os.environ.get("POLYFLOW_RUNTIMES"):
        return os.environ["POLYFLOW_RUNTIMES"]
    d = os.path.dirname(os.path.realpath(flowctl))
    for _ in range(8):
        if os.path.exists(os.path.join(d, "runtimes", "python3", "polyflow_runtime.py")):
            return os.path.join(d, "runtimes")
        d = os.path.dirname(d)
    return os.path.join(REPO_DIR, "runtimes")


class Server:
    """`flowctl serve --port 0` with private state, fifo and log directories."""

    def __init__(self, session, flowctl, name="server", runtimes=None, tail=True, grace=15.0):
        self.session = session
        self.flowctl = flowctl
        self.tail = None
        self.dir = session.tempdir(name)
        self.run_dir = os.path.join(self.dir, "run")
        os.makedirs(self.run_dir, mode=0o700)
        self.log_path = os.path.join(self.dir, "server.log")
        self.env = dict(os.environ, XDG_RUNTIME_DIR=self.run_dir, XDG_STATE_HOME=os.path.join(self.dir, "xdg-state"))
        if runtimes:
            self.env["POLYFLOW_RUNTIMES"] = runtimes
        elif PROFILE["dir"]:
            os.makedirs(PROFILE["dir"], exist_ok=True)
            self.env.update(POLYFLOW_RUNTIMES=os.path.join(BENCH_DIR, "profiling", "runtimes"),
                            POLYFLOW_REAL_RUNTIMES=real_runtimes_dir(flowctl), POLYFLOW_PROFILE_DIR=PROFILE["dir"])
        else:
            self.env.pop("POLYFLOW_RUNTIMES", None)
        self._log = open(self.log_path, "wb")
        self.proc = session.spawn([flowctl, "serve", "--port", "0", "--state-dir", os.path.join(self.dir, "state"),
                                   "--log-level", "warning"],
                                  grace=grace, stdout=subprocess.PIPE, stderr=self._log, env=self.env, cwd=REPO_DIR)
        line = _readline_timeout(self.proc.stdout, 60)
        if not line:
            code = self.proc.poll()
            self.close()
            status = "still running after 60 s" if code is None else f"exit status {code}"
            raise BenchError(f"flowctl serve did not print where it listens ({status}): {self.log_tail()}")
        try:
            self.url = json.loads(line)["listening"]
        except (ValueError, KeyError):
            self.close()
            raise BenchError(f"flowctl serve printed {line!r}, expected {{\"listening\": URL}}") from None
        self.rpc = RPC(self.url)
        self.perf = None
        if PROFILE["perf"]:
            os.makedirs(PROFILE["perf"], exist_ok=True)
            out = os.path.join(PROFILE["perf"], f"{os.path.basename(self.dir)}.perf.data")
            self.perf = session.spawn(["perf", "record", "-F", "1999", "-g", "--no-inherit", "-p", str(self.pid), "-o", out],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.tail = Tail(session, flowctl, self.url) if tail else None

    @property
    def pid(self):
        return self.proc.pid

    def log_tail(self, lines=5):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace").strip().splitlines()
            return " | ".join(text[-lines:]) or "(no log)"
        except OSError:
            return "(no log)"

    def deploy(self, flow, timeout=120):
        ok = self.rpc.call("addOrUpdateFlow", timeout=timeout, flow=flow)
        if ok is not True:
            raise BenchError(f"addOrUpdateFlow {flow['id']} returned {ok!r}")

    def inject(self, flow_id, module, payload, port=None, timeout=60):
        params = {"flowModuleId": f"{flow_id}/{module}", "payload": payload}
        if port:
            params["port"] = port
        return self.rpc.call("inject", timeout=timeout, **params)

    def wait_output(self, flow_id, timeout, module=None):
        if not self.tail:
            raise BenchError("no tail on this server")
        return self.tail.wait(flow_id, timeout, module=module, server=self)

    def child_pids(self):
        return descendants(self.pid)

    def close(self):
        if self.tail:
            self.tail.close()
        if getattr(self, "perf", None) is not None and self.perf.poll() is None:
            self.perf.send_signal(signal.SIGINT)     # perf writes its file on SIGINT
            try:
                self.perf.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            self.session.stop(self.perf)
        kids = [(p, start_time(p)) for p in self.child_pids()]
        self.session.stop(self.proc)
        # The server stops and reaps its runtimes; one that outlived it (a crash, a kill) is
        # killed here, by pid, if it is still the same process.
        for pid, started in kids:
            if started is not None and start_time(pid) == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self._log.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def alive(self):
        return self.proc.poll() is None

    def crash_summary(self):
        """One line about how the server died, from its exit status and log."""
        code = self.proc.poll()
        if code is None:
            return "server still running"
        what = f"signal {-code}" if code < 0 else f"exit status {code}"
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            lines = []
        crash = next((l.strip("* ") for l in lines if "Program crashed" in l), None)
        frames = []
        for i, l in enumerate(lines):
            if "crashed:" in l and "Thread" in l:
                for x in lines[i + 2:i + 7]:
                    m = re.search(r"0x[0-9a-f]+\s+(.+?)(?: \+ \d+)? in ", x)
                    if m:
                        frames.append(m.group(1))
                break
        text = f"the server died ({what})"
        if crash:
            text += f": {crash}"
        if frames:
            text += " in " + " ← ".join(frames)
        return text

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _readline_timeout(stream, timeout):
    box = []
    t = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return box[0].decode().strip() if box else ""


class Tail:
    """`flowctl tail --events output,error` for every flow; events are filed per flow with the
    perf_counter time they were read."""

    def __init__(self, session, flowctl, url):
        self.session = session
        self.queues = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stderr = []
        self.proc = session.spawn([flowctl, "tail", "--events", "output,error", "--server", url],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=self._read_err, daemon=True).start()
        threading.Thread(target=self._read_out, daemon=True).start()
        if not self._ready.wait(30):
            raise BenchError(f"flowctl tail did not subscribe: {' '.join(self._stderr)[-300:] or 'no message'}")

    def _q(self, flow_id):
        with self._lock:
            return self.queues.setdefault(flow_id, queue.Queue())

    def _read_err(self):
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").strip()
            self._stderr.append(line)
            if "following" in line:
                self._ready.set()

    def _read_out(self):
        for raw in self.proc.stdout:
            now = time.perf_counter()
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            self._q(ev.get("flowId")).put((now, ev))

    def wait(self, flow_id, timeout, module=None, server=None):
        """The next output event of the flow (optionally from `module`); a module error fails the case."""
        q = self._q(flow_id)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                extra = f"; server log: {server.log_tail(3)}" if server else ""
                raise BenchError(f"no output from flow {flow_id} within {timeout:.0f} s{extra}")
            try:
                t, ev = q.get(timeout=min(left, 1.0))
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise BenchError(f"flowctl tail exited: {' '.join(self._stderr)[-300:]}") from None
                continue
            if ev.get("type") == "error":
                raise BenchError(f"module error in {flow_id}/{ev.get('module')}: {str(ev.get('message'))[:300]}")
            if ev.get("type") == "output" and (module is None or ev.get("module") == module):
                return t, ev

    def drain(self, flow_id):
        q = self._q(flow_id)
        while True:
            try:
                q.get_nowait()
            except queue.Empty:
                return

    def close(self):
        self.session.stop(self.proc)


# --- processes and memory ----------------------------------------------------

def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def _ppids():
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    stat = f.read()
                out[int(name)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return out


def descendants(pid):
    parents = _ppids()
    found, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        found.extend(kids)
        frontier.extend(kids)
    return found


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def run_json(session, cmd, timeout, env=None, cwd=None, all_lines=False):
    """Runs a baseline script; returns the JSON object on its last stdout line (or, with
    `all_lines`, the list of the objects on every line)."""
    proc = session.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        session.stop(proc)
        raise BenchError(f"{os.path.basename(cmd[1]) if len(cmd) > 1 else cmd[0]} took longer than {timeout:.0f} s") from None
    session.stop(proc)
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(os.path.basename(c) for c in cmd[:2])} failed ({proc.returncode}): "
                         f"{err.decode(errors='replace').strip()[-300:]}")
    lines = out.decode().strip().splitlines()
    if not lines:
        raise BenchError(f"{' '.join(cmd[:2])} printed nothing")
    if all_lines:
        return [json.loads(line) for line in lines]
    return json.loads(lines[-1])


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class CpuMeter:
    """CPU time of some processes over an interval, as % of one core: {label: percent}."""

    def __init__(self, pids):
        self.pids = dict(pids)    # label -> pid
        self.start = {k: cpu_seconds(p) for k, p in self.pids.items()}
        self.t0 = time.perf_counter()

    def stop(self):
        dt = time.perf_counter() - self.t0
        out = {}
        for k, p in self.pids.items():
            now = cpu_seconds(p)
            if now is not None and self.start[k] is not None and dt > 0:
                out[k] = 100.0 * (now - self.start[k]) / dt
        return out

    @staticmethod
    def text(usage):
        return ", ".join(f"{k} {v:.0f}%" for k, v in usage.items())
