"""A small stand-in for Firecracker's vsock multiplexer, host side (firecracker
docs/vsock.md, "host-initiated connections"): a unix stream server at LISTEN;
a client sends ``CONNECT <port>\\n``, the multiplexer connects to the guest's
port and answers ``OK <host-side port>\\n``, then relays bytes both ways until
both sides are done. Here "the guest's port" is a unix socket: the one given
with ``--map PORT=PATH``, else ``LISTEN_PORT`` (Firecracker's naming of
guest-initiated sockets). A guest port nobody listens on closes the client's
connection, as Firecracker does.

Misbehaviour for tests, by --mode:
  ok        the protocol as above (default)
  refuse    close right after reading the CONNECT line
  reply     answer the --reply text (escapes such as \\n allowed) and keep
            the connection open without relaying until the client closes
  stall     never answer; keep the connection open until the client closes
  coalesce  as ok, but wait up to --coalesce-wait seconds for the backend's
            first bytes and send them in the same write as the OK line

Run as a separate process: python3 firecracker_mux.py LISTEN [options].
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import re
import signal
import socket
import sys
import threading

CONNECT_RE = re.compile(rb"CONNECT ([0-9]{1,10})\n")
MAX_LINE = 64
host_ports = itertools.count(1 << 30)  # Firecracker's first host-side local port
ports_lock = threading.Lock()


def log(msg: str) -> None:
    print(f"firecracker_mux: {msg}", file=sys.stderr, flush=True)


def read_line(conn: socket.socket) -> bytes | None:
    line = b""
    while not line.endswith(b"\n") and len(line) < MAX_LINE:
        b = conn.recv(1)
        if not b:
            return None
        line += b
    return line


def pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


def wait_closed(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while conn.recv(4096):
            pass


def serve(conn: socket.socket, args: argparse.Namespace) -> None:
    with conn:
        line = read_line(conn)
        m = CONNECT_RE.fullmatch(line or b"")
        if m is None:
            log(f"bad request {line!r}: closing")
            return
        port = int(m.group(1))
        log(f"CONNECT {port} ({args.mode})")
        if args.mode == "refuse":
            return
        if args.mode == "stall":
            wait_closed(conn)
            return
        if args.mode == "reply":
            conn.sendall(args.reply.encode().decode("unicode_escape").encode("latin-1"))
            wait_closed(conn)
            return
        path = args.map.get(port, f"{args.listen}_{port}")
        backend = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            backend.connect(path)
        except OSError as e:
            log(f"guest port {port} ({path}): {e}: closing")
            backend.close()
            return
        with backend:
            with ports_lock:
                ok = f"OK {next(host_ports)}\n".encode()
            if args.mode == "coalesce":
                backend.settimeout(args.coalesce_wait)
                with contextlib.suppress(TimeoutError):
                    ok += backend.recv(65536)
                backend.settimeout(None)
            conn.sendall(ok)
            back = threading.Thread(target=pump, args=(backend, conn), daemon=True)
            back.start()
            pump(conn, backend)
            back.join()


def parse_map(items: list[str]) -> dict[int, str]:
    out: dict[int, str] = {}
    for item in items:
        port, _, path = item.partition("=")
        out[int(port)] = path
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("listen")
    ap.add_argument("--map", action="append", default=[], help="PORT=PATH: the guest port's unix socket")
    ap.add_argument("--mode", choices=["ok", "refuse", "reply", "stall", "coalesce"], default="ok")
    ap.add_argument("--reply", default="NO\\n")
    ap.add_argument("--coalesce-wait", type=float, default=2.0)
    args = ap.parse_args()
    args.map = parse_map(args.map)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = f"{args.listen}.tmp{os.getpid()}"
    srv.bind(tmp)
    srv.listen(64)
    os.rename(tmp, args.listen)  # appears only once it listens
    log(f"listening on {args.listen}")
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, args), daemon=True).start()


if __name__ == "__main__":
    main()
