"""Where a module's output goes: one send function per output port.

Local targets (modules of this instance) get the Python value, no JSON,
gathered in an outbox per target and handed over in batches
(``Scheduler.local_sender``, ``hand_over``). The second and later local
targets get their own deep copy, taken before the first target can run (it
may change the value in place). Everything else is one ``D<route> <json>``
frame to the host, encoded before any local target runs.

For the debugger the host can ask for every message to go through it
(``mode`` frames): each port then sends ``D<all> <json>`` only. Both sets
of send functions are built at configure; switching installs the other set,
so a send costs the same in either mode.
"""

from .frame_writer import LogLevel
from .payloads import copy_payload
from .scheduler import Outbox


class Routes:
    """The send functions of every hosted module, direct and via the host.
    ``use(via_host)`` installs one set in each module's ctx and
    ``send_result``."""

    def __init__(self, modules, direct, via_host, gatherers):
        self._modules = modules
        self._tables = {False: direct, True: via_host}  # via_host -> {module id: {port: send}}
        self._gatherers = gatherers  # send function of a lone local target -> its outbox's append

    def use(self, via_host):
        table = self._tables[via_host]
        for module in self._modules.values():
            senders = table[module.id]
            module.ctx._senders = senders
            send_result = senders[module.outputs[0]] if module.outputs else _no_output(module.id)
            # A turn hands its outboxes over when it ends, so return values
            # (at most one per message of the turn) need no check per value.
            module.send_result = self._gatherers.get(send_result, send_result)


def install_routes(routes, modules, scheduler, writer, via_host_mode=False, frame="configure"):
    """Build both sets of senders from ``routes`` (RouteSpec values, from
    ``frame``) and install the one of the mode; returns the Routes. Ports
    without a route drop their messages (logged once here). A route
    without an ``all`` id keeps its direct sender via the host (local
    targets only, as the lenient fallback). Each module gets its
    ``outboxes``: one per local target (module and input port), shared by
    its routes."""
    for module in modules.values():
        module.outboxes = []
    outboxes = {}  # (sender, target, input port) -> Outbox
    route_targets = []
    for route in routes:
        source = modules[route.module]
        targets = []
        for module_id, port in route.local:
            key = (source.id, module_id, port)
            if key not in outboxes:
                outboxes[key] = Outbox(modules[module_id], port)
                source.outboxes.append(outboxes[key])
            targets.append(outboxes[key])
        route_targets.append(targets)
    for module in modules.values():
        # Two input ports of one target: each message at once, in order.
        targets = [outbox.module for outbox in module.outboxes]
        for outbox in module.outboxes:
            if targets.count(outbox.module) > 1:
                outbox.limit = 1
    direct = {module_id: {} for module_id in modules}
    via_host = {module_id: {} for module_id in modules}
    gatherers = {}
    for route, targets in zip(routes, route_targets):
        sender = make_sender([scheduler.local_sender(outbox) for outbox in targets], route.remote, writer)
        if route.remote is None and len(targets) == 1 and targets[0].limit > 1:
            gatherers[sender] = targets[0].payloads.append
        direct[route.module][route.port] = sender
        via_host[route.module][route.port] = sender if route.all is None else writer.data_sender(route.all)
    for module in modules.values():
        for port in module.outputs:
            if port not in direct[module.id]:
                writer.log(None, LogLevel.WARN,
                           f"{frame} has no route for {module.id}.{port}: its messages are dropped")
                direct[module.id][port] = via_host[module.id][port] = _drop
    installed = Routes(modules, direct, via_host, gatherers)
    installed.use(via_host_mode)
    return installed


def _no_output(module_id):
    def refuse(payload):
        raise ValueError(f"module '{module_id}' returned a value but has no output port")

    return refuse


def _drop(payload):
    pass


def make_sender(targets, remote, writer):
    """``targets``: a send function per local target (``local_sender``);
    ``remote`` is the route id for the host or None."""
    if remote is None:
        if not targets:
            return _drop
        if len(targets) == 1:
            return targets[0]  # the target's own function: no extra call per send
        return _fan_out(targets)

    send_remote = writer.data_sender(remote)
    if not targets:
        return send_remote
    fan_out = targets[0] if len(targets) == 1 else _fan_out(targets)

    def send_both(payload):
        send_remote(payload)
        fan_out(payload)

    return send_both


def _fan_out(targets):
    first, rest = targets[0], targets[1:]

    def send_all(payload):
        copies = [copy_payload(payload) for _ in rest]
        first(payload)
        for send, copy in zip(rest, copies):
            send(copy)

    return send_all
