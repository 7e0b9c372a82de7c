"""The Polyflow Python 3 runtime: hosts the Python modules of one flow.

Started by the runner host as ``polyflow_runtime.py --in FIFO --out FIFO``;
the wire protocol is docs/protocol.md at the repository root.
"""

PROTOCOL_VERSION = 1
