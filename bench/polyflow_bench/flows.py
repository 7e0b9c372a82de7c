"""The flows the cases deploy, with their module code inlined.

Per-message work matches the baselines in bench/baselines/ (chain_funcs.py,
plain_chain.js, handwired_*.py, handwired_relay.js)."""

# --- python modules -------------------------------------------------------

PY_GEN = '''
def on_message(msg, ctx):
    # {"n": N, "pad": P}: emit N payloads of about 50 bytes (+P bytes of padding)
    n = msg.payload["n"]
    pad = msg.payload.get("pad", 0)
    send = ctx.send
    if pad:
        filler = "x" * pad
        for i in range(n):
            send("out", {"i": i, "sku": "ABC-12345", "qty": 3, "price": 19.99, "pad": filler})
    else:
        for i in range(n):
            send("out", {"i": i, "sku": "ABC-12345", "qty": 3, "price": 19.99})
'''

PY_PACED_GEN = '''
def on_message(msg, ctx):
    # port "in", {"n": N, "pad": P, "batch": B, "window": W}: emit N payloads of about 50 bytes
    # (+P bytes of padding), W batches of B at once, then one batch per credit from the counter
    # (port "credit", a local connection inside this python instance): a steady stream, not one
    # burst that waits at the host until the generator returns (the `deadlock` probe).
    s = ctx.state
    if msg.port == "in":
        p = msg.payload
        s.update(left=p["n"], next=0, pad=p.get("pad", 0), batch=p["batch"])
        batches = p["window"]
    else:
        batches = 1
    send = ctx.send
    filler = "x" * s["pad"]
    for _ in range(batches):
        k = min(s["batch"], s["left"])
        i0 = s["next"]
        if filler:
            for i in range(i0, i0 + k):
                send("out", {"i": i, "sku": "ABC-12345", "qty": 3, "price": 19.99, "pad": filler})
        else:
            for i in range(i0, i0 + k):
                send("out", {"i": i, "sku": "ABC-12345", "qty": 3, "price": 19.99})
        s["next"] = i0 + k
        s["left"] -= k
'''

PY_CREDIT_COUNT = '''
def on_message(msg, ctx):
    # counts messages and sums qty; a credit to the generator every config.batch messages;
    # one flow output when config.n have arrived
    s = ctx.state
    s["count"] = s.get("count", 0) + 1
    s["qty"] = s.get("qty", 0) + msg.payload["qty"]
    if s["count"] % ctx.config["batch"] == 0:
        ctx.send("credit", 1)
    if s["count"] >= ctx.config["n"]:
        ctx.send("out", {"count": s["count"], "qty": s["qty"]})
        s["count"] = 0
        s["qty"] = 0
'''

PY_COUNT = '''
def on_message(msg, ctx):
    # counts messages and sums qty; one flow output when config.n have arrived
    s = ctx.state
    s["count"] = s.get("count", 0) + 1
    s["qty"] = s.get("qty", 0) + msg.payload["qty"]
    if s["count"] >= ctx.config["n"]:
        ctx.send("out", {"count": s["count"], "qty": s["qty"]})
        s["count"] = 0
        s["qty"] = 0
'''

PY_M1 = '''
def on_message(msg, ctx):
    p = msg.payload
    return {**p, "qty": p["qty"] * 2}
'''
PY_M2 = '''
def on_message(msg, ctx):
    p = msg.payload
    return {**p, "total": p["qty"] * p["price"]}
'''
PY_M3 = '''
def on_message(msg, ctx):
    return {**msg.payload, "ok": True}
'''

