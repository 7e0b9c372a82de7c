"""Where a module's output goes: one send function per output port.

Local targets (modules of this instance) get the Python value put in their
inbox, no JSON; the second and later local targets get their own deep copy.
Everything else is one ``D<route> <json>`` frame to the host.
"""

from .frame_writer import LogLevel
from .payloads import copy_payload


def install_routes(configuration, modules, scheduler, writer):
    """Give every hosted module's ctx a sender per output port, and the
    module its ``send_result``. Ports without a route in ``configure`` drop
    their messages (logged once here)."""
    for route in configuration.routes:
        targets = [(modules[module_id], port) for module_id, port in route.local]
        sender = make_sender(targets, route.remote, scheduler.enqueue, writer)
        modules[route.module].ctx._senders[route.port] = sender
    for module in modules.values():
        senders = module.ctx._senders
        for port in module.outputs:
            if port not in senders:
                writer.log(None, LogLevel.WARN,
                           f"configure has no route for {module.id}.{port}: its messages are dropped")
                senders[port] = _drop
        module.send_result = senders[module.outputs[0]] if module.outputs else _no_output(module.id)


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
