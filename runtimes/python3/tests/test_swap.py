"""Hot swap (docs/protocol.md, "Hot swap"): the ``swap`` frame replaces,
adds and removes modules of a running instance, installs new slot and
route tables, calls ``on_swap`` and answers ``swapped``."""

import json
import textwrap
import unittest

from host_harness import RuntimeProcess
from local_instance import LocalInstance, module

from polyflow.configuration import ConfigureError, parse_swap
from polyflow.framing import CONTROL, DATA


def code(text):
    return textwrap.dedent(text).lstrip("\n")


def route(module_id, remote=None, local=(), all=None, port="out"):
    return {"module": module_id, "port": port, "local": [list(t) for t in local], "remote": remote,
            "all": remote if all is None else all}


ECHO = "def on_message(msg, ctx):\n    return msg.payload\n"
COUNT_V1 = code("""
    def on_message(msg, ctx):
        ctx.state["n"] = ctx.state.get("n", 0) + 1
        ctx.send("out", {"v1": msg.payload, "n": ctx.state["n"]})
""")
COUNT_V2 = code("""
    def on_message(msg, ctx):
        ctx.state["n"] += 10
        return {"v2": msg.payload, "n": ctx.state["n"], "tag": ctx.config["tag"]}
""")
# Untouched by swaps: its module globals, ctx and state live on.
KEEP = code("""
    calls = 0
    def on_message(msg, ctx):
        global calls
        calls += 1
        ctx.state.setdefault("ctx", id(ctx))
        ctx.state["same_ctx"] = ctx.state["ctx"] == id(ctx)
        ctx.state["calls"] = calls
        return msg.payload
""")
BASE = dict(
    modules=[module("count", COUNT_V1), module("keep", KEEP), module("old", ECHO, state={"o": 1})],
    slots=[["count", "in"], ["keep", "in"], ["old", "in"]],
    routes=[route("count", 10), route("keep", 11), route("old", 12)],
)


def index(runtime, kind, key=None):
    """Where the first frame of ``kind`` (a control type, or DATA and its
    route ``key``) is in ``runtime.frames``."""
    return next(i for i, f in enumerate(runtime.frames)
                if (f[1]["t"] == kind if f[0] is CONTROL else f[0] is kind and key in (None, f[1])))


