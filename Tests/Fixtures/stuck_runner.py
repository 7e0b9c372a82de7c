#!/usr/bin/env python3
"""A runner that joins, takes its modules, then stops reading: for the test
that the dispatcher cuts it off before it holds too much for it.

    stuck_runner.py PORT NAME TAG

Joins ws://127.0.0.1:PORT/runners as NAME with one tag, answers every
command with ok up to and including the first `deploy`, prints
{"deployed": true}, then never reads again (the kernel's buffers fill and
the dispatcher's writes to it stall) until it is killed. Standard library
only; a minimal WebSocket client (RFC 6455: masked frames from the client).
"""
import base64
import json
import os
import signal
import socket
import struct
import sys

port, name, tag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
sock = socket.create_connection(("127.0.0.1", port))
# A small receive buffer, so that not reading stalls the sender soon.
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
key = base64.b64encode(os.urandom(16)).decode()
sock.sendall((f"GET /runners HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
              f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
buffer = b""
while b"\r\n\r\n" not in buffer:
    chunk = sock.recv(4096)
    if not chunk:
        sys.exit("the dispatcher closed during the upgrade")
    buffer += chunk
head, buffer = buffer.split(b"\r\n\r\n", 1)
if b" 101 " not in head.split(b"\r\n")[0]:
    sys.exit(f"upgrade refused: {head.decode(errors='replace')}")


def send_text(text):
    data = text.encode()
    mask = os.urandom(4)
    if len(data) < 126:
        header = struct.pack("!BB", 0x81, 0x80 | len(data))
    elif len(data) < 65536:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, len(data))
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, len(data))
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def read_exact(n):
    global buffer
    while len(buffer) < n:
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit("the dispatcher closed the connection")
        buffer += chunk
    out, buffer = buffer[:n], buffer[n:]
    return out


def read_frame():
    first, second = read_exact(2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", read_exact(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", read_exact(8))[0]
    return first & 0x0F, read_exact(length)


send_text(json.dumps({"t": "hello", "protocol": 1, "name": name, "instance": "5555555555555555",
                      "runtimes": [{"id": "python3", "name": "CPython", "version": "3.11"}],
                      "tags": [tag], "modules": []}))
while True:
    opcode, payload = read_frame()
    if opcode != 1:
        continue
    message = json.loads(payload)
    if message.get("t") == "refused":
        sys.exit(f"refused: {message}")
    if message.get("t") == "command":
        send_text(json.dumps({"t": "reply", "id": message["id"], "reply": {"kind": "ok"}}))
        if message["command"].get("op") == "deploy":
            break
print(json.dumps({"deployed": True}), flush=True)
signal.pause()
