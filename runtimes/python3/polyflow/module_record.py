"""One module hosted by this runtime instance: its code, ctx, inbox and
counters."""

import collections

from .context import Context, Message


class ModuleRecord:
    """``handler`` is the module's on_message, or after a load error a
    function raising ModuleNotLoaded. ``send_result(value)`` sends a handler's
    return value on the first output (set by router.py). ``outboxes``: the
    local sends it gathers, one per local target (set by router.py).
    ``inbox``: the batches waiting for it. ``spare`` is the message the
    scheduler reuses from one payload to the next. ``scheduled`` is true
    while the module is in the scheduler's run queue, ``running`` while its
    handler runs (so that it is never called again from inside it). ``ran``
    and ``unsaved`` say whether it ran since the last ``stats`` and since
    the last ``commit`` frame."""

    __slots__ = (
        "id", "inputs", "outputs", "ctx", "handler", "send_result", "outboxes", "load_error",
        "inbox", "spare", "scheduled", "running", "in_count", "out_count", "error_count", "ran",
        "unsaved", "bad_state",
    )

    def __init__(self, spec, flow_id, log):
        self.id = spec.id
        self.inputs = spec.inputs
        self.outputs = spec.outputs
        self.ctx = Context(self, flow_id, spec.config, {} if spec.state is None else spec.state, log)
        self.handler = None
        self.send_result = None
        self.outboxes = []
        self.load_error = None
        self.inbox = collections.deque()
        self.spare = Message(None, None)
        self.scheduled = False
        self.running = False
        self.in_count = 0
        self.out_count = 0
        self.error_count = 0
        self.ran = False  # ran since the last stats frame
        self.unsaved = False  # counters or state changed since the last commit frame
        self.bad_state = False  # its state could not go into the last commit (logged once)

    def replace(self, spec):
        """A swap gives this module new code (loaded next), config and
        ports; its ctx, counters and (unless ``spec.state`` is given) its
        state stay."""
        self.inputs = spec.inputs
        self.outputs = spec.outputs
        self.ctx.config = spec.config
        if spec.state is not None:
            self.ctx.state = spec.state
        self.handler = None
        self.load_error = None

    def mark_failed(self, error):
        """The code did not load: every message for it becomes an error."""
        self.load_error = error
        message = f"module '{self.id}' did not load: {error.message}"

        def refuse(msg, ctx):
            raise ModuleNotLoaded(message)

        self.handler = refuse


class ModuleNotLoaded(Exception):
    """A message reached a module whose code did not load."""
