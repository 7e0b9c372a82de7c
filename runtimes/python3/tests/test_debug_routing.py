"""Debug routing (docs/protocol.md): ``all`` route ids, ``mode`` and
``report`` frames, and every frame of a message before the ack covering it."""

import bisect
import re
import textwrap
import unittest

from host_harness import RuntimeProcess
from local_instance import LocalInstance, module

from polyflow.configuration import ConfigureError, parse_configure
from polyflow.framing import ACK, CONTROL, DATA


def code(text):
    return textwrap.dedent(text).lstrip("\n")


ECHO = "def on_message(msg, ctx):\n    return msg.payload\n"
# a -> b in the same instance; b -> elsewhere.
SEND = code("""
    def on_message(msg, ctx):
        ctx.state["n"] = ctx.state.get("n", 0) + 1
        ctx.send("out", {"from": ctx.module_id, "v": msg.payload})
""")
A_TO_B = dict(
    modules=[module("a", SEND), module("b", SEND), module("c", ECHO, state={"k": 1}, init=False)],
    slots=[["a", "in"], ["b", "in"]],
    routes=[{"module": "a", "port": "out", "local": [["b", "in"]], "remote": None, "all": 10},
            {"module": "b", "port": "out", "local": [], "remote": 11, "all": 11},
            {"module": "c", "port": "out", "local": [], "remote": 12, "all": 12}],
)


def route(**fields):
    return dict({"module": "m", "port": "out", "local": []}, **fields)


class ConfigureAllTests(unittest.TestCase):
    def parsed(self, entry):
        frame = {"t": "configure", "flowId": "f", "modules": [module("m", ECHO)], "slots": [],
                 "routes": [entry]}
        [spec] = parse_configure(frame).routes
        return spec.remote, spec.all

    def test_allIsKept(self):
        self.assertEqual(self.parsed(route(remote=None, all=7)), (None, 7))

    def test_missingAll_fallsBackToRemote_thenToNone(self):
        self.assertEqual(self.parsed(route(remote=3)), (3, 3))
        self.assertEqual(self.parsed(route(remote=None)), (None, None))
        self.assertEqual(self.parsed(route(remote=3, all=None)), (3, 3))

    def test_allThatIsNotARouteId_isRefused(self):
        for bad in (-1, "1", 1.0, True, 1_000_000_000):
            with self.subTest(bad=bad), self.assertRaisesRegex(ConfigureError, r"routes\[0\]\.all"):
                self.parsed(route(remote=None, all=bad))


