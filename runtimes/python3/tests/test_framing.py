import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from polyflow.framing import (  # noqa: E402
    ACK, CONTROL, DATA, DEFAULT_MAX_FRAME_BYTES, FrameDecoder, FrameError, ProtocolError,
)

VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "..", "..", "..", "Tests", "Fixtures", "protocol-vectors.json")


def load_vectors():
    with open(VECTORS, encoding="utf-8") as file:
        return json.load(file)


def as_vector_frame(frame):
    kind, value, payload = frame
    if kind is DATA:
        return {"kind": "data", "slot": value, "payload": payload.decode("utf-8")}
    if kind is ACK:
        return {"kind": "ack", "count": value}
    if kind is CONTROL:
        return {"kind": "control", "json": value}
    raise AssertionError(f"unknown kind {kind!r}")


def decode_stream(chunks, max_frame_bytes):
    """All frames of ``chunks``, and the error code the stream ends with."""
    decoder = FrameDecoder(max_frame_bytes)
    frames = []
    for chunk in chunks:
        try:
            frames += decoder.feed(chunk)
        except ProtocolError as error:
            frames += error.frames
            return [as_vector_frame(f) for f in frames], error.code
    return [as_vector_frame(f) for f in frames], None


def whole(data):
    return [data]


def byte_by_byte(data):
    return [data[i:i + 1] for i in range(len(data))]


class SharedVectorTests(unittest.TestCase):
    vectors = load_vectors()

    def test_vectorsFileSpeaksProtocol1(self):
        self.assertEqual(self.vectors["protocol"], 1)
        self.assertTrue(self.vectors["valid"])
        self.assertTrue(self.vectors["invalid"])

    def test_validVectors_decodeToTheirFrames(self):
        for vector in self.vectors["valid"]:
            for split in (whole, byte_by_byte):
                with self.subTest(vector=vector["name"], feed=split.__name__):
                    data = vector["input"].encode("utf-8")
                    limit = vector.get("maxFrameBytes", DEFAULT_MAX_FRAME_BYTES)
                    frames, error = decode_stream(split(data), limit)
                    self.assertIsNone(error)
                    self.assertEqual(frames, vector["frames"])

    def test_invalidVectors_failWithTheirError(self):
        for vector in self.vectors["invalid"]:
            for split in (whole, byte_by_byte):
                with self.subTest(vector=vector["name"], feed=split.__name__):
                    data = vector["input"].encode("utf-8")
                    limit = vector.get("maxFrameBytes", DEFAULT_MAX_FRAME_BYTES)
                    _, error = decode_stream(split(data), limit)
                    self.assertEqual(error, vector["error"])

    def test_errorCodes_areExactlyTheVectorCodes(self):
        used = {vector["error"] for vector in self.vectors["invalid"]}
        self.assertEqual(used, {code.value for code in FrameError})


class DecoderTests(unittest.TestCase):
    def test_framesBeforeABadFrame_areHandedBackWithTheError(self):
        frames, error = decode_stream([b"D1 1\nA2\nX\nD2 2\n"], 100)
        self.assertEqual(error, "unknown-kind")
        self.assertEqual(frames, [{"kind": "data", "slot": 1, "payload": "1"}, {"kind": "ack", "count": 2}])

    def test_unfinishedLineOverTheLimit_failsBeforeItsNewline(self):
        decoder = FrameDecoder(max_frame_bytes=10)
        decoder.feed(b"D1 12345")
        with self.assertRaises(ProtocolError) as caught:
            decoder.feed(b"6789")
        self.assertEqual(caught.exception.code, FrameError.FRAME_TOO_LARGE)

    def test_frameOfExactlyTheLimit_isAccepted(self):
        frames, error = decode_stream(byte_by_byte(b"D1 123456\n"), 9)
        self.assertIsNone(error)
        self.assertEqual(frames, [{"kind": "data", "slot": 1, "payload": "123456"}])

    def test_chunksSplitAnywhere_giveTheSameFrames(self):
        data = b'D1 {"a":"x"}\nA7\n{"t":"stop"}\nD22 "\xc3\xa9"\n'
        expected, _ = decode_stream([data], 100)
        for cut in range(len(data) + 1):
            with self.subTest(cut=cut):
                self.assertEqual(decode_stream([data[:cut], data[cut:]], 100), (expected, None))

    def test_manyFramesInOneChunk(self):
        data = b"".join(b"D%d [%d]\n" % (i, i) for i in range(10000))
        frames = FrameDecoder().feed(data)
        self.assertEqual(len(frames), 10000)
        self.assertEqual(frames[9999], (DATA, 9999, b"[9999]"))

    def test_dataPayloadIsNotParsed(self):
        self.assertEqual(FrameDecoder().feed(b"D0 not json\n"), [(DATA, 0, b"not json")])

    def test_controlFrameThatIsNotAnObject_isBadControl(self):
        for line in (b'{"t":1}\n', b'{"t":"x"} junk\n', b'{"t":"\xff"}\n'):
            with self.subTest(line=line):
                self.assertEqual(decode_stream([line], 100)[1], "bad-control")

    def test_dataFrameJustD_isBadSlot(self):
        self.assertEqual(decode_stream([b"D\n"], 100)[1], "bad-slot")
        self.assertEqual(decode_stream([b"D1a 2\n"], 100)[1], "bad-slot")


if __name__ == "__main__":
    unittest.main()
