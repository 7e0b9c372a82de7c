"""Runs the modules' handlers: inboxes of batches, a run queue, local
hand-over, and the ack count.

Each module has a FIFO inbox and handles one message at a time. Messages
travel in *batches* (one input port, in order), so that the bookkeeping is
paid per batch, not per message: a *turn* runs a module's handler over the
messages of one batch in a plain loop. A loop drains the run queue of
modules with batches, at most QUANTUM messages per turn.

A local send only appends to the *outbox* of that target; the outbox is
handed over when ``limit`` (BATCH) messages are gathered and when the
sender's turn ends. Handing over runs the target's turn at once, nested in
the sender's, when that keeps the rules: the target's inbox is empty
(nothing older is waiting for it), it is not running (no re-entry, so a
cycle always goes through an inbox and never recurses), at most MAX_DEPTH
turns deep, and only inside ``run`` (not while modules load: a target may
not be loaded yet). Otherwise the batch is put in the target's inbox.
Nested turns keep a chain's messages few and short-lived (a producer's
outbox holds at most BATCH), as direct calls would, at a fraction of the
cost per message.

Every incoming data frame is a *root*; the messages it causes inside this
instance belong to it. A root is finished when it and all its local
descendants are handled; the ack count is the largest n such that roots
1..n are finished. ``_pending`` counts, per root, the frames and batches
not handled yet. Frames from the host for the same module and port join
one batch but keep their own roots: their turn hands over what each one
sent before the next one runs, so every batch from a hand-over belongs to
a single root. Nested turns finish within the turn that caused them and
are not counted. Root 0 (OUTSIDE) holds what init and on_swap send; acks
never wait for it.

An ack goes with a ``commit`` of the modules' states (docs/protocol.md,
"Commits"), so it is only sent at a *clean cut*: every root whose
processing began (``started``) is finished. Then the states hold exactly
the work of roots 1..n, the ones the host will not deliver again.
"""

import collections
import sys

from .context import Message
from .error_text import describe, user_stack
from .module_record import ModuleNotLoaded

# Messages one module handles before the next module in the run queue gets
# its turn.
QUANTUM = 256
# Local sends an outbox gathers before it is handed over in the middle of a
# turn (a handler sending many messages).
BATCH = 256
# Turns nested by hand-over at most (each adds 2 to 5 Python frames).
MAX_DEPTH = 16
# Root 0 holds messages sent outside any incoming message (from init); its
# count never drops to zero, and acks never cover it.
OUTSIDE = 0


class Batch:
    """Messages waiting for one input ``port`` of a module, in order;
    ``payloads[next:]`` are still to be handled. ``roots`` is None for a
    hand-over (all its messages belong to ``root``), or the root of each
    payload for frames from the host."""

    __slots__ = ("port", "root", "roots", "payloads", "next")

    def __init__(self, port, root, payloads, roots=None):
        self.port = port
        self.root = root
        self.roots = roots
        self.payloads = payloads
        self.next = 0


class Outbox:
    """The local sends of one module to one target (``module``, ``port``),
    gathered until ``limit`` are there or the sender's turn ends. ``limit``
    is 1 when the sender also sends to another port of the same module:
    batches are per port, and handing each message over at once keeps the
    order between the two."""

    __slots__ = ("module", "port", "payloads", "limit")

    def __init__(self, module, port):
        self.module = module
        self.port = port
        self.payloads = []  # cleared in place, never replaced: senders keep its append
        self.limit = BATCH


class _Holder:
    __slots__ = ("spare",)


def _unshared_refcount():
    """What ``getrefcount`` says, in ``_turn``'s code shape, for a spare
    message no one but its module holds (3 on CPython 3.11: the module's
    slot, the local name and the call's argument). A turn reuses the
    module's spare message for the next payload while the count is back to
    this after the handler (a new message per payload cost ~10% of the
    in-runtime chain); any other count (the handler kept ``msg``) means a
    new spare. test_scheduler checks that a kept message is never reused."""
    holder = _Holder()
    holder.spare = Message(None, None)
    msg = holder.spare
    return getrefcount(msg)