PY_PING = '''
import time
_run = {}

def on_message(msg, ctx):
    now = time.perf_counter_ns()
    if msg.port == "in":          # {"n": N}: start N sequential round trips
        _run.update(left=msg.payload["n"], samples=[])
        _run["t0"] = time.perf_counter_ns()
        ctx.send("ping", {"seq": 0, "sku": "ABC-12345", "qty": 3, "price": 19.99})
        return
    samples = _run["samples"]     # port "back": a round trip ended
    samples.append(now - _run["t0"])
    _run["left"] -= 1
    if _run["left"] > 0:
        seq = msg.payload["seq"] + 1
        _run["t0"] = time.perf_counter_ns()
        ctx.send("ping", {"seq": seq, "sku": "ABC-12345", "qty": 3, "price": 19.99})
    else:
        samples.sort()
        n = len(samples)
        ctx.send("result", {"n": n, "p50": samples[n // 2] / 1000,
                            "p99": samples[min(n - 1, n * 99 // 100)] / 1000, "max": samples[-1] / 1000})
'''

PY_TICK_SOURCE = '''
def on_message(msg, ctx):
    # {"k": K, "seq": s, "w": window, "t": inject time}: emit K messages tagged with the
    # measurement window and the time the bench injected them
    p = msg.payload
    k, w, t = p["k"], p["w"], p["t"]
    base = p["seq"] * k
    for i in range(k):
        ctx.send("out", {"i": base + i, "sku": "ABC-12345", "qty": 3, "price": 19.99, "w": w, "t": t})
'''

PY_GAP_SINK = '''
import time

def on_message(msg, ctx):
    # the gaps between arrivals and the delay since the inject call, per measurement
    # window; wall clock, so that they survive a restart of this process (ctx.state is kept)
    now = time.time()
    s = ctx.state
    last = s.get("last")
    s["last"] = now
    s["count"] = s.get("count", 0) + 1
    w = s.setdefault("w", {}).setdefault(msg.payload["w"], {"count": 0, "max_gap": 0.0, "max_lat": 0.0,
                                                           "hist": [0] * 24, "lat_hist": [0] * 24})
    w["count"] += 1
    lat = now - msg.payload["t"]            # from the bench's inject call to here
    if lat > w["max_lat"]:
        w["max_lat"] = lat
    w["lat_hist"][min(23, max(0, int(lat * 1e6)).bit_length())] += 1
    if last is not None:
        gap = now - last
        if gap > w["max_gap"]:
            w["max_gap"] = gap
        w["hist"][min(23, int(gap * 1e6).bit_length())] += 1   # bucket k: gap < 2**k µs
'''

PY_IDENTITY = '''
def on_message(msg, ctx):
    return msg.payload
'''

# --- node modules ---------------------------------------------------------

JS_XFORM = '''
module.exports = (msg) => {
  const p = msg.payload;
  p.qty = p.qty * 2;
  return p;
};
'''

JS_XFORM_V2 = '''
// version 2 of the transform (the hot-swap case deploys it under load)
module.exports = (msg) => {
  const p = msg.payload;
  p.qty = p.qty * 2;
  p.v = 2;
  return p;
};
'''

JS_TIMER_SOURCE = '''
// A source inside the flow: on {"start": true, "k": K, "everyMs": T} it sends K messages
// every T ms from a timer, tagged with the measurement window; {"w": W} switches the
// window, {"stop": true} stops. No bench thread or HTTP call paces it.
let timer = null;
exports.onMessage = (msg, ctx) => {
  const p = msg.payload;
  const s = ctx.state;
  if (p.w) s.w = p.w;
  if (p.start && !timer) {
    s.w = s.w || 'A';
    s.sent = s.sent || 0;
    timer = setInterval(() => {
      for (let j = 0; j < p.k; j++) {
        ctx.send('out', { i: s.sent++, sku: 'ABC-12345', qty: 3, price: 19.99, w: s.w });
      }
    }, p.everyMs);
  }
  if (p.stop && timer) { clearInterval(timer); timer = null; }
};
'''

JS_GAP_SINK = '''
// The largest gap between arrivals per measurement window (monotonic clock).
const { performance } = require('node:perf_hooks');
exports.onMessage = (msg, ctx) => {
  const now = performance.now();
  const s = ctx.state;
  s.count = (s.count || 0) + 1;
  s.w = s.w || {};
  const w = s.w[msg.payload.w] || (s.w[msg.payload.w] = { count: 0, max_gap: 0 });
  w.count += 1;
  if (s.last !== undefined && now - s.last > w.max_gap) w.max_gap = now - s.last;
  s.last = now;
};
'''

