"""Payload values: JSON text in and out, and copies for local fan-out.

Built on the json module's C accelerators, prepared once (json.dumps and
json.loads rebuild them on every call, which costs more than the work).
"""

import copy
import json
import json.decoder
import json.encoder
import json.scanner

_NOT_JSON = "is not JSON serializable"


def _refuse(value):
    raise TypeError(f"Object of type {type(value).__name__} {_NOT_JSON}")


def _make_encode():
    c_make_encoder = json.encoder.c_make_encoder
    if c_make_encoder is None:  # interpreter without the C accelerator
        return json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    # markers=None: no cycle bookkeeping; a cyclic value ends in RecursionError.
    iterencode = c_make_encoder(
        None, _refuse, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False
    )
    join = "".join

    def encode(value):
        """Compact, ASCII-only JSON text; raises TypeError/ValueError for a
        value that is not JSON (NaN and infinities included)."""
        return join(iterencode(value, 0))

    return encode


encode = _make_encode()

_scan_once = json.scanner.make_scanner(json.decoder.JSONDecoder())
_loads = json.loads


def decode(data):
    """Parse one JSON value from ``data`` (UTF-8 bytes, or str). Raises
    ValueError (UnicodeDecodeError, JSONDecodeError) or RecursionError."""
    text = data.decode() if type(data) is bytes else data
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        return _loads(text)  # leading whitespace, or the proper error message
    if end != len(text):
        return _loads(text)  # trailing whitespace, or "Extra data"
    return value


def encode_lenient(value):
    """JSON text for reports (errors, logs): never raises; what is not JSON
    becomes its repr."""
    try:
        return json.dumps(value, separators=(",", ":"), default=repr)
    except (TypeError, ValueError, RecursionError):
        return json.dumps(repr(value))


_SHARED = frozenset((str, int, float, bool, type(None)))
_deepcopy = copy.deepcopy


def copy_payload(value):
    """A deep copy for the second and later local targets of a fan-out.
    Plain JSON shapes are copied by hand (several times faster than
    copy.deepcopy or a JSON round trip); anything else by copy.deepcopy."""
    kind = type(value)
    if kind is dict:
        return {key: copy_payload(item) for key, item in value.items()}
    if kind is list:
        return [copy_payload(item) for item in value]
    if kind in _SHARED:
        return value
    return _deepcopy(value)
