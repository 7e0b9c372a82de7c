"""Runs the modules' handlers: inboxes, a run queue, and the ack count.

Each module has a FIFO inbox and handles one message at a time. A local
send only appends to the target's inbox; a loop drains the run queue of
modules with messages, so cycles never recurse. Every incoming data frame
is a *root*; the messages it causes inside this instance belong to it. A
root is finished when it and all its local descendants are handled; the
ack count is the largest n such that roots 1..n are finished.
"""

import collections

from .context import Message
from .error_text import describe, user_stack
from .hosted_module import ModuleNotLoaded

# Messages one module handles before the next module in the run queue gets
# its turn.
QUANTUM = 256
# Root 0 holds messages sent outside any incoming message (from init); its
# count never drops to zero, and acks never cover it.
OUTSIDE = 0


class Scheduler:
    def __init__(self, writer, capture):
        self._writer = writer
        self._capture = capture
        self._run_queue = collections.deque()
        self._pending = {OUTSIDE: 1}  # root -> messages not yet handled
        self.current_root = OUTSIDE
        self.received = 0  # data frames received (the last root number)
        self._acked = 0
        self.changed = False  # something ran since the last stats

    @property
    def idle(self):
        return not self._run_queue

    @property
    def unfinished_roots(self):
        return len(self._pending) - 1

    def receive(self, module, port, payload):
        """A data frame from the host: a new root."""
        root = self.received + 1
        self.received = root
        self._pending[root] = 1
        module.inbox.append(Message(port, payload, root))
        if not module.scheduled:
            module.scheduled = True
            self._run_queue.append(module)

    def receive_unreadable(self, module, port, text, error):
        """A data frame whose payload is not JSON: the module's error."""
        self.received += 1
        module.in_count += 1
        module.error_count += 1
        self.changed = True
        self._writer.error(module.id, port, text, f"payload is not JSON: {describe(error)}", None)

    def enqueue(self, module, port, payload):
        """A local send from the message being handled."""
        root = self.current_root
        module.inbox.append(Message(port, payload, root))
        self._pending[root] += 1
        if not module.scheduled:
            module.scheduled = True
            self._run_queue.append(module)

    def run(self, budget):
        """Handle at most ``budget`` messages, module by module."""
        run_queue = self._run_queue
        if not run_queue:
            return
        pending = self._pending
        capture = self._capture
        self.changed = True
        while run_queue and budget > 0:
            module = run_queue.popleft()
            inbox = module.inbox
            count = min(len(inbox), QUANTUM, budget)
            budget -= count
            module.in_count += count
            module.ran = True
            handler = module.handler
            send_result = module.send_result
            ctx = module.ctx
            capture.enter(module.id)
            for _ in range(count):
                msg = inbox.popleft()
                root = msg._root
                self.current_root = root
                try:
                    result = handler(msg, ctx)
                    if result is not None:
                        send_result(result)
                        module.out_count += 1
                except (Exception, SystemExit) as error:
                    self.report(module, msg.port, msg.payload, error)
                left = pending[root] - 1
                if left:
                    pending[root] = left
                else:
                    del pending[root]
            capture.leave()
            if inbox:
                run_queue.append(module)
            else:
                module.scheduled = False
        self.current_root = OUTSIDE

    def forget(self, module):
        """A module removed by a swap: messages still in its inbox (none
        when the host made the instance idle) are dropped as handled."""
        if module.scheduled:
            self._run_queue.remove(module)
            module.scheduled = False
        pending = self._pending
        for msg in module.inbox:
            pending[msg._root] -= 1
            if not pending[msg._root]:
                del pending[msg._root]
        module.inbox.clear()
        self.changed = True

    def run_outside(self, module, function, *args):
        """Run user code of ``module`` that is not a message (its body,
        init): captured output, sends belong to root 0."""
        self._capture.enter(module.id)
        try:
            return function(*args)
        finally:
            self._capture.leave()

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
        if isinstance(error, ModuleNotLoaded):
            message, stack = str(error), None
        else:
            message, stack = describe(error), user_stack(error)
        self._writer.error(module.id, port, payload, message, stack)
