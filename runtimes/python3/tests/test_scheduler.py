import textwrap
import unittest

from local_instance import LocalInstance, module


def code(text):
    return textwrap.dedent(text).lstrip("\n")


ECHO = "def on_message(msg, ctx):\n    return msg.payload\n"


class DeliveryTests(unittest.TestCase):
    def test_returnValue_goesToTheFirstOutput(self):
        local = LocalInstance([module("m", ECHO, outputs=("first", "second"))], [["m", "in"]],
                              [{"module": "m", "port": "first", "local": [], "remote": 4},
                               {"module": "m", "port": "second", "local": [], "remote": 5}])
        local.deliver(0, {"a": 1})
        local.run()
        self.assertEqual(local.data(), [(4, {"a": 1})])

    def test_localSend_callsTheTargetWithTheSameValue_andRemoteGetsJson(self):
        local = LocalInstance(
            [module("a", code("""
                def on_message(msg, ctx):
                    ctx.send("out", {"seen": [msg.port]})
             """)),
             module("b", code("""
                def on_message(msg, ctx):
                    ctx.state["got"] = msg.payload
                    ctx.state["port"] = msg.port
                    msg.payload["seen"].append("b")
                    ctx.send("out", msg.payload)
             """), inputs=("left",))],
            [["a", "in"]],
            [{"module": "a", "port": "out", "local": [["b", "left"]], "remote": None},
             {"module": "b", "port": "out", "local": [], "remote": 9}])
        local.deliver(0, 1)
        local.run()
        self.assertEqual(local.data(), [(9, {"seen": ["in", "b"]})])
        self.assertEqual(local.state("b")["port"], "left")
        self.assertEqual(local.acks(), [])

    def test_fanOut_givesEachLocalTargetItsOwnCopy(self):
        sink = code("""
            def on_message(msg, ctx):
                msg.payload["list"].append(ctx.module_id)
                ctx.state["value"] = msg.payload
        """)
        local = LocalInstance(
            [module("src", ECHO), module("x", sink), module("y", sink), module("z", sink)],
            [["src", "in"]],
            [{"module": "src", "port": "out", "local": [["x", "in"], ["y", "in"], ["z", "in"]], "remote": 1}])
        local.deliver(0, {"list": []})
        local.run()
        self.assertEqual(local.data(), [(1, {"list": []})])
        self.assertEqual([local.state(m)["value"]["list"] for m in "xyz"], [["x"], ["y"], ["z"]])

    def test_order_isFifoPerSenderAndReceiver(self):
        local = LocalInstance(
            [module("a", code("""
                def on_message(msg, ctx):
                    for i in range(3):
                        ctx.send("out", [msg.payload, i])
             """)),
             module("b", ECHO)],
            [["a", "in"], ["b", "in"]],
            [{"module": "a", "port": "out", "local": [["b", "in"]], "remote": None},
             {"module": "b", "port": "out", "local": [], "remote": 0}])
        for n in range(300):
            local.deliver(0, n)
        local.run()
        self.assertEqual([p for _, p in local.data()], [[n, i] for n in range(300) for i in range(3)])

    def test_longLocalCycle_doesNotRecurse(self):
        ping = code("""
            def on_message(msg, ctx):
                if msg.payload > 0:
                    ctx.send("out", msg.payload - 1)
                else:
                    ctx.send("done", "finished")
        """)
        local = LocalInstance(
            [module("ping", ping, outputs=("out", "done")), module("pong", ping, outputs=("out", "done"))],
            [["ping", "in"]],
            [{"module": "ping", "port": "out", "local": [["pong", "in"]], "remote": None},
             {"module": "pong", "port": "out", "local": [["ping", "in"]], "remote": None},
             {"module": "ping", "port": "done", "local": [], "remote": 1},
             {"module": "pong", "port": "done", "local": [], "remote": 1}])
        local.deliver(0, 50000)
        local.run()
        self.assertEqual(local.data(), [(1, "finished")])
        modules = local.instance.modules
        self.assertEqual(modules["ping"].in_count + modules["pong"].in_count, 50001)

    def test_selfLoop_isHandledInTurns(self):
        count = code("""
            def on_message(msg, ctx):
                ctx.state["n"] = ctx.state.get("n", 0) + 1
                if msg.payload:
                    ctx.send("out", msg.payload - 1)
        """)
        local = LocalInstance([module("m", count)], [["m", "in"]],
                              [{"module": "m", "port": "out", "local": [["m", "in"]], "remote": None}])
        local.deliver(0, 1000)
        local.run()
        self.assertEqual(local.state("m"), {"n": 1001})

    def test_portWithoutRoute_dropsWithAWarning(self):
        local = LocalInstance([module("m", ECHO)], [["m", "in"]], [])
        warnings = local.controls("log", local.collect())
        self.assertEqual(warnings, [{"t": "log", "module": None, "level": "warn",
                                     "text": "configure has no route for m.out: its messages are dropped"}])
        local.deliver(0, 1)
        local.run()
        self.assertEqual(local.data(), [])
        self.assertEqual(local.instance.modules["m"].out_count, 1)


