import unittest

from local_instance import LocalInstance, module

COUNT = """
def on_message(msg, ctx):
    ctx.state["n"] = ctx.state.get("n", 0) + 1
    ctx.send("out", msg.payload)
    ctx.send("out", msg.payload)
"""


class StatsTests(unittest.TestCase):
    def setUp(self):
        self.local = LocalInstance(
            [module("a", COUNT), module("b", COUNT, state={"kept": True}),
             module("weird", "def on_message(msg, ctx):\n    ctx.state = {'s': {1, 2}}\n    1/0\n")],
            [["a", "in"], ["b", "in"], ["weird", "in"]],
            [{"module": "a", "port": "out", "local": [], "remote": 0},
             {"module": "b", "port": "out", "local": [], "remote": 1},
             {"module": "weird", "port": "out", "local": [], "remote": 2}])
        self.local.stats()  # after configure every module counts as ran

    def stats(self, all_states=False):
        [frame] = self.local.controls("stats", self.local.stats(all_states))
        return frame["modules"]

    def test_countsAreTotals_andStateOnlyForModulesThatRan(self):
        self.local.deliver(0, 1)
        self.local.run()
        self.assertEqual(self.stats(), {"a": {"in": 1, "out": 2, "errors": 0, "state": {"n": 1}},
                                        "b": {"in": 0, "out": 0, "errors": 0},
                                        "weird": {"in": 0, "out": 0, "errors": 0}})
        self.local.deliver(1, 1)
        self.local.run()
        self.assertEqual(self.stats(), {"a": {"in": 1, "out": 2, "errors": 0},
                                        "b": {"in": 1, "out": 2, "errors": 0, "state": {"kept": True, "n": 1}},
                                        "weird": {"in": 0, "out": 0, "errors": 0}})

    def test_finalStats_haveEveryState(self):
        self.assertEqual(set(self.stats(all_states=True)["b"]), {"in", "out", "errors", "state"})

    def test_stateThatIsNotJson_isLeftOutAndLogged(self):
        self.local.deliver(2, None)
        self.local.run()
        frames = self.local.stats()
        [stats] = self.local.controls("stats", frames)
        self.assertEqual(stats["modules"]["weird"], {"in": 1, "out": 0, "errors": 1})
        [log] = self.local.controls("log", frames)
        self.assertEqual((log["module"], log["level"]), ("weird", "error"))
        self.assertIn("not JSON", log["text"])


if __name__ == "__main__":
    unittest.main()


DEEP = """
def on_message(msg, ctx):
    v = 1
    for _ in range(msg.payload):
        v = [v]
    ctx.state["v"] = v
"""


class DeepStateTests(unittest.TestCase):
    """A state nested past what the dispatcher takes (512 levels) is left out and logged as
    the module's error, as a state JSON cannot carry: it never reaches the runner's connection."""

    def test_aStateNestedPast512LevelsIsLeftOutWithWhy_andOneWithin_isKept(self):
        local = LocalInstance([module("d", DEEP)], [["d", "in"]], [{"module": "d", "port": "out", "local": [], "remote": 0}])
        local.stats()
        local.deliver(0, 600)
        local.run()
        frames = local.stats()
        [stats] = local.controls("stats", frames)
        self.assertEqual(stats["modules"]["d"], {"in": 1, "out": 0, "errors": 0})
        [log] = local.controls("log", frames)
        self.assertEqual((log["module"], log["level"]), ("d", "error"))
        self.assertIn("nests deeper than 512 levels", log["text"])
        local.deliver(0, 500)
        local.run()
        [stats] = local.controls("stats", local.stats())
        self.assertIn("state", stats["modules"]["d"])

    def test_bracketsInsideStringsDoNotCount(self):
        from polyflow.stats import nests_deeper
        self.assertFalse(nests_deeper('["' + "[" * 600 + '"]', 512))
        self.assertFalse(nests_deeper('["\\", "\"[[["]', 1))
        self.assertTrue(nests_deeper("[" * 513 + "]" * 513, 512))

