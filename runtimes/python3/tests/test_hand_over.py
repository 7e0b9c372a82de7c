"""Local sends handed over in batches: nested turns (the fast path) and
batches waiting in inboxes, with the rules they must keep (scheduler.py)."""

import sys
import textwrap
import unittest
import unittest.mock

from local_instance import LocalInstance, module

from polyflow import scheduler
from polyflow.scheduler import BATCH, MAX_DEPTH


def code(text):
    return textwrap.dedent(text).lstrip("\n")


GEN = code("""
    def on_message(msg, ctx):
        for i in range(msg.payload):
            ctx.send("out", i)
""")
ADD_ONE = "def on_message(msg, ctx):\n    return msg.payload + 1\n"
RECORD = code("""
    def on_message(msg, ctx):
        ctx.state.setdefault("got", []).append(msg.payload)
""")


def chain(names, codes, sink_remote=None, **options):
    """Modules ``names`` in a line, each output to the next one's input;
    the last one's output goes to the host as ``sink_remote``."""
    routes = [{"module": a, "port": "out", "local": [[b, "in"]], "remote": None}
              for a, b in zip(names, names[1:])]
    routes.append({"module": names[-1], "port": "out", "local": [], "remote": sink_remote})
    return LocalInstance([module(n, c) for n, c in zip(names, codes)], [[names[0], "in"]], routes, **options)


