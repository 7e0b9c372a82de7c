"""The benchmark cases. Each case returns a list of `Row`s: a figure beside the
baseline measured in the same run, their ratio and the target from issue 5."""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from . import flows
from .deps_case import case_dependencies
from .harness import (BASELINES, BENCH_DIR, REPO_DIR, FAKE_PING_RUNTIMES, FAKE_RUNTIMES, BenchError, CaseSkipped, CpuMeter, RPCError,
                      Server, cmdline, descendants, fd_count, rss_kib, run_json)


@dataclass
class Row:
    case: str
    value: float = None          # the figure, in `unit`
    unit: str = ""
    text: str = ""               # how to show the figure (default: value + unit)
    baseline: str = "—"          # the baseline measured in the same run, as text
    ratio: str = "—"
    target: str = "—"
    met: bool = None             # None: no target, or not judged
    note: str = ""
    optional: bool = False       # a row that may be n/a (bytewax/streamz)
    failed: str = ""             # why the case broke
    correctness: bool = False    # `met` is a correctness verdict (e.g. "0 lost"): a NO fails the run, smoke too;
                                 # a missed performance target does not (the table says NO)
    skipped: str = ""            # why the case did not run here (a missing tool); not a break

    def figure(self):
        if self.failed:
            return "FAILED (see notes)"
        if self.skipped:
            return "skipped (see notes)"
        if self.text:
            return self.text
        if self.value is None:
            return "n/a"
        return f"{fmt_num(self.value)} {self.unit}".strip()


def fmt_num(v):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:,.1f}"
    return f"{v:,.2f}"


def mib(kib):
    return kib / 1024.0


