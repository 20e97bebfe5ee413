"""Run inside the test guest (tests/vm/test_guest.py): echoes over AF_VSOCK loopback
and AF_TIPC, the errors of connecting to nobody, and a file written into the
per-run directory. Prints one JSON object."""

from __future__ import annotations

import errno
import json
import os
import platform
import socket
import sys
import threading
from pathlib import Path
from typing import Any

VMADDR_CID_LOCAL = 1  # socket.VMADDR_CID_LOCAL is missing before Python 3.13
VSOCK_PORT = 5005
TIPC_TYPE, TIPC_INSTANCE = 18888, 17
PAYLOAD = b"unsock-vm-" + bytes(range(256)) * 64


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def echo(server: socket.socket, connect_to: tuple[Any, ...], family: int) -> dict[str, Any]:
    """Serve one echo connection on server from a thread; connect to it and check the echo."""
    server.listen(1)
    seen: dict[str, Any] = {}

    def serve() -> None:
        conn, peer = server.accept()
        with conn:
            seen["peer"] = list(peer)
            data = recv_exactly(conn, len(PAYLOAD))
            conn.sendall(data)
            # TIPC: shutdown(SHUT_WR) is EINVAL, and close() alone resets the peer
            conn.shutdown(socket.SHUT_RDWR)

    thread = threading.Thread(target=serve)
    thread.start()
    with socket.socket(family, socket.SOCK_STREAM) as client:
        client.settimeout(10)
        client.connect(connect_to)
        client.sendall(PAYLOAD)
        back = recv_exactly(client, len(PAYLOAD))
    thread.join(10)
    return {"ok": back == PAYLOAD, "bytes": len(back), "peer": seen.get("peer")}


def connect_errno(family: int, address: tuple[Any, ...]) -> str:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        try:
            s.connect(address)
        except OSError as e:
            return errno.errorcode.get(e.errno or 0, str(e))
    return "connected"


def main() -> int:
    out: dict[str, Any] = {"kernel": platform.release(), "python": sys.executable}
    with socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM) as server:
        server.bind((socket.VMADDR_CID_ANY, VSOCK_PORT))
        out["vsock"] = echo(server, (VMADDR_CID_LOCAL, VSOCK_PORT), socket.AF_VSOCK)
    out["vsock_nobody"] = connect_errno(socket.AF_VSOCK, (VMADDR_CID_LOCAL, VSOCK_PORT + 1))
    with socket.socket(socket.AF_TIPC, socket.SOCK_STREAM) as server:
        server.bind((socket.TIPC_ADDR_NAME, TIPC_TYPE, TIPC_INSTANCE, 0, socket.TIPC_CLUSTER_SCOPE))
        out["tipc"] = echo(server, (socket.TIPC_ADDR_NAME, TIPC_TYPE, TIPC_INSTANCE, 0), socket.AF_TIPC)
    out["tipc_nobody"] = connect_errno(socket.AF_TIPC, (socket.TIPC_ADDR_NAME, TIPC_TYPE + 1, TIPC_INSTANCE, 0))
    out["env"] = os.environ.get("UNSOCK_VM_PROBE")
    out["cwd"] = os.getcwd()
    Path(os.environ["UNSOCK_VM_DIR"], "from-guest.txt").write_text("written in the guest\n")
    print(json.dumps(out))
    print("guest stderr works", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