class ErrorTests(unittest.TestCase):
    def setUp(self):
        self.local = LocalInstance(
            [module("calc", code("""
                def on_message(msg, ctx):
                    ctx.send("out", "before")
                    ctx.state["n"] = 1 / msg.payload
             """)),
             module("broken", "def on_message(msg, ctx)\n    pass\n"),
             module("ports", code("""
                def on_message(msg, ctx):
                    if msg.payload == "nan":
                        ctx.send("out", float("nan"))
                    ctx.send("nope", 1)
             """))],
            [["calc", "in"], ["broken", "in"], ["ports", "in"]],
            [{"module": m, "port": "out", "local": [], "remote": i}
             for i, m in enumerate(["calc", "broken", "ports"])])

    def test_exception_isReportedWithPayloadAndStack_andSendsBeforeItStay(self):
        self.local.deliver(0, 0)
        self.local.deliver(0, 4)
        self.local.run()
        self.assertEqual(self.local.data(), [(0, "before"), (0, "before")])
        [error] = self.local.controls("error")
        self.assertEqual((error["module"], error["port"], error["payload"], error["message"]),
                         ("calc", "in", 0, "ZeroDivisionError: division by zero"))
        self.assertIn('File "<module calc>", line 3, in on_message', error["stack"])
        self.assertIn("ctx.state[\"n\"] = 1 / msg.payload", error["stack"])
        self.assertEqual(self.local.state("calc"), {"n": 0.25})
        self.assertEqual(self.local.instance.modules["calc"].error_count, 1)

    def test_loadError_isInConfigured_andMessagesToItAreErrors(self):
        self.assertEqual(self.local.configured["broken"],
                         {"ok": False, "error": "SyntaxError: expected ':'", "line": 1})
        self.assertEqual(self.local.configured["calc"], {"ok": True})
        self.local.deliver(1, {"x": 1})
        self.local.run()
        [error] = self.local.controls("error")
        self.assertEqual(error, {"t": "error", "module": "broken", "port": "in", "payload": {"x": 1},
                                 "message": "module 'broken' did not load: SyntaxError: expected ':'",
                                 "stack": None})

    def test_sendToAnUnknownPort_raisesValueError(self):
        self.local.deliver(2, 1)
        self.local.run()
        [error] = self.local.controls("error")
        self.assertEqual(error["message"],
                         "ValueError: module 'ports' has no output port 'nope' (outputs: out)")

    def test_valueThatIsNotJson_raisesInTheHandler(self):
        self.local.deliver(2, "nan")
        self.local.run()
        [error] = self.local.controls("error")
        self.assertTrue(error["message"].startswith("ValueError: Out of range float"), error["message"])
        self.assertEqual(self.local.data(), [])

    def test_returnValueWithoutOutputs_isAnError(self):
        local = LocalInstance([module("m", ECHO, outputs=())], [["m", "in"]], [])
        local.deliver(0, 1)
        local.run()
        self.assertEqual(local.controls("error")[0]["message"],
                         "ValueError: module 'm' returned a value but has no output port")


class AckTests(unittest.TestCase):
    def test_ack_coversOnlyRootsWhoseDescendantsAreAllHandled(self):
        # max_depth 0: b's messages wait in its inbox, as when b is busy.
        local = LocalInstance(
            [module("a", code("""
                def on_message(msg, ctx):
                    for _ in range(msg.payload):
                        ctx.send("out", 0)
             """)),
             module("b", "def on_message(msg, ctx):\n    pass\n")],
            [["a", "in"]],
            [{"module": "a", "port": "out", "local": [["b", "in"]], "remote": None}], max_depth=0)
        scheduler = local.scheduler
        local.deliver(0, 3)  # root 1: a, then 3 messages for b
        local.deliver(0, 0)  # root 2: a only
        local.run(budget=2)  # a handles both roots; b nothing yet
        self.assertEqual(scheduler.acked(), 0)
        local.run(budget=1)
        self.assertEqual(scheduler.acked(), 0)
        local.run()
        self.assertEqual(scheduler.acked(), 2)
        self.assertTrue(scheduler.idle)

    def test_sendsFromInit_areHandledButNotAcked(self):
        local = LocalInstance(
            [module("a", code("""
                def init(ctx):
                    ctx.send("out", "from init")
                def on_message(msg, ctx):
                    pass
             """)),
             module("b", ECHO)],
            [["a", "in"]],
            [{"module": "a", "port": "out", "local": [["b", "in"]], "remote": None},
             {"module": "b", "port": "out", "local": [], "remote": 3}])
        local.run()
        self.assertEqual(local.data(), [(3, "from init")])
        self.assertEqual(local.scheduler.acked(), 0)

    def test_initIsSkippedWhenNotAsked_andStateIsKept(self):
        body = "def init(ctx):\n    ctx.state['init'] = True\ndef on_message(msg, ctx): pass\n"
        local = LocalInstance([module("a", body, init=False, state={"n": 5}),
                               module("b", body, config={"k": 1})], [], [])
        self.assertEqual(local.state("a"), {"n": 5})
        self.assertEqual(local.state("b"), {"init": True})
        self.assertEqual(local.instance.modules["b"].ctx.config, {"k": 1})


if __name__ == "__main__":
    unittest.main()
