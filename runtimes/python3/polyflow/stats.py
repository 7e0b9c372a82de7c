"""The ``stats`` frame (per-module counters, and the state of the modules
that ran since the last one: for display) and the ``commit`` frame (the
same for the modules whose counters or state changed since the last
commit, written just before the ack it goes with: for crash recovery)."""

import json
import re

from .error_text import describe
from .frame_writer import LogLevel
from .payloads import encode

_quote = json.encoder.encode_basestring_ascii  # a module id as JSON text, without json.dumps's overhead


def stats_line(modules, writer, all_states=False):
    """The frame text for ``modules`` (ModuleRecord values, in order).
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


def commit_line(modules, writer, every=False):
    """The ``commit`` frame text for the modules of ``modules`` whose
    ``unsaved`` flag is set (all with ``every``), or None when there are
    none. Clears the flags. A state that cannot go in is left out (the host
    keeps the module's last committed state) and logged once until it can
    go in again."""
    entries = []
    state_budget = writer.max_frame_bytes // 2
    for module in modules:
        if not (every or module.unsaved):
            continue
        module.unsaved = False
        state = _encode_state(module, writer, state_budget, "commit", quiet=module.bad_state)
        module.bad_state = state is None
        if state is None:
            entries.append('%s:{"in":%d,"out":%d,"errors":%d}' % (
                _quote(module.id), module.in_count, module.out_count, module.error_count))
        else:
            state_budget -= len(state)
            entries.append('%s:{"in":%d,"out":%d,"errors":%d,"state":%s}' % (
                _quote(module.id), module.in_count, module.out_count, module.error_count, state))
    if not entries:
        return None
    return '{"t":"commit","modules":{%s}}\n' % ",".join(entries)


def _encode_state(module, writer, budget, frame="stats", quiet=False):
    try:
        text = encode(module.ctx.state)
    except (TypeError, ValueError, RecursionError) as error:
        if not quiet:
            writer.log(module.id, LogLevel.ERROR, f"ctx.state is not JSON, left out of {frame}: {describe(error)}")
        return None
    if len(text) > budget:
        if not quiet:
            writer.log(module.id, LogLevel.ERROR,
                       f"ctx.state is {len(text)} bytes as JSON, too large for {frame}: left out")
        return None
    if nests_deeper(text, MAX_STATE_DEPTH):
        if not quiet:
            writer.log(module.id, LogLevel.ERROR,
                       f"ctx.state nests deeper than {MAX_STATE_DEPTH} levels, left out of {frame}: flatten it")
        return None
    return text


# The dispatcher takes a user's value (a state) nested at most this deep
# (docs/security.md, "Deep JSON"); a deeper one is left out here, as one
# that JSON cannot carry, so that it never costs its runner its connection.
MAX_STATE_DEPTH = 512

_NESTING_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def nests_deeper(text, limit):
    """Whether JSON ``text`` nests deeper than ``limit``; brackets inside strings do not count."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _NESTING_TOKENS.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
            if depth > limit:
                return True
        elif token == "]" or token == "}":
            depth -= 1
    return False
