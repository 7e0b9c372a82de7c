"""Commits (docs/protocol.md, "Commits"): every ack follows a ``commit``
frame whose states and counters hold exactly the work of the frames the
ack covers, so that a crash never rolls a module's state back or forward."""

import json
import os
import textwrap
import unittest

from host_harness import RuntimeProcess
from local_instance import LocalInstance, module

from polyflow.framing import ACK, CONTROL

COUNT = """
def on_message(msg, ctx):
    ctx.state["n"] = ctx.state.get("n", 0) + 1
    ctx.send("out", msg.payload)
"""
VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "..", "..", "..", "Tests", "Fixtures", "protocol-vectors.json")


class CommitLineTests(unittest.TestCase):
    def setUp(self):
        self.local = LocalInstance(
            [module("a", COUNT), module("b", COUNT),
             module("weird", "def on_message(msg, ctx):\n    ctx.state['s'] = {1}\n")],
            [["a", "in"], ["b", "in"], ["weird", "in"]],
            [{"module": "a", "port": "out", "local": [], "remote": 0},
             {"module": "b", "port": "out", "local": [], "remote": 1},
             {"module": "weird", "port": "out", "local": [], "remote": 2}])
        self.local.commit()  # loading counts as a change

    def test_aCommit_hasOnlyTheModulesThatChanged_withCountersAndState(self):
        self.local.deliver(0, 1)
        self.local.run()
        [frame] = self.local.controls("commit", self.local.commit())
        self.assertEqual(frame["modules"], {"a": {"in": 1, "out": 1, "errors": 0, "state": {"n": 1}}})
        self.assertEqual(self.local.commit(), [], "nothing changed since: no frame")

    def test_aStateThatIsNotJson_isLeftOut_andLoggedOnce(self):
        for i in range(3):
            self.local.deliver(2, None)
            self.local.run()
            frames = self.local.commit()
            [frame] = self.local.controls("commit", frames)
            self.assertEqual(frame["modules"]["weird"]["in"], i + 1)
            self.assertNotIn("state", frame["modules"]["weird"])
        logs = self.local.controls("log")
        self.assertEqual(len(logs), 1, logs)
        self.assertIn("left out of commit", logs[0]["text"])


class CleanCutTests(unittest.TestCase):
    """The scheduler offers an ack only when no frame after it has begun."""

    def test_noAck_whileAFrameAfterTheFinishedOnesHasBegun(self):
        local = LocalInstance(
            [module("a", COUNT), module("b", COUNT)],
            [["a", "in"], ["b", "in"]],
            [{"module": "a", "port": "out", "local": [["b", "in"]], "remote": None},
             {"module": "b", "port": "out", "local": [], "remote": 0}],
            max_depth=0)  # a's sends wait in b's inbox
        scheduler = local.scheduler
        local.deliver(0, "x")
        local.deliver(0, "y")
        local.run(budget=2)  # a handles frames 1 and 2; b has not run
        self.assertEqual((scheduler.acked(), scheduler.committable()), (0, None))
        local.run(budget=1)  # b finishes frame 1, but a's state already counts frame 2
        self.assertEqual((scheduler.acked(), scheduler.committable()), (1, None))
        local.run()
        self.assertEqual(scheduler.committable(), 2)

    def test_noAck_whileWhatInitSentIsNotHandled(self):
        local = LocalInstance(
            [module("a", "def init(ctx):\n    ctx.send('out', 1)\n" + COUNT), module("b", COUNT)],
            [["a", "in"], ["b", "in"]],
            [{"module": "a", "port": "out", "local": [["b", "in"]], "remote": None},
             {"module": "b", "port": "out", "local": [], "remote": 0}])
        self.assertIsNone(local.scheduler.committable(), "init's message waits in b's inbox")
        local.run()
        self.assertEqual(local.scheduler.committable(), 0)


class CommitVectorTests(unittest.TestCase):
    def test_theVectorsCommitFrames_areWhatThisRuntimeWrites(self):
        with open(VECTORS, encoding="utf-8") as f:
            vectors = json.load(f)["commits"]
        local = LocalInstance([module("count", COUNT)], [["count", "in"]],
                              [{"module": "count", "port": "out", "local": [], "remote": 0}])
        local.commit()
        case = next(c for c in vectors if c["name"] == "a counting module after two messages")
        local.deliver(0, "a")
        local.deliver(0, "b")
        local.run()
        [frame] = local.controls("commit", local.commit())
        self.assertEqual(frame, json.loads(case["input"].split("\n")[0]))


class CommitProcessTests(unittest.TestCase):
    """The real runtime on fifos: the frame before every ack is a commit
    whose count is the ack's."""

    def test_everyAck_followsACommitWithTheStateOfExactlyTheFramesItCovers(self):
        runtime = RuntimeProcess(self)
        runtime.wait_control("hello")
        runtime.send_control({"t": "configure", "flowId": "f", "slots": [["count", "in"]],
                              "modules": [{"id": "count", "code": textwrap.dedent(COUNT), "config": {},
                                           "inputs": ["in"], "outputs": ["out"], "state": None, "init": True}],
                              "routes": [{"module": "count", "port": "out", "local": [], "remote": 0}]})
        runtime.wait_control("configured")
        total = 2000
        for i in range(total):
            runtime.send_data(0, i)
        runtime.wait_ack(total)
        previous = None
        acks = 0
        for kind, value, _ in runtime.frames:
            if kind is ACK:
                acks += 1
                self.assertTrue(previous[0] is CONTROL and previous[1]["t"] == "commit",
                                f"A{value} follows {previous}, not a commit")
                committed = previous[1]["modules"]["count"]
                self.assertEqual((committed["state"]["n"], committed["in"]), (value, value))
            previous = (kind, value)
        self.assertGreater(acks, 0)


if __name__ == "__main__":
    unittest.main()
