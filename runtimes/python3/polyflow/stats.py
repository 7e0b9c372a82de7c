"""The ``stats`` frame: per-module counters, and the state of the modules
that ran since the last one."""

import json

from .error_text import describe
from .frame_writer import LogLevel
from .payloads import encode


def stats_line(modules, writer, all_states=False):
    """The frame text for ``modules`` (HostedModule values, in order).
    Clears each module's ``ran`` flag. A state that is not JSON, or too large
    for a frame, is left out and reported as an error log of its module."""
    entries = []
    state_budget = writer.max_frame_bytes // 2
    for module in modules:
        entry = '"in":%d,"out":%d,"errors":%d' % (module.in_count, module.out_count, module.error_count)
        if all_states or module.ran:
            state = _encode_state(module, writer, state_budget)
            if state is not None:
                entry += ',"state":' + state
                state_budget -= len(state)
        module.ran = False
        entries.append("%s:{%s}" % (json.dumps(module.id), entry))
    return '{"t":"stats","modules":{%s}}\n' % ",".join(entries)


def _encode_state(module, writer, budget):
    try:
        text = encode(module.ctx.state)
    except (TypeError, ValueError, RecursionError) as error:
        writer.log(module.id, LogLevel.ERROR, f"ctx.state is not JSON, left out of stats: {describe(error)}")
        return None
    if len(text) > budget:
        writer.log(module.id, LogLevel.ERROR,
                   f"ctx.state is {len(text)} bytes as JSON, too large for stats: left out")
        return None
    return text