class RuntimeSwapTests(unittest.TestCase):
    def start(self, flow=BASE):
        runtime = RuntimeProcess(self)
        runtime.wait_control("hello")
        runtime.send_control(dict({"t": "configure", "flowId": "f"}, **flow))
        self.assertTrue(all(m["ok"] for m in runtime.wait_control("configured")["modules"].values()))
        return runtime

    def swap(self, runtime, modules=(), remove=(), slots=(), routes=(), then=b""):
        """Send a swap (and ``then``, raw frames in the same write); returns
        the ``modules`` of the ``swapped`` reply."""
        frame = {"t": "swap", "modules": list(modules), "remove": list(remove),
                 "slots": list(slots), "routes": list(routes)}
        runtime.send_raw(json.dumps(frame).encode() + b"\n" + then)
        return runtime.wait_control("swapped")["modules"]

    def report(self, runtime):
        """Every module's stats; call when all work is acked (so any stats
        from now on with every state is current)."""
        runtime.send_control({"t": "report"})
        return runtime.wait_for(lambda f: f[0] is CONTROL and f[1]["t"] == "stats"
                                and all("state" in m for m in f[1]["modules"].values()), "report")[1]["modules"]

    def test_newCode_keepsStateAndCounters_newTablesApply_removedModuleIsGone(self):
        runtime = self.start()
        runtime.send_raw(b"D0 1\nD0 2\nD1 \"k\"\nD2 \"o\"\n")
        runtime.wait_ack(4)
        # New slot table: keep is slot 0, count slot 1; count's output goes to route 20.
        swapped = self.swap(
            runtime,
            modules=[module("count", COUNT_V2, config={"tag": "v2"}, init=False, swap=True)],
            remove=["old"],
            slots=[["keep", "in"], ["count", "in"]],
            routes=[route("count", 20), route("keep", 11)],
            then=b"D1 3\nD0 \"k2\"\n")
        self.assertEqual(swapped, {"count": {"ok": True}})
        runtime.wait_ack(6)
        self.assertEqual(runtime.data_frames(), [
            (10, {"v1": 1, "n": 1}), (10, {"v1": 2, "n": 2}), (11, "k"), (12, "o"),
            (20, {"v2": 3, "n": 12, "tag": "v2"}), (11, "k2")])
        self.assertLess(index(runtime, "swapped"), index(runtime, DATA, 20))
        report = self.report(runtime)
        self.assertEqual(set(report), {"count", "keep"})
        self.assertEqual(report["count"], {"in": 3, "out": 3, "errors": 0, "state": {"n": 12}})
        keep = report["keep"]
        self.assertEqual((keep["in"], keep["state"]["calls"], keep["state"]["same_ctx"]), (2, 2, True))

    def test_onSwap_migratesInPlace_byReturnValue_async_andARaisingHookKeepsTheState(self):
        names = ("inplace", "returned", "raises", "later", "noswap")
        runtime = self.start(dict(
            modules=[module(name, COUNT_V1) for name in names],
            slots=[[name, "in"] for name in names],
            routes=[route(name, i) for i, name in enumerate(names)]))
        runtime.send_raw(b"".join(b"D%d %d\n" % (i, i) for i in range(len(names))))
        runtime.wait_ack(len(names))
        show = "def on_message(msg, ctx):\n    return dict(ctx.state, got=msg.payload)\n"
        hooks = {
            "inplace": "def on_swap(old, ctx):\n    ctx.state['total'] = old.pop('n') * 100\n",
            "returned": code("""
                def on_swap(old_state, ctx):
                    print("migrating", old_state)
                    ctx.send("out", "sent by on_swap")
                    return {"total": old_state["n"], "tag": ctx.config["tag"]}
            """),
            "raises": code("""
                def on_swap(old_state, ctx):
                    ctx.state["half"] = True
                    raise ValueError("cannot migrate")
            """),
            "later": code("""
                import asyncio
                async def on_swap(old_state, ctx):
                    await asyncio.sleep(0)
                    ctx.state["async"] = True
            """),
            "noswap": "def on_swap(old, ctx):\n    raise AssertionError('not called')\n",
        }
        swapped = self.swap(
            runtime,
            modules=[module(name, show + hooks[name], config={"tag": name}, init=False, swap=name != "noswap")
                     for name in names],
            slots=[[name, "in"] for name in names],
            routes=[route(name, 10 + i) for i, name in enumerate(names)],
            then=b"".join(b"D%d \"next\"\n" % i for i in range(len(names))))
        self.assertEqual(swapped, {name: {"ok": True} for name in names})
        runtime.wait_ack(2 * len(names))
        # on_swap ran before each module's next message, after the swapped reply.
        self.assertEqual(runtime.data_frames()[len(names):], [
            (11, "sent by on_swap"),
            (10, {"total": 100, "got": "next"}),
            (11, {"total": 1, "tag": "returned", "got": "next"}),
            (12, {"n": 1, "got": "next"}),
            (13, {"n": 1, "async": True, "got": "next"}),
            (14, {"n": 1, "got": "next"}),
        ])
        [error] = runtime.controls("error")
        self.assertEqual({k: error[k] for k in ("module", "port", "payload", "message")},
                         {"module": "raises", "port": None, "payload": None, "message": "ValueError: cannot migrate"})
        self.assertIn('File "<module raises>", line 5, in on_swap', error["stack"])
        self.assertEqual([(f["module"], f["text"]) for f in runtime.controls("log")], [("returned", "migrating {'n': 1}")])
        swapped_at = index(runtime, "swapped")
        self.assertLess(swapped_at, index(runtime, "log"))
        self.assertLess(swapped_at, index(runtime, "error"))
        self.assertLess(swapped_at, index(runtime, DATA, 11))
        report = self.report(runtime)
        self.assertEqual(report["raises"], {"in": 2, "out": 2, "errors": 1, "state": {"n": 1}})
        self.assertEqual(report["returned"]["out"], 3, "the send from on_swap counts")

    def test_newModuleWithInit_andChangedRoutes_localAndRemote(self):
        runtime = self.start(dict(
            modules=[module("a", ECHO), module("b", "def on_message(msg, ctx):\n    return ['b', msg.payload]\n")],
            slots=[["a", "in"]],
            routes=[route("a", None, local=[("b", "in")], all=1), route("b", 2)]))
        runtime.send_data(0, 1)
        runtime.wait_ack(1)
        new = code("""
            def init(ctx):
                ctx.state["ready"] = True
            def on_message(msg, ctx):
                return ["c", msg.payload, ctx.state]
        """)
        swapped = self.swap(
            runtime,
            modules=[module("c", new, inputs=["left"])],
            slots=[["a", "in"], ["c", "left"], ["b", "in"]],
            routes=[route("a", 30, local=[("c", "left")], all=33), route("b", 2), route("c", 31)],
            then=b"D0 2\nD1 3\nD2 4\n")
        self.assertEqual(swapped, {"c": {"ok": True}})
        runtime.wait_ack(4)
        self.assertEqual(runtime.data_frames()[0], (2, ["b", 1]))
        self.assertCountEqual(runtime.data_frames()[1:], [
            (30, 2), (31, ["c", 2, {"ready": True}]), (31, ["c", 3, {"ready": True}]), (2, ["b", 4])])
        report = self.report(runtime)
        self.assertEqual(report["c"], {"in": 2, "out": 2, "errors": 0, "state": {"ready": True}})
        self.assertEqual(report["b"]["in"], 2)

    def test_moduleMovedInWithItsState(self):
        runtime = self.start()
        moved = code("""
            def init(ctx):
                ctx.state["init"] = "must not run"
            def on_swap(old_state, ctx):
                ctx.state["old"] = dict(old_state)
            def on_message(msg, ctx):
                ctx.state["n"] += 1
                return ctx.state["n"]
        """)
        swapped = self.swap(
            runtime, modules=[module("moved", moved, state={"n": 41}, init=False, swap=True)],
            slots=[["count", "in"], ["keep", "in"], ["old", "in"], ["moved", "in"]],
            routes=BASE["routes"] + [route("moved", 40)],
            then=b"D3 null\n")
        self.assertEqual(swapped, {"moved": {"ok": True}})
        runtime.wait_ack(1)
        self.assertEqual(runtime.data_frames(), [(40, 42)])
        self.assertEqual(self.report(runtime)["moved"],
                         {"in": 1, "out": 1, "errors": 0, "state": {"n": 42, "old": {"n": 41}}})

    def test_replacedModuleWithAGivenState_startsFromIt(self):
        runtime = self.start()
        runtime.send_data(0, 1)
        runtime.wait_ack(1)
        self.swap(runtime, modules=[module("count", COUNT_V1, state={"n": 100}, init=False)],
                  slots=BASE["slots"], routes=BASE["routes"], then=b"D0 2\n")
        runtime.wait_ack(2)
        self.assertEqual(runtime.data_frames(), [(10, {"v1": 1, "n": 1}), (10, {"v1": 2, "n": 101})])

    def test_loadFailure_isReportedWithItsLine_andItsMessagesBecomeErrors_untilASwapFixesIt(self):
        runtime = self.start()
        runtime.send_data(0, 1)
        runtime.wait_ack(1)
        initfail = "def init(ctx):\n    raise RuntimeError('no db')\ndef on_message(msg, ctx):\n    pass\n"
        swapped = self.swap(
            runtime,
            modules=[module("count", "x = 1\ndef on_message(msg ctx):\n    pass\n", init=False, swap=True),
                     module("fresh", initfail)],
            slots=BASE["slots"] + [["fresh", "in"]],
            routes=BASE["routes"] + [route("fresh", 50)],
            then=b"D0 2\nD3 3\nD1 \"k\"\n")
        self.assertEqual(swapped, {
            "count": {"ok": False, "error": "SyntaxError: invalid syntax", "line": 2},
            "fresh": {"ok": False, "error": "RuntimeError: no db", "line": 2}})
        runtime.wait_ack(4)
        errors = [(e["module"], e["payload"], e["message"], e["stack"]) for e in runtime.controls("error")]
        self.assertEqual(errors, [
            ("count", 2, "module 'count' did not load: SyntaxError: invalid syntax", None),
            ("fresh", 3, "module 'fresh' did not load: RuntimeError: no db", None)])
        self.assertEqual(runtime.data_frames()[-1], (11, "k"), "other modules go on")
        report = self.report(runtime)
        self.assertEqual(report["count"], {"in": 2, "out": 1, "errors": 1, "state": {"n": 1}})

        self.assertEqual(self.swap(runtime, modules=[module("count", COUNT_V1, init=False)],
                                   slots=BASE["slots"], routes=BASE["routes"], then=b"D0 4\n"),
                         {"count": {"ok": True}})
        runtime.wait_ack(5)
        self.assertEqual(runtime.data_frames()[-1], (10, {"v1": 4, "n": 2}))

    def test_debugModeViaHost_isKeptAcrossASwap(self):
        runtime = self.start(dict(
            modules=[module("a", ECHO), module("b", ECHO)],
            slots=[["a", "in"], ["b", "in"]],
            routes=[route("a", None, local=[("b", "in")], all=1), route("b", 2)]))
        runtime.send_control({"t": "mode", "via": "host"})
        swapped = self.swap(
            runtime, modules=[module("a", "def on_message(msg, ctx):\n    return msg.payload * 2\n", init=False)],
            slots=[["a", "in"], ["b", "in"]],
            routes=[route("a", None, local=[("b", "in")], all=5), route("b", 6)],
            then=b"D0 1\nD1 2\n")
        self.assertEqual(swapped, {"a": {"ok": True}})
        runtime.wait_ack(2)
        self.assertEqual(runtime.data_frames(), [(5, 2), (6, 2)])
        runtime.send_control({"t": "mode", "via": "direct"})
        runtime.send_data(0, 3)
        runtime.wait_ack(3)
        self.assertEqual(runtime.data_frames()[2:], [(6, 6)])

    def assert_fatal(self, runtime, text):
        self.assertIn(text, runtime.wait_control("fatal")["message"])
        self.assertEqual(runtime.wait_exit(), 2)

    def test_swapBeforeConfigure_isFatal(self):
        runtime = RuntimeProcess(self)
        runtime.wait_control("hello")
        runtime.send_control({"t": "swap", "modules": [], "remove": [], "slots": [], "routes": []})
        self.assert_fatal(runtime, "swap before configure")

    def test_swapThatDoesNotCheckOut_isFatal(self):
        runtime = self.start()
        runtime.send_control({"t": "swap", "modules": [], "remove": ["old"], "slots": [["old", "in"]], "routes": []})
        self.assert_fatal(runtime, "bad swap: slots[0]: no module 'old' in this instance")


