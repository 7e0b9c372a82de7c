"""Frame decoder of the pipe protocol (docs/protocol.md, "Framing").

A frame is one line. ``D<slot> <payload>`` is a data frame, ``A<count>`` an
ack, ``{...}`` a control frame (a JSON object with a string field ``t``).
The decoder never parses data payloads: it hands back their bytes.
"""

import enum
import json

DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024
MAX_DIGITS = 9
# How many distinct data frame heads ("D12") a decoder remembers.
MAX_KNOWN_HEADS = 4096


class FrameKind(enum.IntEnum):
    DATA = 1
    ACK = 2
    CONTROL = 3


class FrameError(enum.StrEnum):
    """Why the decoder refused a frame (the codes of protocol-vectors.json)."""

    EMPTY_FRAME = "empty-frame"
    UNKNOWN_KIND = "unknown-kind"
    BAD_SLOT = "bad-slot"
    EMPTY_PAYLOAD = "empty-payload"
    BAD_COUNT = "bad-count"
    BAD_CONTROL = "bad-control"
    FRAME_TOO_LARGE = "frame-too-large"


class ProtocolError(Exception):
    """A frame the decoder rejects. ``frames`` are the good frames of the
    same ``feed`` call that came before it, in order."""

    def __init__(self, code, message, frames=()):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.frames = list(frames)


DATA = FrameKind.DATA
ACK = FrameKind.ACK
CONTROL = FrameKind.CONTROL
_D = ord("D")
_A = ord("A")
_BRACE = ord("{")
_ZERO = ord("0")


def _is_number(digits):
    """One to nine ASCII digits, no sign, no leading zero except "0"."""
    n = len(digits)
    return 0 < n <= MAX_DIGITS and digits.isdigit() and (n == 1 or digits[0] != _ZERO)


def decode_line(line):
    """Decode one frame without its newline. Returns a tuple:
    ``(DATA, slot, payload_bytes)``, ``(ACK, count, None)`` or
    ``(CONTROL, dict, None)``; raises ProtocolError."""
    if not line:
        raise ProtocolError(FrameError.EMPTY_FRAME, "empty line")
    first = line[0]
    if first == _D:
        space = line.find(b" ", 1, MAX_DIGITS + 2)
        if space < 0:
            if _is_number(line[1:]):
                raise ProtocolError(FrameError.EMPTY_PAYLOAD, "data frame without payload")
            raise ProtocolError(FrameError.BAD_SLOT, "data frame needs D<slot> and one space")
        digits = line[1:space]
        if not _is_number(digits):
            raise ProtocolError(FrameError.BAD_SLOT, f"bad slot {digits[:20]!r}")
        if space + 1 == len(line):
            raise ProtocolError(FrameError.EMPTY_PAYLOAD, "data frame with an empty payload")
        return (DATA, int(digits), line[space + 1:])
    if first == _A:
        digits = line[1:]
        if not _is_number(digits):
            raise ProtocolError(FrameError.BAD_COUNT, f"bad ack count {digits[:20]!r}")
        return (ACK, int(digits), None)
    if first == _BRACE:
        return (CONTROL, _decode_control(line), None)
    raise ProtocolError(FrameError.UNKNOWN_KIND, f"unknown frame kind {line[:1]!r}")


def _decode_control(line):
    try:
        obj = json.loads(line)
    except ValueError as error:  # also UnicodeDecodeError
        raise ProtocolError(FrameError.BAD_CONTROL, f"control frame is not JSON: {error}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
        raise ProtocolError(FrameError.BAD_CONTROL, 'control frame has no string field "t"')
    return obj


class FrameDecoder:
    """Splits a byte stream into frames. Feed it chunks of any size; it keeps
    the unfinished last line. After a ProtocolError it must not be fed again.
    """

    def __init__(self, max_frame_bytes=DEFAULT_MAX_FRAME_BYTES):
        self.max_frame_bytes = max_frame_bytes
        self._partial = []  # pieces of the unfinished line
        self._partial_size = 0
        self._heads = {}  # b"D12" -> 12, for heads already checked

    @property
    def buffered_bytes(self):
        return self._partial_size

    def feed(self, chunk):
        """Decode every complete frame in ``chunk`` (bytes); returns a list of
        frame tuples (see ``decode_line``)."""
        if b"\n" not in chunk:
            self._keep(chunk, [])
            return []
        if self._partial:
            self._partial.append(chunk)
            chunk = b"".join(self._partial)
            self._partial = []
            self._partial_size = 0
        lines = chunk.split(b"\n")
        rest = lines.pop()
        frames = []
        append = frames.append
        limit = self.max_frame_bytes
        heads = self._heads
        for line in lines:
            if len(line) > limit:
                raise self._too_large(len(line), frames)
            # Fast path: a data frame whose head ("D12") was seen before.
            head, _, payload = line.partition(b" ")
            slot = heads.get(head)
            if slot is not None and payload:
                append((DATA, slot, payload))
                continue
            try:
                frame = decode_line(line)
            except ProtocolError as error:
                error.frames = frames
                raise
            append(frame)
            if frame[0] is DATA and len(heads) < MAX_KNOWN_HEADS:
                heads[head] = frame[1]
        if rest:
            self._keep(rest, frames)
        return frames

    def _keep(self, piece, frames):
        self._partial.append(piece)
        self._partial_size += len(piece)
        if self._partial_size > self.max_frame_bytes:
            raise self._too_large(self._partial_size, frames)

    def _too_large(self, size, frames):
        return ProtocolError(
            FrameError.FRAME_TOO_LARGE,
            f"frame of at least {size} bytes is over the limit of {self.max_frame_bytes} bytes",
            frames,
        )
