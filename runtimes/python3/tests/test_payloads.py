import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from polyflow.payloads import copy_payload, decode, encode  # noqa: E402


class PayloadTests(unittest.TestCase):
    def test_encode_isCompactAscii(self):
        self.assertEqual(encode({"a": [1, 2.5, None, True, "é"]}), '{"a":[1,2.5,null,true,"\\u00e9"]}')

    def test_encode_refusesWhatIsNotJson(self):
        for value in (float("nan"), float("inf"), {1, 2}, object(), b"bytes"):
            with self.subTest(value=value), self.assertRaises((TypeError, ValueError)):
                encode(value)

    def test_decode_acceptsBytesStrAndSurroundingWhitespace(self):
        self.assertEqual(decode(b'{"a":[1]}'), {"a": [1]})
        self.assertEqual(decode(' "x" '), "x")
        for bad in (b"{} x", b"", b"\xff", b"nul"):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                decode(bad)

    def test_copy_sharesNothingMutable(self):
        original = {"a": [1, {"b": [2]}], "t": (1, [3]), "s": "x"}
        copied = copy_payload(original)
        self.assertEqual(copied, original)
        copied["a"][1]["b"].append(9)
        copied["t"][1].append(9)
        self.assertEqual(original, {"a": [1, {"b": [2]}], "t": (1, [3]), "s": "x"})


if __name__ == "__main__":
    unittest.main()
