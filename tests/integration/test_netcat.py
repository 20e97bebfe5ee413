"""OpenBSD netcat under the shim: listener and client both converted, data
both ways and EOF (-N shuts the write side down), a converted client against a
native unix server and the other way round, -k serving clients in a row, -z,
and a port 0 listener."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers.output import Drain, OutputReader
from tests.helpers.proc import Unsock, native_unix_server
from tests.helpers.programs import assert_no_tcp_listener, require_program

pytestmark = pytest.mark.program("nc")


def nc() -> str:
    return require_program("nc")


def payload(tag: bytes, size: int) -> bytes:
    return tag + b":" + os.urandom(size).hex().encode() + b"\n"


def test_listener_and_client_both_ways_with_eof(unsock: Unsock, tmp_path: Path) -> None:
    port = 18201
    to_client = payload(b"server", 512 * 1024)
    to_server = payload(b"client", 512 * 1024)
    (tmp_path / "server-in").write_bytes(to_client)
    with open(tmp_path / "server-in", "rb") as server_in:
        server = unsock.start([nc(), "-N", "-l", "127.0.0.1", str(port)], stdin=server_in.fileno(), wait_port=port)
    server_out = Drain(server.stdout)
    assert_no_tcp_listener(port)

    client = unsock.run([nc(), "-N", "127.0.0.1", str(port)], input=to_server, timeout=60)
    assert client.stdout == to_client, "client did not receive the server's data intact"

    assert server.wait(30) == 0
    assert server_out.result() == to_server, "server did not receive the client's data intact"
    assert not unsock.path(port).exists(), "nc -l exited but its socket file is still there"


def test_eof_reaches_each_side(unsock: Unsock) -> None:
    """The client's EOF reaches the listener: after a conversation, closing
    the client's input makes it close its socket, which must end the listener
    (a leaked descriptor of the converted socket would keep it waiting)."""
    port = 18202
    server = unsock.start([nc(), "-N", "-l", "127.0.0.1", str(port)], stdin=subprocess.PIPE, wait_port=port)
    client = unsock.start([nc(), "127.0.0.1", str(port)], stdin=subprocess.PIPE)
    assert server.stdin is not None and client.stdin is not None
    client.stdin.write(b"hello\n")
    client.stdin.flush()
    OutputReader(server.stdout).wait_for(r"hello\n", timeout=15)
    server.stdin.write(b"bye\n")
    server.stdin.close()  # -N: the listener shuts its write side down
    OutputReader(client.stdout).wait_for(r"bye\n", timeout=15)
    assert server.poll() is None
    # openbsd nc (also on real TCP) keeps running until its stdin ends, then closes
    client.stdin.close()
    assert client.wait(15) == 0
    assert server.wait(15) == 0, "the listener did not see the client's EOF"


def test_client_to_native_unix_server(unsock: Unsock) -> None:
    """nc under the shim connects to 127.0.0.1:PORT and reaches a plain
    AF_UNIX server listening at DIR/PORT.sock."""
    port = 18203
    srv, t, received = native_unix_server(
        unsock.path(port), lambda data: b"native reply for " + str(len(data)).encode() + b"\n", backlog=1
    )
    try:
        to_server = payload(b"client", 256 * 1024)
        out = unsock.run([nc(), "-N", "127.0.0.1", str(port)], input=to_server, timeout=60)
        t.join(20)
        assert received == [to_server]
        assert out.stdout == b"native reply for " + str(len(to_server)).encode() + b"\n"
    finally:
        srv.close()


def test_listener_with_native_unix_client(unsock: Unsock) -> None:
    port = 18204
    server = unsock.start([nc(), "-N", "-l", "127.0.0.1", str(port)], stdin=subprocess.PIPE, wait_port=port)
    # nc's input first, and the client's only once nc is done with it: nc quits when the
    # network side ends before it has read its input (so it does without unsock too).
    assert server.stdin is not None
    server.stdin.write(b"nc hello\n")
    server.stdin.close()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(20)
        c.connect(str(unsock.path(port)))
        data = b""
        while chunk := c.recv(65536):
            data += chunk
        c.sendall(b"native hello\n")
        c.shutdown(socket.SHUT_WR)
    assert data == b"nc hello\n"
    assert server.wait(15) == 0
    assert server.stdout is not None
    assert server.stdout.read() == b"native hello\n"


def test_keep_listening_serves_clients_in_a_row(unsock: Unsock) -> None:
    port = 18205
    server = unsock.start([nc(), "-k", "-l", "127.0.0.1", str(port)], wait_port=port)
    reader = OutputReader(server.stdout)
    for i in range(5):
        unsock.run([nc(), "-N", "127.0.0.1", str(port)], input=f"client {i}\n".encode(), timeout=30)
        reader.wait_for(f"client {i}\n", timeout=15)
    assert server.poll() is None, "nc -k stopped listening"
    assert_no_tcp_listener(port)


def test_zero_io_scan(unsock: Unsock) -> None:
    """nc -z reports a converted listener as open and a missing one as closed."""
    port = 18206
    unsock.start([nc(), "-k", "-l", "127.0.0.1", str(port)], wait_port=port)
    assert unsock.run([nc(), "-z", "-w", "5", "127.0.0.1", str(port)], check=False).returncode == 0
    assert unsock.run([nc(), "-z", "-w", "5", "127.0.0.1", str(port + 1)], check=False).returncode == 1


def test_listener_on_port_zero(unsock: Unsock) -> None:
    """nc -l on port 0 gets a free port: -v prints what getsockname() says,
    and that port's socket file exists and takes a converted client."""
    server = unsock.start([nc(), "-v", "-N", "-l", "127.0.0.1", "0"], stdin=subprocess.PIPE)
    m = OutputReader(server.stderr).wait_for(r"Listening on \S+ (\d+)", timeout=15)
    port = int(m.group(1))
    assert port != 0
    assert unsock.path(port).exists(), f"nc reports port {port}, files: {os.listdir(unsock.dir)}"
    assert_no_tcp_listener(port)
    assert server.stdin is not None
    server.stdin.write(b"port zero works\n")
    server.stdin.close()
    out = unsock.run([nc(), "-N", "127.0.0.1", str(port)], input=b"hi\n", timeout=30)
    assert out.stdout == b"port zero works\n"
    assert server.stdout is not None
    assert server.stdout.read() == b"hi\n"
    assert server.wait(15) == 0
