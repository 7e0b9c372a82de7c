import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from polyflow.frame_writer import FrameWriter, HostGone  # noqa: E402


class Sink:
    """Takes at most ``step`` bytes per write, like a busy pipe."""

    def __init__(self, step=1 << 30):
        self.data = bytearray()
        self.writes = 0
        self.step = step

    def __call__(self, data):
        taken = bytes(data[:self.step])
        self.data += taken
        self.writes += 1
        return len(taken)

    def lines(self):
        return self.data.decode().splitlines()


class FrameWriterTests(unittest.TestCase):
    def test_framesAreCoalescedIntoOneWritePerFlush(self):
        sink = Sink()
        writer = FrameWriter(sink)
        send = writer.data_sender(3)
        for n in range(100):
            send({"n": n})
        writer.ack(100)
        self.assertEqual(sink.writes, 0)
        writer.flush()
        self.assertEqual(sink.writes, 1)
        self.assertEqual(sink.lines()[0], 'D3 {"n":0}')
        self.assertEqual(sink.lines()[-1], "A100")

    def test_partialWrites_areContinued(self):
        sink = Sink(step=7)
        writer = FrameWriter(sink)
        writer.control({"t": "log", "module": None, "level": "info", "text": "x" * 100})
        writer.flush()
        self.assertEqual(json.loads(sink.lines()[0])["text"], "x" * 100)
        self.assertGreater(sink.writes, 10)

    def test_aLargeBuffer_isFlushedBeforeTheBatchEnds(self):
        sink = Sink()
        writer = FrameWriter(sink, flush_at=1000)
        send = writer.data_sender(0)
        for _ in range(100):
            send("y" * 100)
        self.assertGreaterEqual(sink.writes, 9)

    def test_payloadOverTheFrameLimit_raisesInTheSender(self):
        writer = FrameWriter(Sink(), max_frame_bytes=20)
        with self.assertRaises(ValueError):
            writer.data_sender(0)("z" * 30)

    def test_errorFrameOverTheLimit_dropsThePayload(self):
        sink = Sink()
        writer = FrameWriter(sink, max_frame_bytes=1000)
        writer.error("m", "in", "p" * 2000, "Boom: x", "stack")
        writer.flush()
        frame = json.loads(sink.lines()[0])
        self.assertEqual((frame["payload"], frame["message"], frame["stack"]), (None, "Boom: x", "stack"))

    def test_insertLine_putsAFrameBeforeLaterOnes(self):
        sink = Sink()
        writer = FrameWriter(sink)
        writer.ack(1)
        mark = writer.mark()
        writer.ack(2)
        writer.insert_line(mark, "A9\n")
        writer.flush()
        self.assertEqual(sink.lines(), ["A1", "A9", "A2"])

    def test_aClosedPipe_isHostGone(self):
        read_fd, write_fd = os.pipe()
        os.close(read_fd)
        writer = FrameWriter(lambda data: os.write(write_fd, data))
        writer.ack(1)
        try:
            with self.assertRaises(HostGone):
                writer.flush()
        finally:
            os.close(write_fd)


if __name__ == "__main__":
    unittest.main()
