"""The runtime's main loop: read frames from the host, run the modules,
write frames back (docs/protocol.md)."""

import os
import select
import sys
import time

from . import PROTOCOL_VERSION
from .configuration import ConfigureError, parse_configure, parse_swap
from .error_text import describe
from .frame_writer import FrameWriter, HostGone, LogLevel, encode_control
from .framing import ACK, CONTROL, DATA, DEFAULT_MAX_FRAME_BYTES, FrameDecoder, ProtocolError
from .instance import Instance
from .log_capture import LogCapture
from .payloads import decode
from .scheduler import Scheduler
from .stats import commit_line, stats_line

READ_SIZE = 1 << 20
PIPE_SIZE = 1 << 20
STATS_INTERVAL = 0.2
# Messages handled between two looks at the input.
BUDGET = 16384
# While this many incoming frames are unfinished, the input is not read
# (the host's writes block: back pressure).
MAX_UNFINISHED = 65536


class Fatal(Exception):
    """The runtime cannot go on: send ``fatal`` and exit 2."""


class Runtime:
    """Owns neither fd: ``in_fd``/``out_fd`` are closed by the process exit."""

    def __init__(self, in_fd, out_fd, max_frame_bytes=DEFAULT_MAX_FRAME_BYTES, clock=time.monotonic):
        self._in_fd = in_fd
        self._clock = clock
        self._decoder = FrameDecoder(max_frame_bytes)
        self._writer = FrameWriter(lambda data: os.write(out_fd, data), max_frame_bytes=max_frame_bytes)
        self._capture = LogCapture(self._writer.log)
        self._scheduler = Scheduler(self._writer, self._capture)
        self._instance = None
        self._stopping = False
        self._next_stats = 0.0
        self._sent_ack = 0
        self._via_host = False  # debug routing, set by mode frames
        self._writer.on_full = self._stats_while_running

    def run(self):
        """Serve the host until stop, EOF or a fatal error; returns the exit
        code."""
        self._capture.install()
        try:
            return self._serve()
        except HostGone:
            return 0
        except Exception as error:  # a bug of the runtime itself
            import traceback

            self._capture.uninstall()
            traceback.print_exc(file=sys.stderr)
            try:
                return self._fatal(f"internal error of the python3 runtime: {describe(error)}")
            except HostGone:
                return 2
        finally:
            self._capture.uninstall()

    def _serve(self):
        writer = self._writer
        writer.control({
            "t": "hello", "protocol": PROTOCOL_VERSION, "runtime": "python3",
            # sys.version's first word is platform.python_version() (importing
            # platform cost ~2 ms of start-up).
            "name": "CPython", "version": sys.version.split()[0], "pid": os.getpid(),
        })
        writer.flush()
        scheduler = self._scheduler
        while True:
            if select.select([self._in_fd], [], [], self._timeout())[0]:
                if scheduler.unfinished_roots < MAX_UNFINISHED or self._stopping:
                    chunk = os.read(self._in_fd, READ_SIZE)
                    if not chunk:
                        return 0  # the host closed the fifo or died
                    if not self._stopping:
                        try:
                            self._take(chunk)
                        except Fatal as error:
                            return self._fatal(str(error))
            scheduler.run(BUDGET)
            self._end_batch()
            if self._stopping and scheduler.idle:
                self._commit(scheduler.acked(), every=True)
                writer.line(stats_line(self._modules(), writer, all_states=True))
                writer.control({"t": "bye"})
                writer.flush()
                return 0

    def _timeout(self):
        if not self._scheduler.idle:
            return 0
        if self._scheduler.changed:
            return max(0.0, self._next_stats - self._clock())
        return None

    def _take(self, chunk):
        try:
            frames = self._decoder.feed(chunk)
        except ProtocolError as error:
            self._handle(error.frames)
            raise Fatal(f"bad frame from the host: {error}") from None
        self._handle(frames)

    def _handle(self, frames):
        slots = self._instance.slots if self._instance else ()
        receive = self._scheduler.receive
        for kind, value, payload in frames:
            if kind is DATA:
                try:
                    module, port = slots[value]
                except IndexError:
                    raise Fatal(self._unknown_slot(value)) from None
                try:
                    message = decode(payload)
                except (ValueError, RecursionError) as error:
                    self._scheduler.receive_unreadable(
                        module, port, payload.decode("utf-8", "replace"), error)
                    continue
                receive(module, port, message)
            elif kind is CONTROL:
                self._control(value)
                if self._stopping:
                    return
                slots = self._instance.slots if self._instance else ()
            elif kind is ACK:
                pass  # acks go from the runtime to the host only

    def _unknown_slot(self, slot):
        if self._instance is None:
            return f"data frame for slot {slot} before configure"
        return f"data frame for slot {slot}: the instance has {len(self._instance.slots)} slots"

    def _control(self, frame):
        kind = frame["t"]
        if kind == "configure":
            self._configure(frame)
        elif kind == "swap":
            self._swap(frame)
        elif kind == "stop":
            self._stopping = True
        elif kind == "mode":
            self._mode(frame.get("via"))
        elif kind == "report":
            self._writer.line(stats_line(self._modules(), self._writer, all_states=True))
            self._writer.flush()
        else:
            self._writer.log(None, LogLevel.WARN, f"ignored a control frame of unknown type {kind!r}")

    def _mode(self, via):
        """Debug routing: ``host`` sends every message as ``D<all>``,
        ``direct`` goes back to local calls + ``remote``. Kept for a
        configure that comes later."""
        if via not in ("host", "direct"):
            self._writer.log(None, LogLevel.WARN,
                             f"ignored a mode frame with via {via!r} (expected 'host' or 'direct')")
            return
        self._via_host = via == "host"
        if self._instance is not None:
            self._instance.routes.use(self._via_host)

    def _configure(self, frame):
        if self._instance is not None:
            self._writer.log(None, LogLevel.WARN, "ignored a second configure (protocol 1 configures once)")
            return
        try:
            configuration = parse_configure(frame)
        except ConfigureError as error:
            raise Fatal(str(error)) from None
        # What loading prints or sends (from init) goes after the reply.
        mark = self._writer.mark()
        self._instance = Instance(configuration, self._scheduler, self._writer, self._via_host)
        modules = self._instance.load()
        self._writer.insert_line(mark, encode_control({"t": "configured", "modules": modules}))

    def _swap(self, frame):
        """Hot swap: the host made the instance idle first. The new slot
        table applies from the next frame on (``_handle`` reads it again)."""
        if self._instance is None:
            raise Fatal("swap before configure")
        try:
            swap = parse_swap(frame, self._instance.modules)
        except ConfigureError as error:
            raise Fatal(str(error)) from None
        # As for configure: what loading, init and on_swap produce goes after the reply.
        mark = self._writer.mark()
        modules = self._instance.swap(swap, self._via_host)
        self._writer.insert_line(mark, encode_control({"t": "swapped", "modules": modules}))

    def _modules(self):
        return self._instance.modules.values() if self._instance else ()

    def _end_batch(self):
        """After each batch: the commit and ack (after the data frames they
        cover) when the instance is at a clean cut, stats at most every
        STATS_INTERVAL while something changed, one write."""
        writer = self._writer
        acked = self._scheduler.committable()
        if acked is not None:
            self._commit(acked)
        if self._scheduler.changed and not self._stopping:
            now = self._clock()
            if now >= self._next_stats:
                writer.line(stats_line(self._modules(), writer))
                self._scheduler.changed = False
                self._next_stats = now + STATS_INTERVAL
        writer.flush()

    def _commit(self, acked, every=False):
        """``commit`` with the modules that changed since the last one, then
        ``A<acked>`` (docs/protocol.md, "Commits"): the host keeps those
        states and counters only once the ack has arrived. Only with an ack
        that goes up, or with ``every`` (the last one, before ``bye``):
        what init or on_swap changed goes with the next one."""
        if acked == self._sent_ack and not every:
            return
        line = commit_line(self._modules(), self._writer, every)
        if line is not None:
            self._writer.line(line)
        self._writer.ack(acked)
        self._sent_ack = acked

    def _stats_while_running(self):
        """A stats frame when one is due while a long cascade is still
        running (the writer's buffer filled up): the counters of a handler
        that sends a great many messages move before it returns."""
        if self._stopping or self._instance is None:
            return None
        now = self._clock()
        if now < self._next_stats:
            return None
        self._next_stats = now + STATS_INTERVAL
        modules = list(self._modules())
        ran = [m.ran for m in modules]
        text = stats_line(modules, self._writer)
        for m, r in zip(modules, ran):  # states still go with the stats after the cascade
            m.ran = r
        return text

    def _fatal(self, message):
        self._writer.flush()
        self._writer.line(encode_control({"t": "fatal", "message": message}))
        self._writer.flush()
        return 2


def open_fifos(in_path, out_path):
    """Open the fifos the host created (and already holds open, so neither
    open blocks). The fds live until the process exits."""
    in_fd = os.open(in_path, os.O_RDONLY)
    out_fd = os.open(out_path, os.O_WRONLY)
    for fd in (in_fd, out_fd):
        _grow_pipe(fd)
    return in_fd, out_fd


def _grow_pipe(fd):
    """Ask for a 1 MiB pipe buffer (fewer, larger reads and writes); the
    default 64 KiB is kept where that is not allowed."""
    try:
        import fcntl
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass
