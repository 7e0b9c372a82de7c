"""End to end: the runtime as a real child process on real fifos."""

import os
import platform
import textwrap
import unittest

from host_harness import RuntimeProcess

from polyflow.framing import ACK, CONTROL, DATA


def code(text):
    return textwrap.dedent(text).lstrip("\n")


def module(module_id, body, **fields):
    return dict({"id": module_id, "code": code(body), "config": {}, "inputs": ["in"],
                 "outputs": ["out"], "state": None, "init": True}, **fields)


MODULES = [
    module("double", """
        import sys
        def on_message(msg, ctx):
            print("double got", msg.payload)
            if msg.payload == 3:
                sys.stderr.write("three!\\n")
            return msg.payload * 2
    """),
    module("split", """
        def on_message(msg, ctx):
            ctx.send("out", {"v": msg.payload})
    """),
    module("count", """
        def init(ctx):
            ctx.state.setdefault("n", 0)
        def on_message(msg, ctx):
            ctx.state["n"] += 1
            ctx.log("count", ctx.state["n"], ctx.config["unit"])
            ctx.send("out", dict(msg.payload, n=ctx.state["n"], flow=ctx.flow_id))
    """, config={"unit": "items"}, state={"n": 10}, init=True),
    module("boom", """
        def on_message(msg, ctx):
            ctx.send("out", "sent before")
            return 1 / msg.payload
    """),
    module("bad", "x = 1\n\ndef on_message(msg ctx):\n    pass\n"),
    module("initfail", """
        def init(ctx):
            raise RuntimeError("no database")
        def on_message(msg, ctx):
            pass
    """),
    module("noon", "def handle(msg, ctx):\n    pass\n"),
]
SLOTS = [["double", "in"], ["split", "in"], ["boom", "in"], ["bad", "in"], ["noon", "in"]]
ROUTES = [
    {"module": "double", "port": "out", "local": [], "remote": 10},
    {"module": "split", "port": "out", "local": [["count", "in"]], "remote": 11},
    {"module": "count", "port": "out", "local": [], "remote": 12},
    {"module": "boom", "port": "out", "local": [], "remote": 13},
    {"module": "bad", "port": "out", "local": [], "remote": 14},
    {"module": "initfail", "port": "out", "local": [], "remote": 15},
    {"module": "noon", "port": "out", "local": [], "remote": 16},
]
CONFIGURE = {"t": "configure", "flowId": "orders", "modules": MODULES, "slots": SLOTS, "routes": ROUTES}