@dataclass
class Config:
    smoke: bool
    n: int                    # throughput messages (50 B)
    n_big: int                # throughput messages (10 KB)
    n_route: int              # host routing frames (50 B)
    n_route_big: int          # host routing frames (10 KB)
    n_latency: int
    latency_warmup: int
    deploy_repeats: int
    swap_phase: float         # seconds per phase of the hot-swap case
    swap_rate: int            # injects per second in the hot-swap case
    swap_batch: int           # messages per inject
    pressure_seconds: float
    scale_flows: int
    venv: bool
    repeats: int              # throughput and latency: timed runs of each side; the median is shown, with min–max
    warmup: int               # throughput: untimed runs of each side before the timed ones (same N)
    python: str = field(default_factory=lambda: resolve_python())
    node: str = field(default_factory=lambda: shutil.which("node") or "node")

    @classmethod
    def make(cls, smoke, n=None, venv=True):
        if smoke:
            return cls(smoke=True, n=n or 2000, n_big=200, n_route=20_000, n_route_big=500, n_latency=200,
                       latency_warmup=20, deploy_repeats=1, swap_phase=1.0, swap_rate=100, swap_batch=5,
                       pressure_seconds=1.5, scale_flows=3, venv=False, repeats=1, warmup=1)
        n = n or 200_000
        return cls(smoke=False, n=n, n_big=max(n // 4, 1000), n_route=max(n * 10, 200_000), n_route_big=max(n // 2, 1000),
                   n_latency=10_000,
                   latency_warmup=500, deploy_repeats=5, swap_phase=4.0, swap_rate=500, swap_batch=10,
                   pressure_seconds=15.0, scale_flows=100, venv=venv, repeats=3, warmup=1)


def resolve_python():
    """The interpreter `python3` on PATH runs (past pyenv-style shims), as the server resolves it."""
    found = shutil.which("python3")
    if not found:
        return sys.executable
    try:
        out = subprocess.run([found, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True,
                             timeout=30).stdout.strip()
        return out or found
    except (OSError, subprocess.SubprocessError):
        return found


def timeout_for(n, rate_floor=2000, base=60):
    return base + n / rate_floor


def remove_flow(server, fid):
    try:
        server.rpc.call("removeFlow", timeout=60, flowId=fid)
    except BenchError:
        pass


@contextmanager
def deployed(server, doc):
    """The flow `doc` deployed for the block, removed after it; yields its id."""
    server.deploy(doc)
    try:
        yield doc["id"]
    finally:
        remove_flow(server, doc["id"])


def run_flow_once(server, fid, module, payload, n, timeout):
    """Injects one trigger and waits for the flow's output; returns (seconds, output payload)."""
    server.tail.drain(fid)
    t0 = time.perf_counter()
    server.inject(fid, module, payload)
    t1, ev = server.wait_output(fid, timeout)
    return t1 - t0, ev.get("payload")


def flow_pids(server, fid):
    """{label: pid} of the host and the runtime instances of a flow."""
    pids = {"host": server.pid}
    info = server.rpc.call("getFlow", flowId=fid)
    for inst in info.get("instances") or []:
        if inst.get("pid"):
            pids[inst["runtime"]] = inst["pid"]
    return pids


def engine_rates(server, fid, module, payload, n, repeats, timeout, check, warmup=1):
    """Runs a deployed flow `warmup` times untimed, then `repeats` times: the rates (msg/s)
    and the CPU shares of the last run. The baselines get the same warm-up, runs and N."""
    rates, usage = [], {}
    pids = flow_pids(server, fid)
    for _ in range(warmup):
        _, out = run_flow_once(server, fid, module, payload, n, timeout)
        check(out)
    for _ in range(repeats):
        meter = CpuMeter(pids)
        seconds, out = run_flow_once(server, fid, module, payload, n, timeout)
        usage = meter.stop()
        check(out)
        rates.append(n / seconds)
    return rates, usage


def median(xs):
    return statistics.median(xs)


def spread(xs):
    return f" (runs: {', '.join(fmt_num(x) for x in xs)})" if len(xs) > 1 else ""


def span(xs):
    """The min–max of several runs, for the table: ` [min–max]`."""
    return f" [{fmt_num(min(xs))}–{fmt_num(max(xs))}]" if len(xs) > 1 else ""


def runs_text(cfg, both=True):
    runs = f"{cfg.repeats} timed run{'s' if cfg.repeats != 1 else ''} after {cfg.warmup} untimed, same N"
    return (f"median of {runs}{' on both sides' if both else ''}"
            + ("; [min–max] of the runs in the table" if cfg.repeats > 1 else ""))


def mkfifos(session, *names):
    d = session.tempdir("fifos")
    paths = [os.path.join(d, n) for n in names]
    for p in paths:
        os.mkfifo(p, 0o600)
    return paths


# --- cross-runtime chain ------------------------------------------------------

def handwired_chain(ctx, n, pad):
    """python writer -> node relay -> python reader over two fifos: `warmup` rounds of N
    (start-up and the relay's JIT are paid there), then `repeats` timed rounds of N, all
    through the same three processes; the rates (messages/s) of the timed rounds."""
    s = ctx.session
    rounds = ctx.cfg.warmup + ctx.cfg.repeats
    a, b = mkfifos(s, "a", "b")
    reader = s.spawn([ctx.cfg.python, os.path.join(BASELINES, "handwired_reader.py"), b, str(n), str(rounds)],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    relay = s.spawn([ctx.cfg.node, os.path.join(BASELINES, "handwired_relay.js"), a, b], stderr=subprocess.PIPE)
    writer = s.spawn([ctx.cfg.python, os.path.join(BASELINES, "handwired_writer.py"), a, str(n), str(pad), str(rounds)],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        try:
            out, err = reader.communicate(timeout=timeout_for(n * rounds))
        except subprocess.TimeoutExpired:
            raise BenchError("hand-wired chain did not finish in time") from None
        wout, werr = writer.communicate(timeout=30)
        if reader.returncode or writer.returncode:
            raise BenchError(f"hand-wired chain failed: {(err + werr).decode(errors='replace')[-300:]}")
        start = json.loads(wout.decode().splitlines()[0])["start"]
        end = json.loads(out.decode().splitlines()[-1])
        if end["count"] != n * rounds:
            raise BenchError(f"hand-wired reader got {end['count']} of {n * rounds}")
        marks = [start] + end["marks"]
        return [n / (marks[i + 1] - marks[i]) for i in range(ctx.cfg.warmup, rounds)]
    finally:
        for p in (writer, relay, reader):
            s.stop(p)
        shutil.rmtree(os.path.dirname(a), ignore_errors=True)


def case_cross_chain(ctx, pad, label):
    cfg, srv = ctx.cfg, ctx.main_server()
    n = cfg.n if not pad else cfg.n_big
    fid = f"xchain{pad}"

    def check(out):
        if not out or out.get("count") != n:
            raise BenchError(f"counter reported {out}, expected count {n}")
    srv.deploy(flows.cross_chain(fid, n))
    try:
        rates, usage = engine_rates(srv, fid, "gen", {"n": n, "pad": pad, "batch": flows.CREDIT_BATCH,
                                                      "window": flows.CREDIT_WINDOW}, n, cfg.repeats,
                                    timeout_for(n, 1000), check, warmup=cfg.warmup)
    finally:
        remove_flow(srv, fid)
    bases = handwired_chain(ctx, n, pad)
    rate, base = median(rates), median(bases)
    ratio = rate / base
    size = len(json.dumps({"i": n - 1, "sku": "ABC-12345", "qty": 3, "price": 19.99, **({"pad": "x" * pad} if pad else {})},
                          separators=(",", ":")))
    note = (f"N={n:,}, payload {size} B; {runs_text(cfg)}; engine{spread(rates)}, hand-wired{spread(bases)}; "
            f"the hand-wired rounds run back to back through the same three processes; CPU (% of one core) "
            f"{CpuMeter.text(usage)}; generator paced by credits from the counter "
            f"({flows.CREDIT_WINDOW}×{flows.CREDIT_BATCH} in flight, a steady stream; the `deadlock` probe runs it unpaced)")
    text = f"{fmt_num(rate)} msg/s{span(rates)}"
    if pad:
        text += f" ({rate * size / 1e6:,.0f} MB/s)"
    return [Row(f"cross-runtime chain python→node→python, {label}", rate, "msg/s", text=text,
                baseline=f"hand-wired fifos {fmt_num(base)} msg/s{span(bases)}", ratio=f"{ratio:.2f}×",
                target="≥ 0.9× baseline", met=ratio >= 0.9, note=note)]


# --- cross-runner chain -------------------------------------------------------

def join_runner(ctx, srv, name, tags):
    """`flowctl runner --join` with private directories; returns the process once the dispatcher lists it live."""
    s = ctx.session
    d = s.tempdir(f"runner-{name}")
    run_dir = os.path.join(d, "run")
    os.makedirs(run_dir, mode=0o700)
    env = dict(srv.env, XDG_RUNTIME_DIR=run_dir)
    log = open(os.path.join(d, "runner.log"), "wb")
    proc = s.spawn([ctx.flowctl, "runner", "--join", srv.url, "--name", name, "--tags", ",".join(tags),
                    "--state-dir", os.path.join(d, "state"), "--log-level", "warning"],
                   stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=REPO_DIR)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"runner {name} exited with {proc.returncode}")
        if any(r.get("id") == name and r.get("state") == "live" for r in srv.rpc.call("listRunners")):
            return proc
        time.sleep(0.05)
    raise BenchError(f"runner {name} did not join within 60 s")


def case_cross_runner(ctx):
    """The cross-runtime chain with its middle module on a second runner (a `flowctl runner`
    process: python → WebSocket → node → WebSocket → python), against the same chain on one runner."""
    cfg, srv = ctx.cfg, ctx.main_server()
    n = cfg.n

    def check(out):
        if not out or out.get("count") != n:
            raise BenchError(f"counter reported {out}, expected count {n}")
    payload = {"n": n, "pad": 0, "batch": flows.CREDIT_BATCH, "window": flows.CREDIT_WINDOW}
    runner = join_runner(ctx, srv, "bench-r2", ["r2"])
    try:
        with deployed(srv, flows.cross_chain_tagged("xrunner", n, ["r2"])) as fid:
            where = {m["id"]: m.get("runner") for m in srv.rpc.call("getFlow", flowId=fid).get("modules", [])}
            if where.get("xform") != "bench-r2":
                raise BenchError(f"the middle module runs on {where.get('xform')}, not on the second runner")
            rates, _ = engine_rates(srv, fid, "gen", payload, n, cfg.repeats, timeout_for(n, 500), check, warmup=cfg.warmup)
    finally:
        ctx.session.stop(runner)
    with deployed(srv, flows.cross_chain("xlocal", n)) as fid:
        bases, _ = engine_rates(srv, fid, "gen", payload, n, cfg.repeats, timeout_for(n, 1000), check, warmup=cfg.warmup)
    rate, base = median(rates), median(bases)
    ratio = rate / base
    note = (f"N={n:,}, payload 50 B; {runs_text(cfg)}; across runners{spread(rates)}, one runner{spread(bases)}; "
            f"both runners on this machine (loopback WebSocket); the dispatcher forwards each batch without decoding it")
    return [Row("cross-runner chain python→node(2nd runner)→python, 50 B", rate, "msg/s", text=f"{fmt_num(rate)} msg/s{span(rates)}",
                baseline=f"same chain on one runner {fmt_num(base)} msg/s{span(bases)}", ratio=f"{ratio:.2f}×",
                target="≥ 0.5× baseline", met=ratio >= 0.5, note=note)]


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def missing_browser_tools(path):
    """What the browser case needs and `path` (a PATH string) lacks: [] or some of
    "chromedriver", "chromium"."""
    missing = []
    if not shutil.which("chromedriver", path=path):
        missing.append("chromedriver")
    if not any(shutil.which(name, path=path) for name in CHROMIUM_NAMES):
        missing.append("chromium")
    return missing


def require_browser(env=None):
    """Raises CaseSkipped when chromedriver or Chromium is not on PATH, except with CI=true,
    where that is an error (BenchError: the case fails, and with it the run)."""
    env = os.environ if env is None else env
    missing = missing_browser_tools(env.get("PATH", os.defpath))
    if not missing:
        return
    why = f"{' and '.join(missing)} not on PATH (Debian: apt-get install chromium chromium-driver)"
    if env.get("CI") == "true":
        raise BenchError(f"CI=true but {why}; .ci/run installs them")
    raise CaseSkipped(why)


def browser_runner(ctx, srv, name):
    """Headless Chromium (through chromedriver) on the bare runner page, joined as runner `name`;
    returns a function that closes it."""
    sys.path.insert(0, os.path.join(REPO_DIR, "web", "tests"))
    from webdriver import ChromeDriver  # noqa: E402  (the web tests' stdlib WebDriver client)
    driver = ChromeDriver()
    driver.start()
    try:
        browser = driver.session()
        browser.get(f"{srv.url}/runtimes/browser/runner.html?name={name}")
        deadline = time.time() + 60
        while time.time() < deadline:
            if any(r.get("id") == name and r.get("state") == "live" for r in srv.rpc.call("listRunners")):
                break
            time.sleep(0.05)
        else:
            raise BenchError(f"the browser runner {name} did not join within 60 s")
    except Exception:
        driver.stop()
        raise

    def close():
        try:
            browser.quit()
        finally:
            driver.stop()
    return close


def round_trips(srv, fid, n, runs):
    """Milliseconds from `inject` to the flow's output for chains of one message (API to API)."""
    times = []
    payload = {"n": 1, "pad": 0, "batch": 1, "window": 1}
    for _ in range(runs):
        seconds, out = run_flow_once(srv, fid, "gen", payload, 1, 30)
        if not out or out.get("count") != 1:
            raise BenchError(f"round trip: the counter reported {out}")
        times.append(seconds * 1000)
    return times


def case_browser(ctx):
    """python3 → browser (a headless Chromium tab) → python3 against python3 → node → python3,
    in the same run: throughput, and the round trip of one message (inject to output).
    Skipped without chromedriver and Chromium, except with CI=true (then it fails)."""
    require_browser()
    cfg, srv = ctx.cfg, ctx.main_server()
    n = cfg.n // 4 if not cfg.smoke else cfg.n

    def check(out):
        if not out or out.get("count") != n:
            raise BenchError(f"counter reported {out}, expected count {n}")
    payload = {"n": n, "pad": 0, "batch": flows.CREDIT_BATCH, "window": flows.CREDIT_WINDOW}
    rt_runs = 5 if cfg.smoke else 50
    close = browser_runner(ctx, srv, "bench-tab")
    try:
        with deployed(srv, flows.cross_chain_browser("xbrowser", n)) as fid:
            rates, _ = engine_rates(srv, fid, "gen", payload, n, cfg.repeats, timeout_for(n, 200), check, warmup=cfg.warmup)
        with deployed(srv, flows.cross_chain_browser("rtbrowser", 1)) as fid:
            rt_browser = round_trips(srv, fid, 1, rt_runs)
    finally:
        close()
    with deployed(srv, flows.cross_chain("xnode", n)) as fid:
        bases, _ = engine_rates(srv, fid, "gen", payload, n, cfg.repeats, timeout_for(n, 1000), check, warmup=cfg.warmup)
    with deployed(srv, flows.cross_chain("rtnode", 1)) as fid:
        rt_node = round_trips(srv, fid, 1, rt_runs)
    rate, base = median(rates), median(bases)
    p50b, p50n = median(rt_browser), median(rt_node)
    note = (f"N={n:,}, payload 50 B; {runs_text(cfg)}; browser{spread(rates)}, node{spread(bases)}; the tab is headless "
            f"Chromium on the bare runner page, joined over WebSocket; round trip: {rt_runs} single messages each, "
            f"from the `inject` call to the output event, median")
    return [
        Row("browser chain python→browser(tab)→python, 50 B", rate, "msg/s", text=f"{fmt_num(rate)} msg/s{span(rates)}",
            baseline=f"python→node→python {fmt_num(base)} msg/s{span(bases)}", ratio=f"{rate / base:.2f}×", note=note),
        Row("browser round trip (one message, inject → output)", p50b, "ms", text=f"{p50b:.1f} ms",
            baseline=f"through node {p50n:.1f} ms", ratio=f"{p50b / p50n:.2f}×", note=""),
    ]


def case_failover(ctx):
    """kill -9 of the runner that runs the middle module while messages stream through it:
    the time to the first output of the module at its new place, the time until the rate is
    back to what it was before the kill, messages lost (must be 0), delivered twice (at most what
    `redelivered` counts) and how far the moved module's state fell back (its count in `ctx.state`)."""
    cfg, srv = ctx.cfg, ctx.main_server()
    batch = 200 if cfg.smoke else 500
    before_s, after_s = (1.0, 4.0) if cfg.smoke else (3.0, 10.0)
    r1 = join_runner(ctx, srv, "fo-1", ["fo"])
    r2 = join_runner(ctx, srv, "fo-2", ["fo"])
    fid = "failover"
    try:
        srv.deploy(flows.failover_chain(fid, ["fo"]))
        where = {m["id"]: m.get("runner") for m in srv.rpc.call("getFlow", flowId=fid).get("modules", [])}
        victim, other = (r1, "fo-2") if where.get("mid") == "fo-1" else (r2, "fo-1")
        srv.tail.drain(fid)
        seen, times, counts = {}, [], []
        injected = 0
        lock = threading.Lock()
        stop = threading.Event()

        def collect():
            q = srv.tail._q(fid)
            while not stop.is_set() or not q.empty():
                try:
                    t, ev = q.get(timeout=0.2)
                except Exception:
                    continue
                if ev.get("type") != "output":
                    continue
                p = ev.get("payload") or {}
                with lock:
                    seen[p.get("i")] = seen.get(p.get("i"), 0) + 1
                    times.append((t, p.get("pid")))
                    counts.append((p.get("pid"), p.get("n")))
        reader = threading.Thread(target=collect, daemon=True)
        reader.start()

        def pump(until):
            nonlocal injected
            while time.perf_counter() < until:
                with lock:
                    outstanding = injected - len(seen)
                if outstanding > 4 * batch:
                    time.sleep(0.002)
                    continue
                srv.inject(fid, "gen", {"start": injected, "count": batch})
                injected += batch
        pump(time.perf_counter() + before_s)
        with lock:
            old_pid = times[-1][1] if times else None
        killed = time.perf_counter()
        victim.kill()
        pump(killed + after_s)
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            with lock:
                if all(i in seen for i in range(injected)):
                    break
            time.sleep(0.05)
        stop.set()
        reader.join(5)
        redelivered = sum((srv.rpc.call("getFlow", flowId=fid).get("redelivered") or {}).values())
        with lock:
            lost = sum(1 for i in range(injected) if i not in seen)
            dups = sum(c - 1 for c in seen.values() if c > 1)
            # The state's fall-back: the highest count at the old place against the first at the new one.
            last_old = max((n for pid, n in counts if pid == old_pid and n is not None), default=0)
            first_new_n = next((n for pid, n in counts if pid != old_pid and n is not None and pid is not None), None)
            fell_back = max(0, last_old - (first_new_n - 1)) if first_new_n is not None else None
            before = [t for t, _ in times if killed - before_s / 2 <= t < killed]
            rate_before = len(before) / (before_s / 2) if before else 0
            first_new = next((t for t, pid in times if t > killed and pid != old_pid), None)
            back = None
            for t0 in [killed + k * 0.1 for k in range(int(after_s * 10))]:
                n = sum(1 for t, _ in times if t0 <= t < t0 + 0.5)
                if rate_before and n / 0.5 >= 0.8 * rate_before:
                    back = t0 + 0.5 - killed
                    break
    finally:
        remove_flow(srv, fid)
        for r in (r1, r2):
            ctx.session.stop(r)
    to_first = (first_new - killed) if first_new else None
    note = (f"{injected:,} messages injected in batches of {batch} (at most {4 * batch} outstanding); the middle module "
            f"ran on a `flowctl runner` killed with SIGKILL, re-placed on {other}; rate before the kill "
            f"{fmt_num(rate_before)} msg/s; heartbeat 1 s, lost after 3 s of silence (a killed process's socket closes at once)")
    fmt_s = lambda x: "never" if x is None else f"{x:.2f} s"
    return [
        Row("failover: kill -9 of a runner → first output of the re-placed module", to_first or 0, "s", text=fmt_s(to_first),
            baseline="—", ratio="—", target="≤ 5 s", met=to_first is not None and to_first <= 5, note=note),
        Row("failover: kill -9 → throughput back to ≥ 80% of before", back or 0, "s", text=fmt_s(back),
            baseline=f"{fmt_num(rate_before)} msg/s before", ratio="—", target="≤ 5 s", met=back is not None and back <= 5, note=""),
        Row("failover: messages lost / delivered twice", lost, "msgs", text=f"{lost} lost, {dups} twice of {injected:,}",
            baseline=f"{redelivered} redelivered", ratio="—", target="0 lost, twice ≤ redelivered", met=lost == 0 and dups <= redelivered,
            correctness=True, note="at-least-once: a message may come twice (counted in getFlow's `redelivered`), none may be lost"),
        Row("failover: the moved module's state fell back by", fell_back or 0, "msgs", text="n/a" if fell_back is None else f"{fell_back} messages",
            baseline=f"{fmt_num(rate_before)} msg/s × 1 s heartbeat", ratio="—", target="≤ one heartbeat interval of messages",
            met=fell_back is not None and fell_back <= max(rate_before, batch) * 1.5,
            note="mid counts in ctx.state; the new place starts from the last `states` report (at most one heartbeat interval behind "
                 "what was acknowledged, docs/architecture.md); messages after that report run again there"),
    ]


def case_partition(ctx):
    """A runner cut off by a partition (a TCP proxy that stops forwarding, both ends alive): the time
    until the dispatcher lists it lost and its module runs elsewhere (README: 3 s, heartbeat 1 s)."""
    srv = ctx.main_server()
    proxy = ctx.session.spawn([sys.executable, os.path.join(REPO_DIR, "Tests", "Fixtures", "tcp_proxy.py"), str(srv.rpc.port)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO_DIR)
    port = json.loads(proxy.stdout.readline())["port"]
    proxied = type("Proxied", (), {"url": f"http://127.0.0.1:{port}", "env": srv.env, "rpc": srv.rpc})()
    runner = join_runner(ctx, proxied, "cut-1", ["cut"])
    fid = "partition"
    try:
        srv.deploy(flows.failover_chain(fid, ["cut"]))
        cut = time.perf_counter()
        proxy.send_signal(signal.SIGUSR1)
        lost_after = moved_after = None
        deadline = cut + 30
        while time.perf_counter() < deadline and moved_after is None:
            now = time.perf_counter()
            if lost_after is None and any(r.get("id") == "cut-1" and r.get("state") == "lost" for r in srv.rpc.call("listRunners")):
                lost_after = now - cut
            if lost_after is not None:
                where = {m["id"]: m.get("runner") for m in srv.rpc.call("getFlow", flowId=fid).get("modules", [])}
                if where.get("mid") not in (None, "cut-1"):
                    moved_after = now - cut
            time.sleep(0.02)
    finally:
        remove_flow(srv, fid)
        ctx.session.stop(runner)
        ctx.session.stop(proxy)
    fmt_s = lambda x: "never" if x is None else f"{x:.2f} s"
    note = "heartbeat 1 s; lost after 3 silent intervals; the proxy keeps both connections open and forwards nothing"
    return [
        Row("partition: cut → runner lost", lost_after or 0, "s", text=fmt_s(lost_after), baseline="3 s promised (README)",
            ratio="—" if lost_after is None else f"{lost_after / 3:.2f}×", target="≤ 3.5 s", met=lost_after is not None and lost_after <= 3.5,
            note=note),
        Row("partition: cut → module placed on another runner", moved_after or 0, "s", text=fmt_s(moved_after),
            baseline="—", ratio="—", target="≤ 4 s", met=moved_after is not None and moved_after <= 4, note=""),
    ]


# --- in-runtime chains --------------------------------------------------------

def venv_python(ctx):
    """bench/.venv's python with bytewax and streamz, or (None, reason)."""
    if not ctx.cfg.venv:
        return None, "skipped (--smoke or --no-venv)"
    if ctx.venv_result is not None:
        return ctx.venv_result
    venv = os.path.join(BENCH_DIR, ".venv")
    py = os.path.join(venv, "bin", "python")
    req = os.path.join(BENCH_DIR, "requirements.txt")

    def ok():
        return subprocess.run([py, "-c", "import bytewax, streamz"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=120).returncode == 0
    try:
        if not (os.path.exists(py) and ok()):
            print("bench: installing bytewax and streamz into bench/.venv ...", file=sys.stderr, flush=True)
            subprocess.run([ctx.cfg.python, "-m", "venv", venv], check=True, capture_output=True, timeout=300)
            r = subprocess.run([py, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", req],
                               capture_output=True, timeout=900)
            if r.returncode != 0:
                lines = r.stderr.decode(errors="replace").strip().splitlines() or ["pip failed"]
                raise BenchError(f"pip install failed: {lines[-1][:160]}")
            if not ok():
                raise BenchError("bytewax/streamz do not import after installation")
        ctx.venv_result = (py, None)
    except (BenchError, subprocess.SubprocessError, OSError) as e:
        ctx.venv_result = (None, str(e).replace("\n", " ")[:200])
    return ctx.venv_result


def check_count(n):
    def check(out):
        if not out or out.get("count") != n:
            raise BenchError(f"counter reported {out}, expected count {n}")
    return check


def in_runtime_chain(ctx, runtime, make_flow, interpreter, baseline, baseline_name):
    """gen -> m1 -> m2 -> m3 -> count in one instance of `runtime`, against the same functions
    called in a plain loop (`baseline` in bench/baselines); returns (engine rate, row)."""
    cfg, srv = ctx.cfg, ctx.main_server()
    n = cfg.n
    fid = f"{runtime}chain"
    srv.deploy(make_flow(fid, n))
    try:
        rates, usage = engine_rates(srv, fid, "gen", {"n": n}, n, cfg.repeats, timeout_for(n, 1000), check_count(n),
                                    warmup=cfg.warmup)
    finally:
        remove_flow(srv, fid)
    plains = run_json(ctx.session, [interpreter, os.path.join(BASELINES, baseline), str(n), str(cfg.repeats), str(cfg.warmup)],
                      timeout_for(n * (cfg.repeats + cfg.warmup)))["rates"]
    rate, plain = median(rates), median(plains)
    label = "python" if runtime == "python3" else runtime
    return rates, Row(f"in-runtime chain, 3 {label} modules", rate, "msg/s", text=f"{fmt_num(rate)} msg/s{span(rates)}",
                      baseline=f"{baseline_name} {fmt_num(plain)} msg/s{span(plains)}",
                      ratio=f"{rate / plain:.3f}×", target="≥ 0.5× plain calls", met=rate / plain >= 0.5,
                      note=f"N={n:,}; gen → m1 → m2 → m3 → count in one {runtime} instance; {runs_text(cfg)}; "
                           f"engine{spread(rates)}, plain{spread(plains)}; CPU {CpuMeter.text(usage)}")


def case_py_chain(ctx):
    n = ctx.cfg.n
    cfg = ctx.cfg
    rates, row = in_runtime_chain(ctx, "python3", flows.py_chain, cfg.python, "plain_chain.py", "plain python calls")
    rate = median(rates)
    rows = [row]
    py, why = venv_python(ctx)
    runs = [str(cfg.repeats), str(cfg.warmup)]
    libs = [("bytewax (batch 1000)", ["bytewax_chain.py", str(n), "1000"] + runs, "≥ 5× bytewax"),
            ("bytewax (batch 1)", ["bytewax_chain.py", str(n), "1"] + runs, "≥ 5× bytewax"),
            ("streamz", ["streamz_chain.py", str(n)] + runs, "—")]
    for name, args, target in libs:
        label = "  same chain vs " + name
        if py is None:
            rows.append(Row(label, text=f"n/a: {why}", optional=True))
            continue
        try:
            lib = run_json(ctx.session, [py, os.path.join(BASELINES, args[0])] + args[1:],
                           timeout_for(n * (cfg.repeats + cfg.warmup), 500))["rates"]
        except BenchError as e:
            rows.append(Row(label, text=f"n/a: {e}", optional=True))
            continue
        r = median(lib)
        met = (rate / r >= 5) if target != "—" else None
        rows.append(Row(label, rate, "msg/s", text=f"(same) {fmt_num(rate)} msg/s{span(rates)}",
                        baseline=f"{name} {fmt_num(r)} msg/s{span(lib)}",
                        ratio=f"{rate / r:.2f}×", target=target, met=met, optional=True,
                        note=f"N={n:,}; {runs_text(cfg)}; {name}{spread(lib)}"))
    return rows


def case_js_chain(ctx):
    return [in_runtime_chain(ctx, "node", flows.js_chain, ctx.cfg.node, "plain_chain.js", "plain JS calls")[1]]


# --- host routing (fake runtimes) ------------------------------------------------

def case_routing(ctx):
    cfg = ctx.cfg
    rows = []
    srv = Server(ctx.session, ctx.flowctl, name="routing", runtimes=FAKE_RUNTIMES)
    try:
        for label, n, size in (("50 B", cfg.n_route, 50), ("10 KB", cfg.n_route_big, 10240)):
            fid = f"route{size}"
            srv.deploy(flows.routing_flow(fid, n))
            pids = flow_pids(srv, fid)
            pids = {{"host": "host", "node": "blaster", "python3": "sink"}[k]: v for k, v in pids.items()}
            runs = []
            try:
                for _ in range(cfg.warmup):
                    run_flow_once(srv, fid, "blast", {"n": n, "bytes": size}, n, timeout_for(n, 20_000))
                for _ in range(cfg.repeats):
                    meter = CpuMeter(pids)
                    wall, out = run_flow_once(srv, fid, "blast", {"n": n, "bytes": size}, n, timeout_for(n, 20_000))
                    usage = meter.stop()
                    if not out or out.get("frames", 0) < n or not out.get("seconds"):
                        raise BenchError(f"the fake sink reported {out}, expected {n} frames")
                    runs.append((out["measured"] / out["seconds"], out["bytes"] / out["seconds"] / 1e6, usage))
            finally:
                remove_flow(srv, fid)
            runs.sort(key=lambda r: r[0])
            rate, mbps, usage = runs[len(runs) // 2]
            per_core = rate / (usage.get("host", 100) / 100) if usage.get("host") else float("nan")
            note = (f"N={n:,}; {runs_text(cfg, both=False)}{spread([r[0] for r in runs])}; node blaster → host → python3 sink, no module code; "
                    f"CPU (% of one core) {CpuMeter.text(usage)}; ≈ {fmt_num(per_core)} frames per host CPU-second")
            if size == 50:
                rows.append(Row(f"host routing, {label} frames (fake runtimes)", rate, "frames/s",
                                text=f"{fmt_num(rate)} frames/s{span([r[0] for r in runs])} ({mbps:,.0f} MB/s)",
                                target="≥ 2,000,000 frames/s", met=rate >= 2_000_000, note=note))
            else:
                rows.append(Row(f"host routing, {label} frames (fake runtimes)", rate, "frames/s",
                                text=f"{fmt_num(rate)} frames/s{span([r[0] for r in runs])} ({mbps:,.0f} MB/s)", note=note))
    finally:
        srv.close()
    return rows


# --- latency -----------------------------------------------------------------

def handwired_latency(ctx, n, warmup, runs):
    """`warmup` round trips, then `runs` runs of `n`, through one pinger and relay (as the
    engine's side runs them on one deployed flow); each run's p50/p99/max."""
    s = ctx.session
    a, b = mkfifos(s, "a", "b")
    relay = s.spawn([ctx.cfg.node, os.path.join(BASELINES, "handwired_relay.js"), a, b], stderr=subprocess.PIPE)
    try:
        return run_json(s, [ctx.cfg.python, os.path.join(BASELINES, "handwired_pinger.py"), a, b, str(n), str(warmup), str(runs)],
                        60 + n * runs / 200, all_lines=True)
    finally:
        s.stop(relay)
        shutil.rmtree(os.path.dirname(a), ignore_errors=True)


def case_latency(ctx):
    cfg, srv = ctx.cfg, ctx.main_server()
    fid = "ping"
    srv.deploy(flows.ping_flow(fid))
    outs = []
    try:
        run_flow_once(srv, fid, "ping", {"n": cfg.latency_warmup}, 0, 60 + cfg.latency_warmup / 100)
        for _ in range(cfg.repeats):
            _, out = run_flow_once(srv, fid, "ping", {"n": cfg.n_latency}, 0, 60 + cfg.n_latency / 100)
            if not out or out.get("n") != cfg.n_latency:
                raise BenchError(f"ping module reported {out}")
            outs.append(out)
    finally:
        remove_flow(srv, fid)
    bases = handwired_latency(ctx, cfg.n_latency, cfg.latency_warmup, cfg.repeats)
    # the run with the median p50 of each side
    out = sorted(outs, key=lambda o: o["p50"])[len(outs) // 2]
    base = sorted(bases, key=lambda o: o["p50"])[len(bases) // 2]
    note = (f"{cfg.n_latency:,} sequential round trips after {cfg.latency_warmup} warm-up, the run with the median p50 "
            f"of {cfg.repeats} on both sides (each side: one warm-up, then its runs on the same processes); "
            f"engine p50{spread([o['p50'] for o in outs])}, p99{spread([o['p99'] for o in outs])}; "
            f"hand-wired p50{spread([o['p50'] for o in bases])}; "
            f"max {fmt_num(out['max'])} µs (hand-wired {fmt_num(base['max'])} µs)")
    host = host_latency(ctx)
    return [Row("latency python→node→python round trip, p50", out["p50"], "µs",
                text=f"{fmt_num(out['p50'])} µs{span([o['p50'] for o in outs])}",
                baseline=f"hand-wired fifos {fmt_num(base['p50'])} µs{span([o['p50'] for o in bases])}",
                ratio=f"{out['p50'] / base['p50']:.1f}×",
                target="≤ 150 µs", met=out["p50"] <= 150, note=note),
            Row("latency python→node→python round trip, p99", out["p99"], "µs",
                text=f"{fmt_num(out['p99'])} µs{span([o['p99'] for o in outs])}",
                baseline=f"hand-wired fifos {fmt_num(base['p99'])} µs{span([o['p99'] for o in bases])}",
                ratio=f"{out['p99'] / base['p99']:.1f}×",
                target="≤ 1,000 µs", met=out["p99"] <= 1000),
            Row("  the host's share: fake pinger ↔ host ↔ fake echo", host["p50"], "µs",
                text=f"p50 {fmt_num(host['p50'])} µs, p99 {fmt_num(host['p99'])} µs",
                baseline=f"hand-wired p50 {fmt_num(base['p50'])} µs", ratio=f"{host['p50'] / base['p50']:.1f}×",
                note="the same round trips between two fake runtimes (bench/fake_runtimes_ping) that run no "
                     "module code: what the host's two hops cost")]


def host_latency(ctx):
    cfg = ctx.cfg
    srv = Server(ctx.session, ctx.flowctl, name="hostping", runtimes=FAKE_PING_RUNTIMES)
    try:
        srv.deploy(flows.host_ping_flow("hostping"))
        outs = []
        run_flow_once(srv, "hostping", "ping", {"n": cfg.latency_warmup}, 0, 60 + cfg.latency_warmup / 100)
        for _ in range(cfg.repeats):
            _, out = run_flow_once(srv, "hostping", "ping", {"n": cfg.n_latency}, 0, 60 + cfg.n_latency / 100)
            if not out or out.get("n") != cfg.n_latency:
                raise BenchError(f"the fake pinger reported {out}")
            outs.append(out)
        return sorted(outs, key=lambda o: o["p50"])[len(outs) // 2]
    finally:
        srv.close()


# --- deploy to first output ------------------------------------------------------

def case_deploy(ctx):
    cfg, srv = ctx.cfg, ctx.main_server()
    totals, calls = [], []
    for k in range(cfg.deploy_repeats):
        fid = f"deploy{k}"
        t0 = time.perf_counter()
        srv.deploy(flows.deploy_flow(fid))
        t_dep = time.perf_counter()
        while True:
            try:
                srv.inject(fid, "a", {"hello": k})
                break
            except RPCError as e:
                if e.code != "flow-not-running" or time.perf_counter() - t0 > 30:
                    raise
                time.sleep(0.001)
        t1, _ = srv.wait_output(fid, 60)
        totals.append((t1 - t0) * 1000)
        calls.append((t_dep - t0) * 1000)
        remove_flow(srv, fid)
    med = statistics.median(totals)
    return [Row("deploy to first output, 3-module flow (py→node→py)", med, "ms", text=f"{fmt_num(med)} ms{span(totals)}",
                target="≤ 300 ms", met=med <= 300,
                note=f"median of {len(totals)} (min {fmt_num(min(totals))}, max {fmt_num(max(totals))} ms); "
                     f"addOrUpdateFlow call itself {fmt_num(statistics.median(calls))} ms")]


# --- hot swap ---------------------------------------------------------------------

def module_status(flow_info, mid):
    for m in flow_info.get("modules") or []:
        if m.get("id") == mid:
            return m
    return {}


def case_hot_swap(ctx):
    cfg, srv = ctx.cfg, ctx.main_server()
    fid = "swap"
    srv.deploy(flows.swap_flow(fid))
    stats = {"accepted": 0, "refused": 0, "errors": [], "max_call": 0.0}
    stop = threading.Event()
    phase = {"w": "A"}

    def inject_loop():
        # a steady stream: swap_rate injects per second, swap_batch messages each
        k, t_next = 0, time.perf_counter()
        while not stop.is_set():
            t_next += 1.0 / cfg.swap_rate
            delay = t_next - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            t = time.perf_counter()
            try:
                srv.inject(fid, "src", {"k": cfg.swap_batch, "seq": k, "w": phase["w"], "t": time.time()})
                stats["accepted"] += 1
            except RPCError as e:
                stats["refused"] += 1
                if len(stats["errors"]) < 3:
                    stats["errors"].append(str(e))
            stats["max_call"] = max(stats["max_call"], time.perf_counter() - t)
            k += 1

    th = threading.Thread(target=inject_loop, daemon=True)
    swap_call = None
    try:
        th.start()
        time.sleep(cfg.swap_phase)
        phase["w"] = "B"
        time.sleep(min(0.5, cfg.swap_phase / 4))
        t = time.perf_counter()
        srv.deploy(flows.swap_flow(fid, flows.JS_XFORM_V2))
        swap_call = time.perf_counter() - t
        time.sleep(cfg.swap_phase)
    finally:
        stop.set()
        th.join(30)
    expected = stats["accepted"] * cfg.swap_batch
    deadline = time.monotonic() + 30
    while True:
        info = srv.rpc.call("getFlow", flowId=fid)
        state = module_status(info, "sink").get("moduleState") or {}
        if state.get("count", 0) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    remove_flow(srv, fid)
    windows = state.get("w") or {}
    a, b = windows.get("A"), windows.get("B")
    if not a or not b:
        raise BenchError(f"the sink saw no messages in one of the windows: {state}")

    def p50(hist):
        total, acc = sum(hist), 0
        for k, c in enumerate(hist):
            acc += c
            if acc * 2 >= total:
                return 2 ** k   # upper bound of the bucket, µs
        return float("nan")

    stall, normal = b["max_gap"] * 1000, a["max_gap"] * 1000
    lat_b, lat_a = b["max_lat"] * 1000, a["max_lat"] * 1000
    lost = expected - state.get("count", 0)
    note = (f"{cfg.swap_rate} injects/s × {cfg.swap_batch} msgs; normal median gap ≤ {p50(a['hist'])} µs; "
            f"addOrUpdateFlow took {fmt_num(swap_call * 1000)} ms; longest inject call {fmt_num(stats['max_call'] * 1000)} ms; "
            f"refused injects {stats['refused']}; messages lost {max(0, lost)}, duplicated {max(0, -lost)}")
    if stats["errors"]:
        note += f"; e.g. {stats['errors'][0][:100]}"
    timer_rows, (timer_sent, timer_count) = timer_swap_rows(ctx)
    timer_lost = timer_sent - timer_count
    paced_count = state.get("count", 0)
    lost_row = Row("hot-swap: messages lost / delivered twice (both swaps)", max(0, timer_lost) + max(0, lost), "msgs",
                   text=(f"timer {max(0, timer_lost)} lost, {max(0, -timer_lost)} twice of {timer_sent:,}; "
                         f"paced {max(0, lost)} lost, {max(0, -lost)} twice of {expected:,}"),
                   target="0 lost", met=timer_lost <= 0 and lost <= 0, correctness=True,
                   note=f"sink counts: timer {timer_count:,}, paced {paced_count:,}")
    return timer_rows + [Row("  same, paced by the bench's HTTP injects: largest output gap", stall, "ms",
                baseline=f"largest gap without swap {fmt_num(normal)} ms", ratio=f"{stall / normal:.1f}×",
                note=note),
            Row("  same swap: largest inject→output delay", lat_b, "ms",
                baseline=f"without swap {fmt_num(lat_a)} ms (median ≤ {p50(a['lat_hist']) / 1000:g} ms)",
                ratio=f"{lat_b / lat_a:.1f}×",
                note="the delay from the bench's inject call to the sink, per message: unlike the gap, not "
                     "widened by pauses of the injecting thread, so the swap's extra delay is the difference"),
            lost_row]


def timer_swap_rows(ctx):
    """The swap stall with the source inside the flow (a node timer), so that no bench thread
    or HTTP call widens the gaps: node src -> python mid (swapped) -> node sink. Returns the
    stall row and (messages sent, messages the sink counted)."""
    cfg, srv = ctx.cfg, ctx.main_server()
    fid = "swaptimer"
    srv.deploy(flows.timer_swap_flow(fid))
    k, every = cfg.swap_batch, 1000 // cfg.swap_rate if cfg.swap_rate <= 1000 else 1
    srv.inject(fid, "src", {"start": True, "k": k, "everyMs": max(1, every)})
    time.sleep(cfg.swap_phase)
    srv.inject(fid, "src", {"w": "B"})
    time.sleep(min(0.5, cfg.swap_phase / 4))
    t = time.perf_counter()
    srv.deploy(flows.timer_swap_flow(fid, flows.PY_MID_V2))
    swap_call = time.perf_counter() - t
    time.sleep(cfg.swap_phase)
    srv.inject(fid, "src", {"stop": True})
    deadline = time.monotonic() + 30
    while True:
        time.sleep(0.25)
        info = srv.rpc.call("getFlow", flowId=fid)
        sent = (module_status(info, "src").get("moduleState") or {}).get("sent", -1)
        state = module_status(info, "sink").get("moduleState") or {}
        if (sent > 0 and state.get("count", 0) >= sent) or time.monotonic() > deadline:
            break
    remove_flow(srv, fid)
    windows = state.get("w") or {}
    a, b = windows.get("A"), windows.get("B")
    if not a or not b:
        raise BenchError(f"the timer swap's sink saw no messages in one of the windows: {state}")
    if sent <= 0:
        raise BenchError(f"the timer swap's source reported no messages sent (sent={sent})")
    stall, normal = b["max_gap"], a["max_gap"]
    lost = sent - state.get("count", 0)
    note = (f"node timer src ({k} msgs every {max(1, every)} ms) → python mid (swapped) → node sink; "
            f"addOrUpdateFlow took {fmt_num(swap_call * 1000)} ms; messages {state.get('count', 0):,}, "
            f"lost {max(0, lost)}, duplicated {max(0, -lost)}")
    return [Row("hot-swap stall: largest output gap while swapping a module", stall, "ms",
                baseline=f"largest gap without swap {fmt_num(normal)} ms", ratio=f"{stall / normal:.1f}×",
                target="≤ 10 ms", met=stall <= 10, note=note)], (sent, state.get("count", 0))


# --- memory -------------------------------------------------------------------------

def runtime_rss(info):
    """RSS (KiB) of each runtime instance of a flow, by runtime."""
    out = {}
    for inst in info.get("instances") or []:
        if inst.get("pid"):
            out[inst["runtime"]] = rss_kib(inst["pid"])
    return out


def case_memory(ctx):
    cfg = ctx.cfg
    rows = []
    # grace 2 s: at the end the producer is still inside its handler, which a clean stop would
    # wait 5 s for; the server is killed instead (and its runtimes by pid, see Server.close)
    srv = Server(ctx.session, ctx.flowctl, name="memory", grace=2.0)
    try:
        time.sleep(0.3 if cfg.smoke else 1.0)
        idle = rss_kib(srv.pid)
        rows.append(Row("memory: host RSS, idle (no flows)", mib(idle), "MiB"))
        # calibration: the producer's rate into a consumer that does nothing
        cal_n = 5_000 if cfg.smoke else 200_000
        srv.deploy(flows.pressure_flow("calibrate", 0, cal_n))
        seconds, _ = run_flow_once(srv, "calibrate", "gen", {"n": cal_n}, cal_n, timeout_for(cal_n, 1000))
        remove_flow(srv, "calibrate")
        producer = cal_n / seconds
        # the consumer spins so that it is about 10x slower than that
        spin = round(9 * 1e6 / producer, 1)
        fid = "pressure"
        srv.deploy(flows.pressure_flow(fid, spin))
        time.sleep(0.5)
        info = srv.rpc.call("getFlow", flowId=fid)
        per = runtime_rss(info)
        host_one = rss_kib(srv.pid)
        rows.append(Row("memory: per runtime instance (idle)", text=" / ".join(f"{k} {mib(v):.1f} MiB" for k, v in sorted(per.items())),
                        value=sum(per.values()) / 1024, note=f"host with this flow deployed: {mib(host_one):.1f} MiB"))
        # producer outruns consumer: sample RSS over time
        n = 50_000_000
        srv.inject(fid, "gen", {"n": n})
        samples = []
        t0 = time.perf_counter()
        interval = 0.25 if cfg.smoke else 0.5
        while time.perf_counter() - t0 < cfg.pressure_seconds or len(samples) < 3:
            time.sleep(interval)
            info = srv.rpc.call("getFlow", flowId=fid)
            gen, slow = module_status(info, "gen"), module_status(info, "slow")
            samples.append((time.perf_counter() - t0, rss_kib(srv.pid), runtime_rss(info),
                            gen.get("messagesOut", 0), slow.get("messagesIn", 0), slow.get("queued", 0)))
        if len(samples) < 3:
            raise BenchError("too few memory samples")
        first, mid, last = samples[0], samples[len(samples) // 2], samples[-1]
        peak = max(s[1] for s in samples)
        dt = last[0] - first[0]
        cons_rate = (last[4] - first[4]) / dt if dt else 0
        growth = last[1] - mid[1]
        bounded = growth <= max(2048, 0.05 * mid[1])
        rt_end = " / ".join(f"{k} {mib(v):.0f}" for k, v in sorted(last[2].items()))
        rows.append(Row("memory: host RSS while producer outruns consumer", mib(last[1]), "MiB",
                        text=f"{mib(first[1]):.1f} → {mib(mid[1]):.1f} → {mib(last[1]):.1f} MiB (peak {mib(peak):.1f})",
                        baseline=f"idle {mib(idle):.1f} MiB", ratio=f"{last[1] / idle:.2f}× idle",
                        target="bounded: flat over time", met=bounded,
                        note=f"{cfg.pressure_seconds:.0f} s, sampled every {interval} s; producer alone {fmt_num(producer)} msg/s, "
                             f"consumer (spins {spin} µs/msg) {fmt_num(cons_rate)} msg/s "
                             f"({producer / cons_rate if cons_rate else float('nan'):.1f}× slower); "
                             f"queued at the host for the consumer at end {last[5]:,}; runtimes at end (MiB): {rt_end}"))
        ctx.extra["pressure_samples"] = [(round(s[0], 1), s[1], s[2], s[3], s[4], s[5]) for s in samples]
    finally:
        srv.close()
    return rows


# --- scale -------------------------------------------------------------------------

def case_scale(ctx):
    cfg = ctx.cfg
    rows = []
    srv = Server(ctx.session, ctx.flowctl, name="scale", grace=90)
    try:
        time.sleep(0.5)
        idle, idle_fds = rss_kib(srv.pid), fd_count(srv.pid)
        times, crashed = [], None
        half = max(1, cfg.scale_flows // 2)
        half_mem = None   # host + runtime RSS (KiB) once the first half is deployed (and settled)
        settle = 0.3 if cfg.smoke else 1.0
        paused = 0.0      # the settling at half time, not counted as deploy time
        t_all = time.perf_counter()
        for i in range(cfg.scale_flows):
            if i == half:
                t_pause = time.perf_counter()
                time.sleep(settle)
                half_mem = rss_kib(srv.pid) + sum(rss_kib(p) for p in descendants(srv.pid))
                paused = time.perf_counter() - t_pause
            t = time.perf_counter()
            try:
                srv.deploy(flows.scale_flow(f"s{i:03d}"), timeout=120)
            except BenchError as e:
                if srv.alive():
                    raise
                crashed = f"{srv.crash_summary()} while deploying flow {i + 1} of {cfg.scale_flows}"
                break
            times.append(time.perf_counter() - t)
            last_fds = fd_count(srv.pid)
        total_s = time.perf_counter() - t_all - paused
        deployed = len(times)
        ctx.extra["scale_deploy_ms"] = [round(t * 1000, 1) for t in times]
        if deployed < 2:
            raise BenchError(crashed or "no flow deployed")
        k = max(1, min(10, deployed // 3))
        first, last = statistics.mean(times[:k]) * 1000, statistics.mean(times[-k:]) * 1000
        fds_per_flow = (last_fds - idle_fds) / deployed
        if crashed:
            rows.append(Row(f"scale: deploy {cfg.scale_flows} flows × 5 modules (3 py + 2 node)",
                            failed=f"{crashed}; {deployed} flows deployed, {fmt_num(statistics.mean(times) * 1000)} ms each "
                                   f"(first {k}: {fmt_num(first)}, last {k}: {fmt_num(last)}), "
                                   f"host had {last_fds:,} fds open ({fmt_num(fds_per_flow)} per flow)"))
            return rows
        time.sleep(settle)
        host = rss_kib(srv.pid)
        kids = descendants(srv.pid)
        kids_rss = sum(rss_kib(p) for p in kids)
        runtimes = [p for p in kids if "polyflow_runtime" in cmdline(p)]
        for fid in {"s000", f"s{cfg.scale_flows - 1:03d}"}:     # the first and the last flow still answer
            run_flow_once(srv, fid, "p1", {"x": 1}, 1, 60)
        per_host = mib(host - idle) / deployed
        per_all = mib(host - idle + kids_rss) / deployed
        # Linear: the flows of the second half cost about what those of the first half did.
        if half_mem is None or deployed <= half:
            raise BenchError(f"only {deployed} flows deployed: no second half to compare")
        first_half = mib(half_mem - idle) / half
        second_half = mib(host + kids_rss - half_mem) / (deployed - half)
        mem_ratio = second_half / first_half if first_half > 0 else float("inf")
        rows += [Row(f"scale: deploy {cfg.scale_flows} flows × 5 modules (3 py + 2 node), time per flow",
                     total_s * 1000 / deployed, "ms",
                     text=f"{fmt_num(total_s * 1000 / deployed)} ms/flow (first {k}: {fmt_num(first)}, last {k}: {fmt_num(last)})",
                     ratio=f"{last / first:.2f}× last/first", target="linear, no cliff", met=last <= 2 * first,
                     note=f"total {total_s:.1f} s; {len(runtimes)} runtime processes; host fds {last_fds:,} "
                          f"({fmt_num(fds_per_flow)} per flow)"),
                 Row("scale: memory per flow", per_all, "MiB",
                     text=f"{per_all:.1f} MiB/flow (host {per_host:.2f} + runtimes)",
                     baseline=f"host idle {mib(idle):.1f} MiB", ratio=f"{mem_ratio:.2f}× 2nd/1st half",
                     target="linear, no cliff", met=mem_ratio <= 1.5,
                     note=f"host {mib(host):.1f} MiB, runtime processes {mib(kids_rss):.0f} MiB in all; per flow "
                          f"{first_half:.1f} MiB over the first {half} flows, {second_half:.1f} MiB over the other "
                          f"{deployed - half} (met: the second half ≤ 1.5× the first)")]
    finally:
        srv.close()   # 2 runtime processes per flow to stop: the server gets 90 s to stop them cleanly
    return rows


def case_fd_leak(ctx):
    """Deploys and removes a 2-runtime flow repeatedly: what the host keeps afterwards."""
    cfg = ctx.cfg
    cycles = 3 if cfg.smoke else 20
    srv = Server(ctx.session, ctx.flowctl, name="cycles", tail=False)
    settle = 0.3 if cfg.smoke else 1.0
    try:
        # one cycle first: the first deploy opens the host's lasting descriptors (event loops, timers)
        srv.deploy(flows.deploy_flow("cycle"))
        srv.rpc.call("removeFlow", flowId="cycle")
        time.sleep(settle)
        idle_fds, idle_rss = fd_count(srv.pid), rss_kib(srv.pid)
        t0 = time.perf_counter()
        for i in range(cycles):
            srv.deploy(flows.deploy_flow("cycle"))
            srv.rpc.call("removeFlow", flowId="cycle")
        seconds = time.perf_counter() - t0
        time.sleep(settle)
        fds, rss = fd_count(srv.pid), rss_kib(srv.pid)
        left = [p for p in srv.child_pids() if "polyflow_runtime" in cmdline(p)]
    finally:
        srv.close()
    per = (fds - idle_fds) / cycles
    note = (f"{cycles} cycles of deploy + removeFlow (py→node→py: 2 runtime spawns per cycle), "
            f"{fmt_num(seconds * 1000 / cycles)} ms per cycle; runtime processes left {len(left)}")
    if per > 0:
        note += f"; at this rate the host passes ~1,360 fds after ~{int((1360 - idle_fds) / per)} cycles"
    rss_per = (rss - idle_rss) / cycles
    return [Row("deploy/remove cycles: fds the host keeps per cycle", per, "fds",
                text=f"{fmt_num(per)} fds/cycle ({idle_fds} → {fds})", baseline=f"after one cycle {idle_fds} fds",
                target="0 (back to idle)", met=per < 0.5, note=note),
            Row("deploy/remove cycles: host RSS kept per cycle", rss_per, "KiB",
                text=f"{fmt_num(rss_per)} KiB/cycle ({mib(idle_rss):.1f} → {mib(rss):.1f} MiB)",
                baseline=f"after one cycle {mib(idle_rss):.1f} MiB", target="≈ 0 (back to idle)",
                met=None if cfg.smoke else rss_per < 32)]


CASES = [
    ("cross", "cross-runtime chain, 50 B", lambda ctx: case_cross_chain(ctx, 0, "50 B")),
    ("cross10k", "cross-runtime chain, 10 KB", lambda ctx: case_cross_chain(ctx, 10240, "10 KB")),
    ("runners", "cross-runner chain, 50 B", case_cross_runner),
    ("failover", "failover after kill -9 of a runner", case_failover),
    ("partition", "partition of a runner: detection time", case_partition),
    ("browser", "browser runner chain and round trip (headless Chromium)", case_browser),
    ("pychain", "in-runtime python chain", case_py_chain),
    ("jschain", "in-runtime node chain", case_js_chain),
    ("routing", "host routing", case_routing),
    ("latency", "latency", case_latency),
    ("deploy", "deploy to first output", case_deploy),
    ("deps", "dependency environments: deploy with existing ones, fresh build",
     lambda ctx: case_dependencies(ctx, Row, fmt_num, span, remove_flow)),
    ("swap", "hot-swap stall", case_hot_swap),
    ("memory", "memory", case_memory),
    ("scale", "scale", case_scale),
    ("cycles", "deploy/remove cycles (fd leak check)", case_fd_leak),
]


# --- probes: not in the default run (bench/run --only NAME) -------------------------

def probe_deadlock(ctx):
    """The cross-runtime chain with an unpaced generator (one handler emits all N): the python
    instance feeds node and node feeds it back, so the flow is a cycle between instances."""
    srv = ctx.main_server()
    n = ctx.cfg.n
    fid = "unpaced"
    srv.deploy(flows.cross_chain_unpaced(fid, n))
    wait = 10 if ctx.cfg.smoke else 30
    try:
        seconds, out = run_flow_once(srv, fid, "gen", {"n": n}, n, wait)
        return [Row("probe: cross-runtime chain, unpaced generator", n / seconds, "msg/s",
                    target="completes", met=True, correctness=True, note=f"N={n:,}")]
    except BenchError as e:
        if "no output" not in str(e):
            raise
        info = srv.rpc.call("getFlow", flowId=fid)
        queued = {m["id"]: m.get("queued", 0) for m in info.get("modules") or []}
        return [Row("probe: cross-runtime chain, unpaced generator", 0, "msg/s",
                    text=f"stalled: no output after {wait} s", target="completes", met=False, correctness=True,
                    note=f"N={n:,}; queued per module: " + ", ".join(f"{k} {v:,}" for k, v in queued.items()))]
    finally:
        ctx.close_main()   # a stalled flow holds its runtimes: start afresh


PROBES = [
    ("deadlock", "probe: unpaced generator in a py→node→py chain", probe_deadlock),
]


def probe_scale_limit(ctx):
    """Deploys 5-module flows until 200 or until the server dies."""
    cfg = ctx.cfg
    saved = cfg.scale_flows
    cfg.scale_flows = 20 if cfg.smoke else 200
    try:
        rows = case_scale(ctx)
    finally:
        cfg.scale_flows = saved
    for r in rows:
        r.case = r.case.replace("scale:", "probe: scale", 1)
    return rows


PROBES.append(("scalelimit", "probe: deploy 200 flows of 5 modules (where does the host give up?)", probe_scale_limit))
