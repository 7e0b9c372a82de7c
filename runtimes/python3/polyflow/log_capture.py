"""Capture of what user code prints.

While user code runs (module body, init, on_message) ``sys.stdout`` and
``sys.stderr`` are streams that turn each line into a ``log`` frame of the
running module (stdout: info, stderr: error); outside user code the frames
have module null. Nothing printed reaches the fifos except as log frames.
"""

import io
import sys

from .frame_writer import MAX_LOG_BYTES, LogLevel


class CapturedStream(io.TextIOBase):
    """A text stream that emits one log frame per line."""

    def __init__(self, capture, level, name):
        self._capture = capture
        self._level = level
        self._name = name
        self._pending = []
        self._pending_size = 0

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
        if "\n" not in text:
            # Past the log limit the rest of the line would be cut anyway.
            if self._pending_size < MAX_LOG_BYTES:
                self._pending.append(text)
                self._pending_size += len(text)
            return len(text)
        lines = text.split("\n")
        if self._pending:
            self._pending.append(lines[0])
            lines[0] = "".join(self._pending)
            self._pending = []
            self._pending_size = 0
        rest = lines.pop()
        emit = self._capture.emit
        for line in lines:
            emit(self._level, line)
        if rest:
            self._pending.append(rest)
            self._pending_size = len(rest)
        return len(text)

    def flush(self):
        pass  # lines go out when they end; see end_line

    def end_line(self):
        """Emit an unfinished line (at the end of a piece of user code)."""
        if self._pending:
            text = "".join(self._pending)
            self._pending = []
            self._pending_size = 0
            self._capture.emit(self._level, text)


class LogCapture:
    """Owns the replacement ``sys.stdout``/``sys.stderr`` between
    ``install`` and ``uninstall``; ``log(module_id, level, text)`` receives
    every line (FrameWriter.log)."""

    def __init__(self, log):
        self._log = log
        self.module_id = None
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
        if self.module_id != module_id:
            self.leave()
            self.module_id = module_id

    def leave(self):
        """User code stopped running: finish its unfinished lines."""
        self.stdout.end_line()
        self.stderr.end_line()
        self.module_id = None

    def emit(self, level, text):
        self._log(self.module_id, level, text)