class SwapInProcessTests(unittest.TestCase):
    def test_replacedModule_keepsItsModuleRecordCtxAndStateObjects(self):
        local = LocalInstance([module("m", COUNT_V1)], [["m", "in"]], [route("m", 1)])
        before = local.instance.modules["m"]
        ctx, state = before.ctx, before.ctx.state
        local.swap([module("m", COUNT_V2, config={"tag": "t"}, init=False, swap=True)],
                   slots=[["m", "in"]], routes=[route("m", 2)])
        after = local.instance.modules["m"]
        self.assertIs(after, before)
        self.assertIs(after.ctx, ctx)
        self.assertIs(after.ctx.state, state)
        self.assertEqual(after.ctx.config, {"tag": "t"})

    def test_removingAModuleWithWaitingMessages_letsTheAcksGoOn(self):
        local = LocalInstance([module("a", ECHO), module("b", ECHO)], [["a", "in"], ["b", "in"]],
                              [route("a", 1), route("b", 2)])
        local.deliver(0, "x")
        local.deliver(1, "y")
        local.deliver(0, "z")
        local.swap(remove=["a"], slots=[["b", "in"]], routes=[route("b", 2)])
        local.run()
        self.assertEqual(local.data(), [(2, "y")])
        self.assertEqual(local.scheduler.acked(), 3)
        self.assertEqual(list(local.instance.modules), ["b"])
        self.assertEqual(list(local.stats()[0][1]["modules"]), ["b"])

    def test_parseSwap_checksAgainstTheModulesAfterTheSwap(self):
        hosted = LocalInstance([module("a", ECHO), module("b", ECHO)], [], []).instance.modules

        def problems(**frame):
            with self.assertRaises(ConfigureError) as caught:
                parse_swap(frame, hosted)
            return str(caught.exception)

        self.assertEqual(problems(remove=["zz", "a"], modules=[module("a", ECHO)]),
                         "bad swap: remove[0]: no module 'zz' in this instance; "
                         "remove[1]: module 'a' is also in modules")
        self.assertIn("routes[0].port: module 'b' has no output 'side'",
                      problems(modules=[], remove=["a"], routes=[route("b", 1, port="side")]))
        self.assertIn("modules[0].swap: missing or of the wrong type",
                      problems(modules=[dict(module("c", ECHO), swap="yes")]))
        swap = parse_swap({"modules": [module("c", ECHO, inputs=["x"])], "remove": ["a"],
                           "slots": [["b", "in"], ["c", "x"]], "routes": [route("c", 3)]}, hosted)
        self.assertEqual((swap.remove, swap.slots, swap.modules[0].state), (("a",), (("b", "in"), ("c", "x")), None))


if __name__ == "__main__":
    unittest.main()
