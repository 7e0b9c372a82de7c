import sys
import textwrap
import unittest

from local_instance import LocalInstance, module

from polyflow.frame_writer import MAX_LOG_BYTES, FrameWriter
from polyflow.log_capture import LogCapture


def code(text):
    return textwrap.dedent(text).lstrip("\n")


class CaptureInModulesTests(unittest.TestCase):
    def run_module(self, body, payload=None):
        local = LocalInstance([module("m", code(body))], [["m", "in"]],
                              [{"module": "m", "port": "out", "local": [], "remote": 0}])
        local.deliver(0, payload)
        local.run()
        return local, [(f["module"], f["level"], f["text"]) for f in local.controls("log")]

    def test_printAndStderr_becomeLogFramesOfTheModule_perLine(self):
        _, logs = self.run_module("""
            import sys
            def on_message(msg, ctx):
                print("a", 1, {"b": 2})
                print("two\\nlines")
                sys.stderr.write("oops\\n")
                sys.stdout.write("no newline")
        """)
        self.assertEqual(logs, [("m", "info", "a 1 {'b': 2}"), ("m", "info", "two"), ("m", "info", "lines"),
                                ("m", "error", "oops"), ("m", "info", "no newline")])

    def test_ctxLog_joinsArgumentsLikePrint(self):
        _, logs = self.run_module("""
            def on_message(msg, ctx):
                ctx.log("got", msg.payload, None)
        """, payload=[1])
        self.assertEqual(logs, [("m", "info", "got [1] None")])

    def test_printInTheModuleBodyAndInit_isCaptured(self):
        local = LocalInstance([module("m", code("""
            print("loading")
            def init(ctx):
                print("init")
            def on_message(msg, ctx):
                pass
        """), outputs=())], [], [])
        logs = [(f["module"], f["text"]) for f in local.controls("log", local.collect())]
        self.assertEqual(logs, [("m", "loading"), ("m", "init")])

    def test_printOfAStrangeValue_stillGivesValidFrames(self):
        _, logs = self.run_module("""
            def on_message(msg, ctx):
                print("tab\\t quote\\" snow \\u2603 nul \\0 lone \\ud800")
        """)
        self.assertEqual(logs, [("m", "info", "tab\t quote\" snow \u2603 nul \0 lone \ud800")])

    def test_longLine_isTruncatedAt64KiB(self):
        local, logs = self.run_module("""
            def on_message(msg, ctx):
                print("\\u00e9" * 100000)
        """)
        [(_, _, text)] = logs
        self.assertEqual(len(text.encode()), MAX_LOG_BYTES)


class CaptureOutsideModulesTests(unittest.TestCase):
    def test_outsideUserCode_logsHaveModuleNull_andStreamsAreRestored(self):
        lines = []
        writer = FrameWriter(lambda data: lines.append(data) or len(data))
        capture = LogCapture(writer.log)
        before = sys.stdout
        capture.install()
        try:
            print("runtime side")
            capture.enter("m")
            print("half", end="")
            capture.leave()
        finally:
            capture.uninstall()
        self.assertIs(sys.stdout, before)
        writer.flush()
        self.assertEqual(b"".join(lines).decode().splitlines(), [
            '{"t":"log","module":null,"level":"info","text":"runtime side"}',
            '{"t":"log","module":"m","level":"info","text":"half"}',
        ])


if __name__ == "__main__":
    unittest.main()
