import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from polyflow.error_text import describe, module_filename, user_stack  # noqa: E402
from polyflow.module_loader import NO_ON_MESSAGE, ModuleLoadError, call_init, load_module  # noqa: E402


def load_error(code, module_id="m"):
    try:
        load_module(module_id, code)
    except ModuleLoadError as error:
        return error.message, error.line
    raise AssertionError("the module loaded")


class LoadTests(unittest.TestCase):
    def test_goodModule_givesItsFunctions(self):
        loaded = load_module("m", "def init(ctx):\n    pass\ndef on_message(msg, ctx):\n    return 1\n")
        self.assertEqual(loaded.on_message(None, None), 1)
        self.assertIsNotNone(loaded.init)

    def test_asyncFunctions_areAwaited(self):
        loaded = load_module("m", "import asyncio\n"
                                  "async def init(ctx):\n    ctx.append('init')\n"
                                  "async def on_message(msg, ctx):\n"
                                  "    await asyncio.sleep(0)\n    return msg * 2\n")
        calls = []
        call_init("m", loaded, calls)
        self.assertEqual(calls, ["init"])
        self.assertEqual(loaded.on_message(21, None), 42)

    def test_moduleBody_runsWithTheModuleIdAsName(self):
        loaded = load_module("parse", "NAME = __name__\ndef on_message(msg, ctx): pass\n")
        self.assertEqual(loaded.namespace["NAME"], "parse")

    def test_eachLoad_hasAFreshNamespace(self):
        code = "seen = globals().setdefault('seen', 0) + 1\ndef on_message(msg, ctx): pass\n"
        self.assertEqual(load_module("a", code).namespace["seen"], 1)
        self.assertEqual(load_module("a", code).namespace["seen"], 1)

    def test_syntaxError_givesMessageAndLine(self):
        self.assertEqual(load_error("x = 1\n\ndef on_message(msg ctx):\n    pass\n"),
                         ("SyntaxError: invalid syntax", 3))

    def test_indentationError_givesItsLine(self):
        message, line = load_error("def on_message(msg, ctx):\nreturn 1\n")
        self.assertTrue(message.startswith("IndentationError: "), message)
        self.assertEqual(line, 2)

    def test_exceptionWhileRunningTheBody_givesTheLineOfTheDeepestModuleFrame(self):
        code = "def helper():\n    return {}['missing']\n\n\nhelper()\n"
        self.assertEqual(load_error(code), ("KeyError: 'missing'", 2))

    def test_exceptionInLibraryCode_givesTheModuleLineThatCalledIt(self):
        code = "import json\n\njson.loads('{')\n"
        message, line = load_error(code)
        self.assertTrue(message.startswith("JSONDecodeError: "), message)
        self.assertEqual(line, 3)

    def test_missingOnMessage_isALoadErrorWithoutLine(self):
        self.assertEqual(load_error("def on_msg(msg, ctx):\n    pass\n"), (NO_ON_MESSAGE, None))
        self.assertEqual(load_error("on_message = 3\n"), (NO_ON_MESSAGE, None))

    def test_importOfAMissingModule_isALoadError(self):
        self.assertEqual(load_error("\nimport no_such_module_here\n"),
                         ("ModuleNotFoundError: No module named 'no_such_module_here'", 2))

    def test_sysExitInTheBody_isALoadError(self):
        self.assertEqual(load_error("import sys\nsys.exit(3)\n"), ("SystemExit: 3", 2))

    def test_nulByte_isALoadError(self):
        message, line = load_error("x = 1\0\n")
        self.assertIn("null", message)

    def test_exceptionInInit_isALoadErrorWithItsLine(self):
        loaded = load_module("m", "def init(ctx):\n    ctx['x']\ndef on_message(msg, ctx): pass\n")
        with self.assertRaises(ModuleLoadError) as caught:
            call_init("m", loaded, object())
        self.assertEqual(caught.exception.message, "TypeError: 'object' object is not subscriptable")
        self.assertEqual(caught.exception.line, 2)


class ErrorTextTests(unittest.TestCase):
    def test_describe(self):
        self.assertEqual(describe(ZeroDivisionError("division by zero")), "ZeroDivisionError: division by zero")
        self.assertEqual(describe(ValueError()), "ValueError")

    def test_userStack_keepsOnlyUserFramesWithTheirSource(self):
        loaded = load_module("calc", "import json\ndef on_message(msg, ctx):\n    return json.loads(msg)\n")
        try:
            loaded.on_message("{", None)
        except ValueError as error:
            stack = user_stack(error)
        self.assertIn(f'File "{module_filename("calc")}", line 3, in on_message', stack)
        self.assertIn("return json.loads(msg)", stack)
        self.assertNotIn("decoder.py", stack)
        self.assertTrue(stack.startswith("Traceback (most recent call last):"))
        self.assertTrue(stack.endswith("json.decoder.JSONDecodeError: Expecting property name enclosed "
                                       "in double quotes: line 1 column 2 (char 1)"), stack)


if __name__ == "__main__":
    unittest.main()
