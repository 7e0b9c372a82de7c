"""What a module's handler sees: ``msg`` and ``ctx`` (the module API)."""

from .frame_writer import LogLevel


class Message:
    """One input message: ``msg.port`` (input port name), ``msg.payload``
    (any JSON value). The scheduler reuses a module's message for its next
    one when the handler did not keep it (scheduler.py)."""

    __slots__ = ("port", "payload")

    def __init__(self, port, payload):
        self.port = port
        self.payload = payload

    def __repr__(self):
        return f"Message(port={self.port!r}, payload={self.payload!r})"


class Context:
    """``ctx``: ``state`` (kept across messages; assignable), ``config``,
    ``flow_id``, ``module_id``, ``send(port, payload)``, ``log(*args)``."""

    __slots__ = ("state", "config", "flow_id", "module_id", "_module", "_senders", "_log")

    def __init__(self, module, flow_id, config, state, log):
        self.state = state
        self.config = config
        self.flow_id = flow_id
        self.module_id = module.id
        self._module = module
        self._senders = {}  # output port -> function(payload), set by router.py
        self._log = log

    def send(self, port, payload):
        """Send ``payload`` on output ``port``. A payload for another instance
        is encoded as JSON here, so a value that is not JSON raises here."""
        try:
            sender = self._senders[port]  # cheaper than .get on this hot path
        except KeyError:
            raise ValueError(self._no_port(port)) from None
        sender(payload)
        self._module.out_count += 1

    def log(self, *args):
        """Log a line attributed to this module, like print (level info)."""
        self._log(self.module_id, LogLevel.INFO, " ".join(map(str, args)))

    def _no_port(self, port):
        outputs = ", ".join(self._module.outputs)
        return f"module '{self.module_id}' has no output port '{port}' (outputs: {outputs})"

    def __repr__(self):
        return f"<ctx of module '{self.module_id}' in flow '{self.flow_id}'>"