class ModeTests(unittest.TestCase):
    def local(self, **flow):
        flow = dict(A_TO_B, **flow)
        return LocalInstance(flow["modules"], flow["slots"], flow["routes"])

    def test_viaHost_everySendIsADataFrameOnAll_andLocalTargetsAreNotCalled(self):
        local = self.local()
        local.instance.routes.use(True)
        local.deliver(0, 1)
        local.deliver(1, 2)
        local.run()
        self.assertEqual(local.data(), [(10, {"from": "a", "v": 1}), (11, {"from": "b", "v": 2})])
        self.assertEqual(local.instance.modules["b"].in_count, 1)
        self.assertEqual(local.scheduler.acked(), 2)

        local.instance.routes.use(False)
        local.deliver(0, 3)
        local.run()
        self.assertEqual(local.data()[2:], [(11, {"from": "b", "v": {"from": "a", "v": 3}})])
        self.assertEqual(local.instance.modules["b"].in_count, 2)

    def test_viaHost_returnValueAndFanOutWithRemote_areOneFrameOnAll(self):
        local = LocalInstance(
            [module("src", ECHO, outputs=("out", "side")), module("x", ECHO), module("y", ECHO)],
            [["src", "in"]],
            [route(module="src", local=[["x", "in"], ["y", "in"]], remote=3, all=4),
             route(module="src", port="side", remote=None, all=5),
             route(module="x", remote=6, all=6), route(module="y", remote=6, all=6)])
        local.instance.routes.use(True)
        local.deliver(0, "v")
        local.run()
        self.assertEqual(local.data(), [(4, "v")])
        self.assertEqual(local.instance.modules["src"].out_count, 1)
        local.instance.routes.use(False)
        local.deliver(0, "w")
        local.run()
        self.assertEqual(local.data()[1:], [(3, "w"), (6, "w"), (6, "w")])

    def test_messagesAlreadyInAnInbox_areHandled_andTheirSendsFollowTheNewMode(self):
        local = self.local()
        local.deliver(0, 1)
        local.run(budget=1)  # a ran (direct): its message waits in b's inbox
        local.instance.routes.use(True)
        local.run()
        self.assertEqual(local.data(), [(11, {"from": "b", "v": {"from": "a", "v": 1}})])
        self.assertEqual(local.scheduler.acked(), 1)

    def test_routeWithoutAllOrRemote_keepsLocalRoutingViaHost(self):
        routes = [{k: v for k, v in r.items() if k != "all"} for r in A_TO_B["routes"]]
        local = self.local(routes=routes)
        local.instance.routes.use(True)
        local.deliver(0, 1)
        local.run()
        self.assertEqual(local.data(), [(11, {"from": "b", "v": {"from": "a", "v": 1}})])

    def test_portWithoutRoute_dropsInEitherMode(self):
        local = LocalInstance([module("m", ECHO)], [["m", "in"]], [])
        local.instance.routes.use(True)
        local.deliver(0, 1)
        local.run()
        self.assertEqual(local.data(), [])