PY_MID_V2 = '''
# version 2 of the middle step (the hot-swap case deploys it under load)
def on_message(msg, ctx):
    p = msg.payload
    p["v"] = 2
    return p
'''

JS_SLOW = '''
// a consumer slower than its producer: spins for config.spinMicros per message;
// one flow output when config.n messages have arrived (if config.n is set)
exports.onMessage = (msg, ctx) => {
  if (ctx.config.spinMicros > 0) {
    const until = process.hrtime.bigint() + BigInt(Math.round(ctx.config.spinMicros * 1000));
    while (process.hrtime.bigint() < until) { /* spin */ }
  }
  ctx.state.count = (ctx.state.count || 0) + 1;
  if (ctx.config.n && ctx.state.count === ctx.config.n) ctx.send('out', { count: ctx.state.count });
};
'''

JS_GEN = '''
exports.onMessage = (msg, ctx) => {
  const n = msg.payload.n;
  for (let i = 0; i < n; i++) ctx.send('out', { i, sku: 'ABC-12345', qty: 3, price: 19.99 });
};
'''
JS_M1 = "module.exports = (msg) => { const p = msg.payload; return { ...p, qty: p.qty * 2 }; };\n"
JS_M2 = "module.exports = (msg) => { const p = msg.payload; return { ...p, total: p.qty * p.price }; };\n"
JS_M3 = "module.exports = (msg) => ({ ...msg.payload, ok: true });\n"
JS_COUNT = '''
exports.onMessage = (msg, ctx) => {
  const s = ctx.state;
  s.count = (s.count || 0) + 1;
  s.qty = (s.qty || 0) + msg.payload.qty;
  if (s.count >= ctx.config.n) {
    ctx.send('out', { count: s.count, qty: s.qty });
    s.count = 0;
    s.qty = 0;
  }
};
'''
JS_IDENTITY = "module.exports = (msg) => msg.payload;\n"


def module(mid, runtime, code, inputs=None, outputs=None, config=None):
    m = {"id": mid, "runtime": runtime, "code": code.lstrip("\n")}
    if inputs is not None:
        m["inputs"] = inputs
    if outputs is not None:
        m["outputs"] = outputs
    if config is not None:
        m["config"] = config
    return m


def chain(modules):
    """Connections joining each module's first output to the next module's first input."""
    return [{"from": f"{a['id']}.{(a.get('outputs') or ['out'])[0]}", "to": f"{b['id']}.{(b.get('inputs') or ['in'])[0]}"}
            for a, b in zip(modules, modules[1:])]


def flow(fid, modules, connections=None):
    return {"id": fid, "modules": modules, "connections": chain(modules) if connections is None else connections}


CREDIT_BATCH = 1000
CREDIT_WINDOW = 8


def cross_chain(fid, n):
    """python gen -> node xform -> python count (gen and count share the python instance), the
    generator paced by credits from the counter (a local connection)."""
    return flow(fid, [module("gen", "python3", PY_PACED_GEN, inputs=["in", "credit"]),
                      module("xform", "node", JS_XFORM),
                      module("count", "python3", PY_CREDIT_COUNT, outputs=["out", "credit"],
                             config={"n": n, "batch": CREDIT_BATCH})],
                [{"from": "gen.out", "to": "xform.in"}, {"from": "xform.out", "to": "count.in"},
                 {"from": "count.credit", "to": "gen.credit"}])


def cross_chain_tagged(fid, n, tags):
    """The cross-runtime chain with its middle module preferring runners with `tags` (another runner)."""
    f = cross_chain(fid, n)
    f["modules"][1]["tags"] = tags
    return f


def cross_chain_browser(fid, n):
    """The cross-runtime chain with its middle module in a browser tab (runtime "browser")."""
    f = cross_chain(fid, n)
    f["modules"][1]["runtime"] = "browser"
    return f


PY_FAILOVER_GEN = """
def on_message(msg, ctx):
    for i in range(msg.payload["start"], msg.payload["start"] + msg.payload["count"]):
        ctx.send("out", {"i": i})
"""