class NestedTurnTests(unittest.TestCase):
    def test_chain_handlesEverythingInOrder_inTheSameRun_nestedOrQueued(self):
        for depth in (MAX_DEPTH, 0):
            local = chain(["gen", "m1", "m2", "sink"], [GEN, ADD_ONE, ADD_ONE, RECORD], max_depth=depth)
            n = 3 * BATCH + 7  # hands over in the middle of gen's handler, and at its end
            local.deliver(0, n)
            local.run()
            self.assertEqual(local.state("sink")["got"], [i + 2 for i in range(n)])
            self.assertEqual(local.scheduler.acked(), 1)
            self.assertTrue(local.scheduler.idle)
            counts = {m.id: (m.in_count, m.out_count) for m in local.instance.modules.values()}
            self.assertEqual(counts, {"gen": (1, n), "m1": (n, n), "m2": (n, n), "sink": (n, 0)})

    def test_midHandlerHandOver_runsTheTarget_beforeTheSenderGoesOn(self):
        gen = code("""
            def on_message(msg, ctx):
                for i in range(msg.payload):
                    ctx.send("out", i)
                ctx.send("report", len(SEEN))
        """)
        for depth, expected in ((MAX_DEPTH, 2 * BATCH), (0, 0)):
            local = LocalInstance(
                [module("gen", gen, outputs=("out", "report")), module("m1", RECORD)],
                [["gen", "in"]],
                [{"module": "gen", "port": "out", "local": [["m1", "in"]], "remote": None},
                 {"module": "gen", "port": "report", "local": [], "remote": 5},
                 {"module": "m1", "port": "out", "local": [], "remote": None}],
                max_depth=depth)
            m1_got = local.instance.modules["m1"].ctx.state.setdefault("got", [])
            local.instance.modules["gen"].handler.__globals__["SEEN"] = m1_got
            local.deliver(0, 2 * BATCH + 3)
            local.run()
            # What m1 had handled when gen's handler was about to return.
            self.assertEqual(local.data(), [(5, expected)])
            self.assertEqual(len(m1_got), 2 * BATCH + 3)

    def test_longChain_nestsBoundedly_underALowRecursionLimit(self):
        n = 150
        names = [f"m{i}" for i in range(n)]
        local = chain(names, [ADD_ONE] * (n - 1) + [RECORD], max_depth=MAX_DEPTH)
        local.deliver(0, 0)
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(len(_stack()) + 4 * MAX_DEPTH + 40)
        try:
            local.run()
        finally:
            sys.setrecursionlimit(limit)
        self.assertEqual(local.controls("error"), [])
        self.assertEqual(local.state(names[-1])["got"], [n - 1])
        self.assertEqual(local.scheduler.acked(), 1)

    def test_cycle_goesThroughTheInbox_inOrder_andNothingIsReEntered(self):
        # h -> a -> b -> a: a runs nested in h's turn (its inbox is empty),
        # b nested in a's; b's messages to a wait (a is running), in order.
        a = code("""
            running = []
            def on_message(msg, ctx):
                if running:
                    raise RuntimeError("re-entered")
                running.append(msg)
                if msg.port == "in":
                    for i in range(msg.payload):
                        ctx.send("out", i)
                else:
                    ctx.state.setdefault("back", []).append(msg.payload)
                running.pop()
        """)
        local = LocalInstance(
            [module("h", ADD_ONE), module("a", a, inputs=("in", "back")),
             module("b", "def on_message(msg, ctx):\n    return -msg.payload\n")],
            [["h", "in"]],
            [{"module": "h", "port": "out", "local": [["a", "in"]], "remote": None},
             {"module": "a", "port": "out", "local": [["b", "in"]], "remote": None},
             {"module": "b", "port": "out", "local": [["a", "back"]], "remote": None}])
        local.deliver(0, 599)
        local.run()
        self.assertEqual(local.controls("error"), [])
        self.assertEqual(local.state("a")["back"], [-i for i in range(600)])
        self.assertEqual(local.scheduler.acked(), 1)

    def test_targetWithWaitingMessages_getsNewOnesAfterThem(self):
        # max_depth 1: p's turn runs src nested, so src's 600 messages for
        # c wait in c's inbox; c handles 256 of them, then src (in a turn of
        # its own, free to nest) sends one more: it must wait behind the rest.
        src = code("""
            def on_message(msg, ctx):
                if msg.port == "in":
                    for i in range(600):
                        ctx.send("out", i)
                else:
                    ctx.send("out", "late")
        """)
        local = LocalInstance(
            [module("p", "def on_message(msg, ctx):\n    return 0\n"),
             module("src", src, inputs=("in", "direct")), module("c", RECORD)],
            [["p", "in"], ["src", "direct"]],
            [{"module": "p", "port": "out", "local": [["src", "in"]], "remote": None},
             {"module": "src", "port": "out", "local": [["c", "in"]], "remote": None}],
            max_depth=1)
        local.deliver(0, 0)
        local.run(budget=1)
        self.assertEqual(len(local.state("c").get("got", [])), 0)
        local.deliver(1, None)
        local.run(budget=257)  # c: 256, then src's turn
        self.assertEqual(len(local.state("c")["got"]), 256)
        local.run()
        self.assertEqual(local.state("c")["got"], list(range(600)) + ["late"])
        self.assertEqual(local.scheduler.acked(), 2)

    def test_twoInputPortsOfOneTarget_keepTheSendersOrder(self):
        a = code("""
            def on_message(msg, ctx):
                for i in range(msg.payload):
                    ctx.send("x" if i % 3 else "y", i)
        """)
        b = "def on_message(msg, ctx):\n    ctx.state.setdefault('got', []).append([msg.port, msg.payload])\n"
        local = LocalInstance(
            [module("a", a, outputs=("x", "y")), module("b", b, inputs=("p", "q"))],
            [["a", "in"]],
            [{"module": "a", "port": "x", "local": [["b", "p"]], "remote": None},
             {"module": "a", "port": "y", "local": [["b", "q"]], "remote": None}])
        local.deliver(0, 700)
        local.run()
        self.assertEqual(local.state("b")["got"], [["p" if i % 3 else "q", i] for i in range(700)])

    def test_errorInANestedTurn_isThatModulesError_andTheSenderGoesOn(self):
        picky = code("""
            def on_message(msg, ctx):
                if msg.payload == 5:
                    raise ValueError("no fives")
                return msg.payload
        """)
        gen = code("""
            def on_message(msg, ctx):
                for i in range(msg.payload):
                    ctx.send("out", i)
                ctx.send("done", "gen finished")
        """)
        local = LocalInstance(
            [module("gen", gen, outputs=("out", "done")), module("picky", picky)],
            [["gen", "in"]],
            [{"module": "gen", "port": "out", "local": [["picky", "in"]], "remote": None},
             {"module": "gen", "port": "done", "local": [], "remote": 1},
             {"module": "picky", "port": "out", "local": [], "remote": 2}])
        local.deliver(0, BATCH + 10)
        local.run()
        [error] = local.controls("error")
        self.assertEqual((error["module"], error["port"], error["payload"], error["message"]),
                         ("picky", "in", 5, "ValueError: no fives"))
        self.assertIn('File "<module picky>", line 3, in on_message', error["stack"])
        self.assertNotIn("<module gen>", error["stack"])
        data = local.data()
        self.assertEqual([p for r, p in data if r == 2], [i for i in range(BATCH + 10) if i != 5])
        self.assertIn((1, "gen finished"), data)
        picky_module = local.instance.modules["picky"]
        self.assertEqual((picky_module.in_count, picky_module.out_count, picky_module.error_count),
                         (BATCH + 10, BATCH + 9, 1))
        self.assertEqual(local.scheduler.acked(), 1)


