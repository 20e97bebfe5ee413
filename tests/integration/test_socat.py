"""socat under the shim: a TCP-LISTEN server with `fork` (each connection is
served by a child that closes its copy of the listener, which must not take
the socket file away), clients in a row and at once, and a TCP-to-TCP relay
whose both sides are converted."""

from __future__ import annotations

import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.helpers.proc import Unsock
from tests.helpers.programs import assert_no_tcp_listener, require_program, unix_socket_alive

pytestmark = pytest.mark.program("socat")


def socat() -> str:
    return require_program("socat")


def upper_server(unsock: Unsock, port: int) -> subprocess.Popen[bytes]:
    return unsock.start(
        [socat(), f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr", "EXEC:tr a-z A-Z"], wait_port=port
    )


def client(unsock: Unsock, port: int, data: bytes) -> bytes:
    return unsock.run([socat(), "-t", "5", "-", f"TCP:127.0.0.1:{port}"], input=data, timeout=30).stdout


def test_forking_server_clients_in_a_row_and_at_once(unsock: Unsock) -> None:
    port = 18801
    server = upper_server(unsock, port)
    assert_no_tcp_listener(port)
    for i in range(5):
        assert client(unsock, port, f"hello {i}\n".encode()) == f"HELLO {i}\n".encode()
        # the child that served it has exited and closed its copy of the listener
        assert unsock.path(port).exists(), "a forked child's close removed the listener's socket file"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: client(unsock, port, f"abc{i}xyz\n".encode() * 1000), range(16)))
    assert answers == [f"ABC{i}XYZ\n".encode() * 1000 for i in range(16)]
    assert server.poll() is None
    assert unix_socket_alive(unsock.path(port))

    server.send_signal(signal.SIGTERM)
    server.wait(15)
    assert not unsock.path(port).exists(), "socat exited and left its socket file"


def test_relay_between_converted_ports(unsock: Unsock) -> None:
    """socat listening on one port relays to another: the relay's accepted
    and outgoing sockets are both converted."""
    backend, front = 18802, 18803
    upper_server(unsock, backend)
    unsock.start([socat(), f"TCP-LISTEN:{front},bind=127.0.0.1,fork,reuseaddr", f"TCP:127.0.0.1:{backend}"],
                 wait_port=front)
    assert_no_tcp_listener(front)
    data = b"relay me\n" * 20000
    assert client(unsock, front, data) == data.upper()