class RuntimeSessionTests(unittest.TestCase):
    def start(self, env=None):
        runtime = RuntimeProcess(self, env)
        self.assertEqual(runtime.wait_control("hello"), {
            "t": "hello", "protocol": 1, "runtime": "python3", "name": "CPython",
            "version": platform.python_version(), "pid": runtime.process.pid})
        self.assertIs(runtime.frames[0][0], CONTROL, "hello is the first frame")
        return runtime

    def configured(self, runtime, frame=CONFIGURE):
        runtime.send_control(frame)
        return runtime.wait_control("configured")["modules"]

    def test_session_fromHelloToBye(self):
        runtime = self.start()
        self.assertEqual(self.configured(runtime), {
            "double": {"ok": True}, "split": {"ok": True}, "count": {"ok": True}, "boom": {"ok": True},
            "bad": {"ok": False, "error": "SyntaxError: invalid syntax", "line": 3},
            "initfail": {"ok": False, "error": "RuntimeError: no database", "line": 2},
            "noon": {"ok": False, "error": "module defines no on_message(msg, ctx) function", "line": None},
        })
        for n in range(1, 5):
            runtime.send_data(0, n)  # frames 1-4
        runtime.send_data(1, "a")  # 5
        runtime.send_data(1, "b")  # 6
        runtime.send_data(2, 0)  # 7: ZeroDivisionError
        runtime.send_data(3, {"to": "bad"})  # 8
        runtime.send_raw(b"D0 {not json\n")  # 9
        runtime.send_data(2, 4)  # 10
        self.assertEqual(runtime.wait_ack(10), 10)

        by_route = {}
        for route, payload in runtime.data_frames():
            by_route.setdefault(route, []).append(payload)
        self.assertEqual(by_route, {
            10: [2, 4, 6, 8],
            11: [{"v": "a"}, {"v": "b"}],
            12: [{"v": "a", "n": 11, "flow": "orders"}, {"v": "b", "n": 12, "flow": "orders"}],
            13: ["sent before", "sent before", 0.25],
        })
        # A payload that is not JSON is reported when it is read, so its
        # error may come before errors of earlier frames.
        errors = sorted(runtime.controls("error"), key=lambda e: e["module"])
        self.assertEqual([(e["module"], e["port"], e["payload"], e["message"]) for e in errors], [
            ("bad", "in", {"to": "bad"}, "module 'bad' did not load: SyntaxError: invalid syntax"),
            ("boom", "in", 0, "ZeroDivisionError: division by zero"),
            ("double", "in", "{not json", errors[2]["message"]),
        ])
        self.assertIn('File "<module boom>", line 3, in on_message', errors[1]["stack"])
        self.assertTrue(errors[2]["message"].startswith("payload is not JSON: JSONDecodeError"))
        logs = [(f["module"], f["level"], f["text"]) for f in runtime.controls("log")]
        self.assertEqual(logs, [("double", "info", f"double got {n}") for n in (1, 2)]
                         + [("double", "info", "double got 3"), ("double", "error", "three!"),
                            ("double", "info", "double got 4"),
                            ("count", "info", "count 11 items"), ("count", "info", "count 12 items")])
        # Every data frame comes before the ack that covers it.
        last_data = max(i for i, f in enumerate(runtime.frames) if f[0] is DATA)
        first_full_ack = runtime.frames.index(next(f for f in runtime.frames if f[:2] == (ACK, 10)))
        self.assertLess(last_data, first_full_ack)

        # Stats come on their own while the runtime is idle.
        stats = runtime.wait_for(
            lambda f: f[0] is CONTROL and f[1]["t"] == "stats" and f[1]["modules"]["boom"]["in"] == 2,
            "stats after the data")[1]["modules"]
        self.assertEqual(stats["double"], {"in": 5, "out": 4, "errors": 1, "state": {}})
        self.assertEqual(stats["count"], {"in": 2, "out": 2, "errors": 0, "state": {"n": 12}})
        self.assertEqual(stats["boom"], {"in": 2, "out": 3, "errors": 1, "state": {}})
        self.assertEqual(stats["bad"], {"in": 1, "out": 0, "errors": 1, "state": {}})

        runtime.send_control({"t": "shrug"})
        warning = runtime.wait_control("log", level="warn")
        self.assertEqual((warning["module"], warning["text"]),
                         (None, "ignored a control frame of unknown type 'shrug'"))

        runtime.send_data(0, 100)
        runtime.send_control({"t": "stop"})
        runtime.send_data(0, 7)  # after stop: not handled
        self.assertEqual(runtime.wait_control("bye"), {"t": "bye"})
        self.assertEqual(runtime.wait_exit(), 0)
        kind, final, _ = runtime.frames[-2]
        self.assertEqual((kind, final["t"]), (CONTROL, "stats"))
        self.assertEqual(final["modules"]["double"], {"in": 6, "out": 5, "errors": 1, "state": {}})
        self.assertTrue(all("state" in entry for entry in final["modules"].values()))
        self.assertEqual(runtime.data_frames()[-1], (10, 200))
        self.assertEqual(runtime.frames[-3][:2], (ACK, 11))

    def test_endOfInput_exitsAtOnce(self):
        runtime = self.start()
        self.configured(runtime)
        runtime.close_input()
        self.assertEqual(runtime.wait_exit(), 0)

    def test_endOfInput_exitsEvenWhileALocalCycleRuns(self):
        runtime = self.start()
        self.configured(runtime, {"t": "configure", "flowId": "f", "slots": [["loop", "in"]],
                                  "routes": [{"module": "loop", "port": "out", "local": [["loop", "in"]],
                                              "remote": None}],
                                  "modules": [module("loop", """
                                      def on_message(msg, ctx):
                                          ctx.state["n"] = ctx.state.get("n", 0) + 1
                                          ctx.send("out", msg.payload)
                                  """)]})
        runtime.send_data(0, "forever")
        runtime.wait_for(lambda f: f[0] is CONTROL and f[1]["t"] == "stats"
                         and f[1]["modules"]["loop"]["in"] > 1000, "the cycle running")
        self.assertEqual([f for f in runtime.frames if f[0] is ACK], [], "a root in a cycle never ends")
        runtime.close_input()
        self.assertEqual(runtime.wait_exit(), 0)

    def test_countersMoveWhileALongHandlerRuns(self):
        marker = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"polyflow-stats-{os.getpid()}-{id(self)}")
        self.addCleanup(lambda: os.path.exists(marker) and os.unlink(marker))
        runtime = self.start()
        self.configured(runtime, {"t": "configure", "flowId": "f", "slots": [["gen", "in"]],
                                  "routes": [{"module": "gen", "port": "out", "local": [], "remote": 5}],
                                  "modules": [module("gen", f"""
                                      import os, time
                                      def on_message(msg, ctx):
                                          for i in range(msg.payload):
                                              ctx.send("out", {{"i": i, "sku": "ABC-12345", "qty": 3}})
                                          while not os.path.exists({marker!r}):  # hold the handler open
                                              time.sleep(0.01)
                                  """)]})
        runtime.send_data(0, 300_000)
        stats = runtime.wait_for(lambda f: f[0] is CONTROL and f[1]["t"] == "stats"
                                 and f[1]["modules"]["gen"]["out"] > 0, "stats from inside the handler")
        self.assertLess(stats[1]["modules"]["gen"]["out"], 300_000 + 1)
        self.assertEqual([f for f in runtime.frames if f[0] is ACK], [], "the handler is still running")
        open(marker, "w").close()
        self.assertEqual(runtime.wait_ack(1), 1)

    def test_endOfInputBeforeConfigure_exits(self):
        runtime = self.start()
        runtime.close_input()
        self.assertEqual(runtime.wait_exit(), 0)

    def assert_fatal(self, runtime, text):
        fatal = runtime.wait_control("fatal")
        self.assertIn(text, fatal["message"])
        self.assertEqual(runtime.wait_exit(), 2)

    def test_badFrame_isFatal(self):
        runtime = self.start()
        self.configured(runtime)
        runtime.send_raw(b"D0 1\nD01 {}\n")  # one write: read together
        self.assert_fatal(runtime, "bad-slot")
        self.assertEqual(runtime.data_frames(), [], "work after a bad frame is not run")

    def test_unknownSlot_isFatal(self):
        runtime = self.start()
        self.configured(runtime)
        runtime.send_data(99, 1)
        self.assert_fatal(runtime, "data frame for slot 99: the instance has 5 slots")

    def test_dataBeforeConfigure_isFatal(self):
        runtime = self.start()
        runtime.send_data(0, 1)
        self.assert_fatal(runtime, "data frame for slot 0 before configure")

    def test_badConfigure_isFatal(self):
        runtime = self.start()
        runtime.send_control({"t": "configure", "flowId": "f", "modules": [module("a", "")],
                              "slots": [["a", "nope"]], "routes": []})
        self.assert_fatal(runtime, "slots[0]: module 'a' has no input 'nope'")

    def test_frameLimitFromTheEnvironment(self):
        runtime = self.start(env={"POLYFLOW_MAX_FRAME_BYTES": "4096"})
        self.configured(runtime)
        runtime.send_raw(b"D0 " + b"1" * 4100)  # no newline yet: already too large
        self.assert_fatal(runtime, "frame-too-large")

    def test_startsFromAnyWorkingDirectory_andKeepsUserPrintsOffTheFifo(self):
        runtime = self.start()
        self.assertNotEqual(os.getcwd(), runtime.dir)
        self.configured(runtime, {"t": "configure", "flowId": "f", "slots": [["p", "in"]], "routes": [
            {"module": "p", "port": "out", "local": [], "remote": 0}],
            "modules": [module("p", """
                import os, sys
                print("at load")
                def init(ctx):
                    ctx.send("out", "from init")
                def on_message(msg, ctx):
                    sys.__stdout__.write("to the process stdout\\n")
                    sys.__stdout__.flush()
                    print(msg.payload)
            """)]})
        runtime.send_data(0, "hi")
        runtime.wait_ack(1)
        logs = [(f["module"], f["text"]) for f in runtime.controls("log")]
        self.assertEqual(logs, [("p", "at load"), ("p", "hi")])
        # What loading printed or sent follows the configured reply.
        kinds = [f[1]["t"] if f[0] is CONTROL else f[0].name for f in runtime.frames]
        self.assertEqual(kinds[:4], ["hello", "configured", "log", "DATA"])
        self.assertEqual(runtime.data_frames()[0], (0, "from init"))
        runtime.send_control({"t": "stop"})
        self.assertEqual(runtime.wait_exit(), 0)
        self.assertIn("to the process stdout", runtime.output())


if __name__ == "__main__":
    unittest.main()