class AckTests(unittest.TestCase):
    def test_pastMaxDepth_messagesWait_andHoldTheAckOfTheirRoot(self):
        local = chain(["a", "b", "c"], [ADD_ONE, ADD_ONE, RECORD], max_depth=1)
        local.deliver(0, 0)
        local.run(budget=1)  # a's turn, b nested in it; c's message waits
        self.assertEqual(local.scheduler.acked(), 0)
        self.assertEqual(len(local.instance.modules["c"].inbox), 1)
        local.run()
        self.assertEqual(local.scheduler.acked(), 1)
        self.assertEqual(local.state("c")["got"], [2])

    def test_framesInOneBatch_areAckedOneByOne(self):
        # Three frames for a share a batch; what each sends waits under its
        # own root, so the ack moves frame by frame.
        a = "def on_message(msg, ctx):\n    ctx.send('out', msg.payload)\n"
        local = LocalInstance([module("a", a), module("b", RECORD)], [["a", "in"]],
                              [{"module": "a", "port": "out", "local": [["b", "in"]], "remote": None}],
                              max_depth=0)
        for n in range(3):
            local.deliver(0, n)
        self.assertEqual(len(local.instance.modules["a"].inbox), 1)
        local.run(budget=2)  # a handles frames 1 and 2; their messages for b wait
        self.assertEqual(local.scheduler.acked(), 0)
        local.run(budget=1)  # b handles frame 1's message
        self.assertEqual(local.scheduler.acked(), 1)
        local.run(budget=1)  # a handles frame 3 (b's next turn comes after it)
        self.assertEqual(local.scheduler.acked(), 1)
        local.run()
        self.assertEqual(local.scheduler.acked(), 3)
        self.assertEqual(local.state("b")["got"], [0, 1, 2])

    def test_partlyHandledBatchOfFrames_acksTheHandledOnes(self):
        local = LocalInstance([module("a", RECORD)], [["a", "in"]], [])
        for n in range(5):
            local.deliver(0, n)
        local.run(budget=3)
        self.assertEqual(local.scheduler.acked(), 3)
        local.run()
        self.assertEqual(local.scheduler.acked(), 5)


class SpareMessageTests(unittest.TestCase):
    def test_keptMessages_areNeverReused_andOthersAre(self):
        keeper = code("""
            kept = []
            def on_message(msg, ctx):
                if msg.payload % 100 == 0:
                    kept.append(msg)
        """)
        made = []

        class CountedMessage(scheduler.Message):
            __slots__ = ()

            def __init__(self, *args):
                super().__init__(*args)
                made.append(None)  # not the message: that would keep it

        for depth in (MAX_DEPTH, 0):
            made.clear()
            local = chain(["gen", "keeper"], [GEN, keeper], max_depth=depth)
            local.deliver(0, 1000)
            with unittest.mock.patch.object(scheduler, "Message", CountedMessage):
                local.run()
            kept = local.instance.modules["keeper"].handler.__globals__["kept"]
            self.assertEqual([m.payload for m in kept], list(range(0, 1000, 100)))
            self.assertEqual(len({id(m) for m in kept}), 10)
            # A new spare message only after each kept one: the others are reused.
            self.assertEqual(len(made), 10)

    def test_portChangedByTheHandler_isResetForTheNextMessage(self):
        rewrite = code("""
            def on_message(msg, ctx):
                ctx.state.setdefault("ports", []).append(msg.port)
                msg.port = "changed"
        """)
        local = chain(["gen", "r"], [GEN, rewrite])
        local.deliver(0, 3)
        local.run()
        self.assertEqual(local.state("r")["ports"], ["in", "in", "in"])


class CaptureTests(unittest.TestCase):
    def test_printsInNestedTurns_areTheirModules_andLinesDoNotMix(self):
        gen = code("""
            import sys
            def on_message(msg, ctx):
                print("gen starts", end="")
                for i in range(msg.payload):
                    ctx.send("out", i)  # the BATCH-th send runs echo's turn, nested
                print(" and ends")
                sys.stdout.write("gen unfinished")
        """)
        echo = code("""
            import sys
            def on_message(msg, ctx):
                if msg.payload == 0:
                    print("echo got", msg.payload)
                    sys.stderr.write("echo unfinished")
        """)
        local = chain(["gen", "echo"], [gen, echo])
        local.deliver(0, BATCH)
        local.run()
        logs = [(f["module"], f["level"], f["text"]) for f in local.controls("log")]
        self.assertEqual(sorted(logs), sorted([
            ("echo", "info", "echo got 0"),
            ("gen", "info", "gen starts and ends"),
            ("gen", "info", "gen unfinished"),
            ("echo", "error", "echo unfinished"),
        ]))
        self.assertLess(logs.index(("echo", "info", "echo got 0")), logs.index(("gen", "info", "gen starts and ends")))
        self.assertIsNone(local.capture.module_id)


def _stack():
    frames, frame = [], sys._getframe()
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames


if __name__ == "__main__":
    unittest.main()
