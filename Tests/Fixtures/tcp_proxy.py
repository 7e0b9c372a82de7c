#!/usr/bin/env python3
"""A TCP proxy for partition tests: forwards 127.0.0.1:<printed port> to the
target port. SIGUSR1: hold silent (keep every connection open, forward
nothing: a partition, not a death). SIGUSR2: heal (close what was open,
forward new connections again). SIGHUP: pause (read nothing more: what is
sent waits in the kernel, connections stay open); SIGWINCH: go on, nothing
lost (a partition that heals before either side gives up). SIGTERM: exit.
Standard library only."""
import json
import signal
import socket
import sys
import threading

target = ("127.0.0.1", int(sys.argv[1]))
silent = threading.Event()
flowing = threading.Event()
flowing.set()
lock = threading.Lock()
open_sockets = []


def pump(src, dst):
    try:
        while True:
            flowing.wait()
            data = src.recv(65536)
            if not data:
                break
            if not silent.is_set():
                dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def heal(*_):
    with lock:
        for s in open_sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        open_sockets.clear()
    silent.clear()


signal.signal(signal.SIGUSR1, lambda *_: silent.set())
signal.signal(signal.SIGUSR2, heal)
signal.signal(signal.SIGHUP, lambda *_: flowing.clear())
signal.signal(signal.SIGWINCH, lambda *_: flowing.set())
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
while True:
    client, _ = listener.accept()
    try:
        upstream = socket.create_connection(target)
    except OSError:
        client.close()
        continue
    with lock:
        open_sockets.extend([client, upstream])
    threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