JS_FAILOVER_MID = """
exports.onMessage = (msg, ctx) => { ctx.state.n = (ctx.state.n || 0) + 1; return { i: msg.payload.i, pid: process.pid, n: ctx.state.n }; };
"""


def failover_chain(fid, tags):
    """python gen -> node mid (preferring runners with `tags`): every output names the message and the process."""
    m = module("mid", "node", JS_FAILOVER_MID)
    m["tags"] = tags
    return flow(fid, [module("gen", "python3", PY_FAILOVER_GEN), m])


def cross_chain_unpaced(fid, n):
    """The same chain with a generator that emits all N in one handler (stalled past ~20k before the cycle bound)."""
    return flow(fid, [module("gen", "python3", PY_GEN), module("xform", "node", JS_XFORM),
                      module("count", "python3", PY_COUNT, config={"n": n})])


def py_chain(fid, n):
    return flow(fid, [module("gen", "python3", PY_GEN), module("m1", "python3", PY_M1),
                      module("m2", "python3", PY_M2), module("m3", "python3", PY_M3),
                      module("count", "python3", PY_COUNT, config={"n": n})])


def js_chain(fid, n):
    return flow(fid, [module("gen", "node", JS_GEN), module("m1", "node", JS_M1),
                      module("m2", "node", JS_M2), module("m3", "node", JS_M3),
                      module("count", "node", JS_COUNT, config={"n": n})])


def ping_flow(fid):
    return flow(fid, [module("ping", "python3", PY_PING, inputs=["in", "back"], outputs=["ping", "result"]),
                      module("relay", "node", JS_XFORM)],
                [{"from": "ping.ping", "to": "relay.in"}, {"from": "relay.out", "to": "ping.back"}])


def routing_flow(fid, n):
    """For the fake runtimes (bench/fake_runtimes): a node blaster feeding a python3 sink."""
    return flow(fid, [module("blast", "node", "// fake runtime: no code runs\n"),
                      module("sink", "python3", "# fake runtime: no code runs\n", config={"n": n})])


def host_ping_flow(fid):
    """For bench/fake_runtimes_ping: a fake python3 pinger and a fake node echo."""
    return flow(fid, [module("ping", "python3", "# fake runtime: no code runs\n", inputs=["in", "back"], outputs=["out", "result"]),
                      module("echo", "node", "// fake runtime: no code runs\n")],
                [{"from": "ping.out", "to": "echo.in"}, {"from": "echo.out", "to": "ping.back"}])


def swap_flow(fid, xform_code=JS_XFORM):
    return flow(fid, [module("src", "python3", PY_TICK_SOURCE), module("mid", "node", xform_code),
                      module("sink", "python3", PY_GAP_SINK)])


def timer_swap_flow(fid, mid_code=PY_IDENTITY):
    """node timer source -> python mid (the module swapped) -> node sink: src and sink share
    the node instance, so the swap holds only the python instance."""
    return flow(fid, [module("src", "node", JS_TIMER_SOURCE), module("mid", "python3", mid_code),
                      module("sink", "node", JS_GAP_SINK)])


def pressure_flow(fid, spin_micros, n=0):
    return flow(fid, [module("gen", "python3", PY_GEN),
                      module("slow", "node", JS_SLOW, config={"spinMicros": spin_micros, "n": n})])


def deploy_flow(fid):
    """The 3-module flow for deploy-to-first-output: python -> node -> python."""
    return flow(fid, [module("a", "python3", PY_IDENTITY), module("b", "node", JS_IDENTITY),
                      module("c", "python3", PY_IDENTITY)])


def scale_flow(fid):
    """5 modules: 3 python, 2 node, chained py -> node -> py -> node -> py."""
    return flow(fid, [module("p1", "python3", PY_IDENTITY), module("n1", "node", JS_IDENTITY),
                      module("p2", "python3", PY_IDENTITY), module("n2", "node", JS_IDENTITY),
                      module("p3", "python3", PY_IDENTITY)])