class RuntimeDebugTests(unittest.TestCase):
    def start(self, **flow):
        runtime = RuntimeProcess(self)
        runtime.wait_control("hello")
        runtime.send_control(dict({"t": "configure", "flowId": "f"}, **dict(A_TO_B, **flow)))
        self.assertTrue(all(m["ok"] for m in runtime.wait_control("configured")["modules"].values()))
        return runtime

    def report(self, runtime, **ins):
        """The reply to a report: the first stats with every state and these
        ``in`` counts (a periodic stats has the states of modules that ran)."""
        runtime.send_control({"t": "report"})
        return runtime.wait_for(
            lambda f: f[0] is CONTROL and f[1]["t"] == "stats"
            and all("state" in m for m in f[1]["modules"].values())
            and all(f[1]["modules"][k]["in"] == n for k, n in ins.items()), "report")[1]["modules"]

    def test_modeHost_sendsEverythingOnAll_andModeDirectCallsLocallyAgain(self):
        runtime = self.start()
        runtime.send_control({"t": "mode", "via": "host"})
        runtime.send_data(0, 1)
        runtime.wait_ack(1)
        self.assertEqual(runtime.data_frames(), [(10, {"from": "a", "v": 1})])
        self.assertEqual(self.report(runtime, a=1)["b"], {"in": 0, "out": 0, "errors": 0, "state": {}})
        controls = [f[1]["t"] for f in runtime.frames if f[0] is CONTROL and f[1]["t"] not in ("stats", "commit")]
        self.assertEqual(controls, ["hello", "configured"], "no reply to mode")

        runtime.send_data(1, {"from": "a", "v": 1})  # the host delivers it to b
        runtime.wait_ack(2)
        runtime.send_control({"t": "mode", "via": "direct"})
        runtime.send_data(0, 2)
        runtime.wait_ack(3)
        self.assertEqual(runtime.data_frames()[1:], [(11, {"from": "b", "v": {"from": "a", "v": 1}}),
                                                     (11, {"from": "b", "v": {"from": "a", "v": 2}})])
        self.assertEqual(self.report(runtime, a=2)["b"], {"in": 2, "out": 2, "errors": 0, "state": {"n": 2}})

    def test_modeBeforeConfigure_appliesFromConfigureOn(self):
        runtime = RuntimeProcess(self)
        runtime.wait_control("hello")
        runtime.send_control({"t": "mode", "via": "host"})
        runtime.send_control(dict({"t": "configure", "flowId": "f"}, **A_TO_B))
        runtime.send_data(0, 1)
        runtime.wait_ack(1)
        self.assertEqual(runtime.data_frames(), [(10, {"from": "a", "v": 1})])

    def test_unknownVia_isIgnoredWithAWarning(self):
        runtime = self.start()
        runtime.send_control({"t": "mode", "via": "sideways"})
        warning = runtime.wait_control("log", level="warn")
        self.assertEqual((warning["module"], warning["text"]),
                         (None, "ignored a mode frame with via 'sideways' (expected 'host' or 'direct')"))
        runtime.send_data(0, 1)
        runtime.wait_ack(1)
        self.assertEqual(runtime.data_frames(), [(11, {"from": "b", "v": {"from": "a", "v": 1}})])

    def test_report_hasEveryModulesState_atOnce(self):
        runtime = self.start()
        runtime.send_data(1, "x")
        runtime.wait_ack(1)
        # The periodic stats after that work: b ran, a and c did not.
        periodic = runtime.wait_for(lambda f: f[0] is CONTROL and f[1]["t"] == "stats"
                                    and f[1]["modules"]["b"]["in"] == 1, "periodic stats")[1]
        self.assertNotIn("state", periodic["modules"]["c"])
        runtime.send_control({"t": "report"})
        report = runtime.wait_control("stats", timeout=1.0)
        self.assertEqual(report["modules"], {
            "a": {"in": 0, "out": 0, "errors": 0, "state": {}},
            "b": {"in": 1, "out": 1, "errors": 0, "state": {"n": 1}},
            "c": {"in": 0, "out": 0, "errors": 0, "state": {"k": 1}},
        })

    def test_everyFrameOfAMessage_comesBeforeTheAckCoveringIt(self):
        noisy = code("""
            import sys
            def on_message(msg, ctx):
                n = msg.payload["n"] if isinstance(msg.payload, dict) else msg.payload
                sys.stdout.write(f"out #{n} ")  # no newline: ends when the module's turn ends
                ctx.log(f"log #{n}")
                ctx.send("out", {"n": n})
                if n % 3 == 0:
                    raise ValueError(f"#{n}")
        """)
        for via in ("direct", "host"):
            with self.subTest(via=via):
                runtime = self.start(modules=[module("a", noisy), module("b", noisy), module("c", ECHO)])
                runtime.send_control({"t": "mode", "via": via})
                total = 600
                for start in range(1, total + 1, 100):
                    runtime.send_raw(b"".join(b"D0 %d\n" % n for n in range(start, start + 100)))
                runtime.wait_ack(total)
                acks = [(i, f[1]) for i, f in enumerate(runtime.frames) if f[0] is ACK]
                counts = [n for _, n in acks]
                produced, printed = 0, {}
                for index, frame in enumerate(runtime.frames):
                    if frame[0] is DATA:
                        text = frame[2].decode()
                    elif frame[0] is CONTROL and frame[1]["t"] in ("log", "error"):
                        text = frame[1]["text" if frame[1]["t"] == "log" else "message"]
                    else:
                        continue
                    produced += 1
                    numbers = [int(n) for n in re.findall(r'(?:#|"n":)(\d+)', text)]
                    if text.startswith("out #"):
                        printed.setdefault(frame[1]["module"], set()).update(numbers)
                    last = max(numbers)
                    covering = acks[bisect.bisect_left(counts, last)][0]
                    self.assertLess(index, covering, frame)
                self.assertGreater(produced, total * 2)  # a data frame and a log per message, at least
                every = set(range(1, total + 1))
                self.assertEqual(printed, {"a": every, "b": every} if via == "direct" else {"a": every})

if __name__ == "__main__":
    unittest.main()