getrefcount = sys.getrefcount
_UNSHARED = _unshared_refcount()


class Scheduler:
    """``max_depth`` 0 turns nested turns off (every hand-over waits in an
    inbox), for tests of that path."""

    def __init__(self, writer, capture, max_depth=MAX_DEPTH):
        self._writer = writer
        self._capture = capture
        self._max_depth = max_depth
        self.nesting_left = 0  # turns that may still nest; 0 outside run
        self._run_queue = collections.deque()
        self._pending = {OUTSIDE: 1}  # root -> its frames and batches not handled yet
        self.current_root = OUTSIDE  # root of the running turn
        self.received = 0  # data frames received (the last root number)
        self._acked = 0
        # The highest root whose processing began: a cut at ack n is clean
        # (no work of a later root in any state) only when started <= n.
        self.started = 0
        self.changed = False  # something ran since the last stats

    @property
    def idle(self):
        return not self._run_queue

    @property
    def unfinished_roots(self):
        return len(self._pending) - 1

    def receive(self, module, port, payload):
        """A data frame from the host: a new root. It joins the module's
        last waiting batch when that is one of frames for the same port."""
        root = self.received + 1
        self.received = root
        self._pending[root] = 1
        inbox = module.inbox
        if inbox:
            last = inbox[-1]
            if last.roots is not None and last.port == port:
                last.payloads.append(payload)
                last.roots.append(root)
                return
        inbox.append(Batch(port, root, [payload], [root]))
        if not module.scheduled:
            module.scheduled = True
            self._run_queue.append(module)

    def receive_unreadable(self, module, port, text, error):
        """A data frame whose payload is not JSON: the module's error."""
        self.received += 1
        self.started = self.received
        module.in_count += 1
        module.error_count += 1
        module.ran = module.unsaved = True
        self.changed = True
        self._writer.error(module.id, port, text, f"payload is not JSON: {describe(error)}", None)

    def local_sender(self, outbox):
        """The send function of a local target: gathers in ``outbox``; hands
        over every ``outbox.limit`` messages."""
        payloads = outbox.payloads
        gather = payloads.append
        limit = outbox.limit
        hand_over = self.hand_over

        def send(payload):
            gather(payload)
            if len(payloads) >= limit:
                hand_over(outbox)

        return send

    def hand_over(self, outbox):
        """The gathered messages of ``outbox`` go to its target: a nested
        turn where allowed (see the module docstring), else its inbox."""
        payloads = outbox.payloads[:]
        outbox.payloads.clear()
        module = outbox.module
        left = self.nesting_left
        if left and not module.running and not module.inbox:
            self.nesting_left = left - 1
            try:
                self._turn(module, outbox.port, payloads, self.current_root)
            finally:
                self.nesting_left = left
        else:
            self._queue(module, Batch(outbox.port, self.current_root, payloads))

    def _queue(self, module, batch):
        """A batch from a hand-over waits in the inbox, counted under its root."""
        module.inbox.append(batch)
        pending = self._pending
        pending[batch.root] = pending.get(batch.root, 0) + 1
        if not module.scheduled:
            module.scheduled = True
            self._run_queue.append(module)

    def _turn(self, module, port, payloads, root, roots=None):
        """Handle ``payloads`` (for ``port``) one by one, then hand over
        what the module gathered. They belong to ``root``, or with
        ``roots`` (frames from the host) each to its own: then what each
        one sent is handed over, and its root counted as handled, before
        the next one runs. The hot loop: one spare message, counters added
        once per turn."""
        capture = self._capture
        caller, caller_root = capture.module_id, self.current_root
        capture.module_id = module.id
        self.current_root = root
        module.running = True
        module.in_count += len(payloads)
        module.ran = module.unsaved = True
        handler = module.handler
        ctx = module.ctx
        send_result = module.send_result
        per_root = roots is not None
        if per_root and roots[-1] > self.started:
            self.started = roots[-1]
        next_root = iter(roots).__next__ if per_root else None
        outboxes = module.outboxes
        pending = self._pending
        results = 0
        msg = module.spare
        try:
            for payload in payloads:
                if per_root:
                    root = self.current_root = next_root()
                msg.port = port  # again each time: the handler may have changed it
                msg.payload = payload
                try:
                    result = handler(msg, ctx)
                    if result is not None:
                        send_result(result)
                        results += 1
                except (Exception, SystemExit) as error:
                    self.report(module, port, payload, error)
                if getrefcount(msg) != _UNSHARED:
                    msg = module.spare = Message(None, None)  # the handler kept it
                if per_root:
                    for outbox in outboxes:
                        if outbox.payloads:
                            self.hand_over(outbox)
                    left = pending[root] - 1  # _done, inline: once per frame
                    if left:
                        pending[root] = left
                    else:
                        del pending[root]
            msg.payload = None
            module.out_count += results
            for outbox in outboxes:
                if outbox.payloads:
                    self.hand_over(outbox)
        finally:
            module.running = False
            capture.module_id = caller
            self.current_root = caller_root

    def run(self, budget):
        """Handle at most ``budget`` messages in turns of the run queue
        (nested turns not counted)."""
        run_queue = self._run_queue
        if not run_queue:
            return
        capture = self._capture
        self.changed = True
        self.nesting_left = self._max_depth
        try:
            while run_queue and budget > 0:
                module = run_queue.popleft()
                inbox = module.inbox
                batch = inbox[0]
                payloads, roots = batch.payloads, batch.roots
                start = batch.next
                end = min(len(payloads), start + QUANTUM, start + budget)
                budget -= end - start
                if start or end < len(payloads):  # a part of it this turn
                    payloads = payloads[start:end]
                    if roots is not None:
                        roots = roots[start:end]
                self._turn(module, batch.port, payloads, batch.root, roots)
                capture.leave()
                if end < len(batch.payloads):
                    batch.next = end
                else:
                    inbox.popleft()
                    if roots is None:  # frames from the host were counted one by one
                        self._done(batch.root)
                if inbox:
                    run_queue.append(module)
                else:
                    module.scheduled = False
        finally:
            self.nesting_left = 0

    def _done(self, root):
        pending = self._pending
        left = pending[root] - 1
        if left:
            pending[root] = left
        else:
            del pending[root]

    def forget(self, module):
        """A module removed by a swap: messages still in its inbox (none
        when the host made the instance idle) are dropped as handled."""
        if module.scheduled:
            self._run_queue.remove(module)
            module.scheduled = False
        for batch in module.inbox:
            for root in batch.roots[batch.next:] if batch.roots else [batch.root]:
                self._done(root)
        module.inbox.clear()
        self.changed = True

    def run_outside(self, module, function, *args):
        """Run user code of ``module`` that is not a message (its body,
        init, on_swap): captured output; what it sends belongs to root 0
        and waits in the targets' inboxes."""
        self._capture.enter(module.id)
        try:
            return function(*args)
        finally:
            self._capture.leave()
            for outbox in module.outboxes:
                if outbox.payloads:
                    self.hand_over(outbox)

    def committable(self):
        """The ack count when the instance is at a clean cut (every root
        whose processing began is finished, so the modules' states hold
        exactly the work of roots 1..n), else None: an ack then waits,
        because the state that goes with it would include work of a root
        the host will deliver again after a crash."""
        n = self.acked()
        if n < self.started or self._pending[OUTSIDE] != 1:
            return None  # also while what init or on_swap sent is not handled
        return n

    def acked(self):
        """The ack count now (cumulative, never decreasing)."""
        pending = self._pending
        if len(pending) == 1:
            self._acked = self.received
            return self._acked
        n = self._acked
        received = self.received
        while n < received and (n + 1) not in pending:
            n += 1
        self._acked = n
        return n

    def report(self, module, port, payload, error):
        """``error`` raised by ``module``'s code: an ``error`` frame, counted."""
        module.error_count += 1
        module.unsaved = True
        if isinstance(error, ModuleNotLoaded):
            message, stack = str(error), None
        else:
            message, stack = describe(error), user_stack(error)
        self._writer.error(module.id, port, payload, message, stack)
