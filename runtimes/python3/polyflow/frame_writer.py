"""Frame encoder and coalescing writer for frames going to the host.

Frames are gathered as ASCII text (every JSON text here is encoded with
ensure_ascii, so characters are bytes) and written with one ``os.write``
per batch, or earlier when the buffer passes ``flush_at`` bytes during a
long cascade. A blocked write is the host's back pressure.
"""

import enum
import json

from .framing import DEFAULT_MAX_FRAME_BYTES
from .payloads import encode, encode_lenient

FLUSH_AT = 256 * 1024
MAX_LOG_BYTES = 64 * 1024


class LogLevel(enum.StrEnum):
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class HostGone(BaseException):
    """Writing to the host failed (it closed the fifo or died). A
    BaseException so that no ``except Exception`` in user code swallows it."""


def truncate_utf8(text, max_bytes=MAX_LOG_BYTES):
    if len(text) * 4 <= max_bytes:
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def encode_control(frame):
    """One control frame as a line (compact JSON, ASCII)."""
    return json.dumps(frame, separators=(",", ":")) + "\n"


def data_prefix(route_id):
    return f"D{route_id} "


def _error_frame(module_id, port, payload_json, message, stack):
    return '{"t":"error","module":%s,"port":%s,"payload":%s,"message":%s,"stack":%s}\n' % (
        json.dumps(module_id), json.dumps(port), payload_json, json.dumps(message), json.dumps(stack))


class FrameWriter:
    """Owns nothing: ``write`` is ``os.write`` bound to the --out fd (closed by
    the process exit) or a test's sink. ``write(bytes_like) -> int``."""

    def __init__(self, write, flush_at=FLUSH_AT, max_frame_bytes=DEFAULT_MAX_FRAME_BYTES):
        self._write = write
        self.max_frame_bytes = max_frame_bytes
        self._pieces = []  # cleared in place, never replaced: data_sender keeps it
        self._size = 0
        self._flushes = 0
        self.flush_at = flush_at
        self._log_prefixes = {}
        # Called when the buffer passes flush_at inside a long cascade (a
        # handler still running): returns a frame to add first (the runtime's
        # stats, so that counters move while a long handler runs) or None.
        self.on_full = None

    def line(self, text):
        """Queue one frame; ``text`` ends in a newline and is ASCII."""
        self._pieces.append(text)
        self._size += len(text)
        if self._size > self.flush_at:
            self._flush_full()

    def data_sender(self, route_id):
        """A function(payload) queueing ``D<route_id> <json>``. It encodes at
        once, so a value that is not JSON, or is over the frame limit,
        raises in the caller (the module's handler)."""
        prefix = data_prefix(route_id)
        limit = self.max_frame_bytes - len(prefix)
        pieces = self._pieces
        overhead = len(prefix) + 1

        def send(payload):
            text = encode(payload)
            size = len(text)
            if size > limit:
                raise ValueError(f"payload of {size} bytes is over the frame limit of {limit} bytes")
            pieces.append(f"{prefix}{text}\n")
            self._size += size + overhead
            if self._size > self.flush_at:
                self._flush_full()

        return send

    def control(self, frame):
        self.line(encode_control(frame))

    def ack(self, count):
        self.line(f"A{count}\n")

    def log(self, module_id, level, text):
        key = (module_id, level)
        prefix = self._log_prefixes.get(key)
        if prefix is None:
            prefix = '{"t":"log","module":%s,"level":"%s","text":' % (json.dumps(module_id), level)
            self._log_prefixes[key] = prefix
        self.line(f"{prefix}{json.dumps(truncate_utf8(text))}}}\n")

    def error(self, module_id, port, payload, message, stack):
        """An ``error`` frame; ``payload`` may be any value (a payload that is
        not JSON is shown as its repr). Over the frame limit, the payload is
        left out (null) and the texts are cut."""
        frame = _error_frame(module_id, port, encode_lenient(payload), message, stack)
        if len(frame) > self.max_frame_bytes:
            stack = stack and truncate_utf8(stack)
            frame = _error_frame(module_id, port, "null", truncate_utf8(message), stack)
        self.line(frame)

    def mark(self):
        """A place in the output, for ``insert_line``."""
        return (self._flushes, len(self._pieces))

    def insert_line(self, mark, text):
        """Queue a frame at ``mark``, before the frames queued since; after
        the frames already written if the buffer was flushed since."""
        flushes, index = mark
        if flushes == self._flushes:
            self._pieces.insert(index, text)
            self._size += len(text)
        else:
            self.line(text)

    def _flush_full(self):
        if self.on_full is not None:
            text = self.on_full()
            if text:
                self._pieces.append(text)
        self.flush()

    def flush(self):
        """Write everything queued; loops over partial writes and blocks
        while the host does not read."""
        if not self._pieces:
            return
        data = "".join(self._pieces).encode("ascii")
        self._pieces.clear()
        self._size = 0
        self._flushes += 1
        write = self._write
        try:
            written = write(data)
            if written < len(data):
                view = memoryview(data)[written:]
                while view:
                    view = view[write(view):]
        except OSError as error:
            raise HostGone(f"cannot write to the host: {error}") from None
