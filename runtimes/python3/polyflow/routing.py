"""Where a module's output goes: one send function per output port.

Local targets (modules of this instance) get the Python value put in their
inbox, no JSON; the second and later local targets get their own deep copy.
Everything else is one ``D<route> <json>`` frame to the host.

For the debugger the host can ask for every message to go through it
(``mode`` frames): each port then sends ``D<all> <json>`` only. Both sets
of send functions are built at configure; switching installs the other set,
so a send costs the same in either mode.
"""

from .frame_writer import LogLevel
from .payloads import copy_payload


class Routes:
    """The send functions of every hosted module, direct and via the host.
    ``use(via_host)`` installs one set in each module's ctx and
    ``send_result``."""

    def __init__(self, modules, direct, via_host):
        self._modules = modules
        self._tables = {False: direct, True: via_host}  # via_host -> {module id: {port: send}}

    def use(self, via_host):
        table = self._tables[via_host]
        for module in self._modules.values():
            senders = table[module.id]
            module.ctx._senders = senders
            module.send_result = senders[module.outputs[0]] if module.outputs else _no_output(module.id)


def install_routes(routes, modules, scheduler, writer, via_host_mode=False, frame="configure"):
    """Build both sets of senders from ``routes`` (RouteSpec values, from
    ``frame``) and install the one of the mode; returns the Routes. Ports
    without a route drop their messages (logged once here). A route
    without an ``all`` id keeps its direct sender via the host (local
    targets only, as the lenient fallback)."""
    direct = {module_id: {} for module_id in modules}
    via_host = {module_id: {} for module_id in modules}
    for route in routes:
        targets = [(modules[module_id], port) for module_id, port in route.local]
        sender = make_sender(targets, route.remote, scheduler.enqueue, writer)
        direct[route.module][route.port] = sender
        via_host[route.module][route.port] = sender if route.all is None else writer.data_sender(route.all)
    for module in modules.values():
        for port in module.outputs:
            if port not in direct[module.id]:
                writer.log(None, LogLevel.WARN,
                           f"{frame} has no route for {module.id}.{port}: its messages are dropped")
                direct[module.id][port] = via_host[module.id][port] = _drop
    installed = Routes(modules, direct, via_host)
    installed.use(via_host_mode)
    return installed


def _no_output(module_id):
    def refuse(payload):
        raise ValueError(f"module '{module_id}' returned a value but has no output port")

    return refuse


def _drop(payload):
    pass


def make_sender(targets, remote, enqueue, writer):
    """``enqueue(module, port, value)`` delivers locally; ``remote`` is the
    route id for the host or None."""
    if remote is None:
        if not targets:
            return _drop
        if len(targets) == 1:
            (module, port), = targets

            def send_local(payload):
                enqueue(module, port, payload)

            return send_local
        return _fan_out(targets, enqueue)

    send_remote = writer.data_sender(remote)
    if not targets:
        return send_remote
    fan_out = _fan_out(targets, enqueue)

    def send_both(payload):
        send_remote(payload)
        fan_out(payload)

    return send_both


def _fan_out(targets, enqueue):
    (first, first_port), rest = targets[0], targets[1:]

    def send_all(payload):
        enqueue(first, first_port, payload)
        for module, port in rest:
            enqueue(module, port, copy_payload(payload))

    return send_all
