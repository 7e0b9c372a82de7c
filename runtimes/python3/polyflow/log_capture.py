"""Capture of what user code prints.

While user code runs (module body, init, on_message) ``sys.stdout`` and
``sys.stderr`` are streams that turn each line into a ``log`` frame of the
running module (stdout: info, stderr: error); outside user code the frames
have module null. Nothing printed reaches the fifos except as log frames.

A handler may call another module's handler directly (scheduler.py), so
the running module changes in the middle of a turn, on every local hop:
the caller just sets ``module_id`` (a plain attribute, no call) and puts
it back after. Each module's unfinished line is kept apart, so a line never
mixes two modules' text; unfinished lines are emitted when the turn ends
(``leave``).
"""

import io
import sys

from .frame_writer import MAX_LOG_BYTES, LogLevel


class CapturedStream(io.TextIOBase):
    """A text stream that emits one log frame per line, attributed to the
    module running when the line started."""

    def __init__(self, capture, level, name):
        self._capture = capture
        self._level = level
        self._name = name
        self._pending = {}  # module id -> [pieces, size] of its unfinished line

    @property
    def name(self):
        return self._name

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        capture = self._capture
        module_id = capture.module_id
        pending = self._pending.get(module_id)
        if "\n" not in text:
            if pending is None:
                self._pending[module_id] = [[text], len(text)]
                capture.unfinished = True
            elif pending[1] < MAX_LOG_BYTES:  # past it the rest would be cut anyway
                pending[0].append(text)
                pending[1] += len(text)
            return len(text)
        lines = text.split("\n")
        if pending is not None:
            del self._pending[module_id]
            pending[0].append(lines[0])
            lines[0] = "".join(pending[0])
        rest = lines.pop()
        for line in lines:
            capture.log(module_id, self._level, line)
        if rest:
            self._pending[module_id] = [[rest], len(rest)]
            capture.unfinished = True
        return len(text)

    def flush(self):
        pass  # lines go out when they end; see end_lines

    def end_lines(self):
        """Emit the unfinished lines (at the end of a piece of user code)."""
        if self._pending:
            pending, self._pending = self._pending, {}
            for module_id, (pieces, _) in pending.items():
                self._capture.log(module_id, self._level, "".join(pieces))


class LogCapture:
    """Owns the replacement ``sys.stdout``/``sys.stderr`` between
    ``install`` and ``uninstall``; ``log(module_id, level, text)`` receives
    every line (FrameWriter.log). ``module_id`` is the running module (None
    outside user code); ``unfinished`` is true while a stream may hold an
    unfinished line (so that ``leave`` costs nothing otherwise)."""

    def __init__(self, log):
        self.log = log
        self.module_id = None
        self.unfinished = False
        self.stdout = CapturedStream(self, LogLevel.INFO, "<stdout>")
        self.stderr = CapturedStream(self, LogLevel.ERROR, "<stderr>")
        self._saved = None

    def install(self):
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = self.stdout, self.stderr

    def uninstall(self):
        self.leave()
        if self._saved is not None:
            sys.stdout, sys.stderr = self._saved
            self._saved = None

    def enter(self, module_id):
        """User code of ``module_id`` starts running."""
        self.module_id = module_id

    def leave(self):
        """User code stopped running: finish the unfinished lines."""
        if self.unfinished:
            self.unfinished = False
            self.stdout.end_lines()
            self.stderr.end_lines()
        self.module_id = None
