"""What a module's handler sees: ``msg`` and ``ctx`` (the module API)."""

from .frame_writer import LogLevel


class Message:
    """One input message: ``msg.port`` (input port name), ``msg.payload``
    (any JSON value). ``_root`` is the incoming data frame it descends from
    (for acks)."""

    __slots__ = ("port", "payload", "_root")

    def __init__(self, port, payload, root):
        self.port = port
        self.payload = payload
        self._root = root

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
        self._senders = {}  # output port -> function(payload), set by routing
        self._log = log

    def send(self, port, payload):
        """Send ``payload`` on output ``port``. A payload for another instance
        is encoded as JSON here, so a value that is not JSON raises here."""
        sender = self._senders.get(port)
        if sender is None:
            raise ValueError(self._no_port(port))
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
