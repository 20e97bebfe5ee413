"""TCP Fast Open's implicit connect: a send with MSG_FASTOPEN on a new stream socket
(sendto, sendmsg) to a covered address connects it to the rule's unix socket first, as a
connect would, and the data goes there; nothing leaves over TCP (issue 17, item 1)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.rules import HELLO, PYTHON, Runner, curl, http_server, make_docroot, ok, run, running, serving

pytestmark = [pytest.mark.program("python3"), pytest.mark.both_engines]

CLIENT = """
import socket, sys
port, how = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
if how == "sendto":
    print("sent", s.sendto(b"fast open", socket.MSG_FASTOPEN, ("127.0.0.1", port)))
else:
    print("sent", s.sendmsg([b"fast ", b"open"], [], socket.MSG_FASTOPEN, ("127.0.0.1", port)))
print("peer", s.getpeername())
print("reply", s.recv(100).decode())
"""


@pytest.fixture
def runner() -> Iterator[Runner]:
    with running() as r:
        yield r


class Listener:
    """A native server, unix or TCP, that answers each connection with what it got."""

    def __init__(self, family: socket.AddressFamily, address: str | tuple[str, int]) -> None:
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(address)
        self.sock.listen()
        self.sock.settimeout(15)
        self.got: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            data = conn.recv(100)
            self.got.append(data)
            conn.sendall(b"got " + data)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # wakes the accept, which holds the socket (and its port) until it returns
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize("how", ["sendto", "sendmsg"])
def test_fast_open_send_goes_to_the_unix_socket(tmp_path: Path, how: str) -> None:
    port = 23456 if how == "sendto" else 23457
    unix = Listener(socket.AF_UNIX, str(tmp_path / f"{port}.sock"))
    tcp = Listener(socket.AF_INET, ("127.0.0.1", port))  # must get nothing
    try:
        p = run([f"out,addr=127.0.0.1/8,path={tmp_path}/%p.sock"], [PYTHON, "-c", CLIENT, str(port), how],
                verbose=True)
        out = ok(p).decode()
        assert out.splitlines() == ["sent 9", f"peer ('127.0.0.1', {port})", "reply got fast open"], out
        assert unix.got == [b"fast open"] and tcp.got == []
        assert f"send (TCP Fast Open) fd 3 127.0.0.1:{port} stream: rule 1 -> path {tmp_path}/{port}.sock" in \
            p.stderr.decode()
    finally:
        unix.close()
        tcp.close()


def test_fast_open_to_an_address_no_rule_covers_is_left_to_tcp(tmp_path: Path) -> None:
    tcp = Listener(socket.AF_INET, ("127.0.0.1", 23458))
    try:
        out = ok(run(["out,port=1-100,path=/nonexistent/%p.sock"], [PYTHON, "-c", CLIENT, "23458", "sendto"]))
        assert out.decode().splitlines()[-1] == "reply got fast open"
        assert tcp.got == [b"fast open"]
    finally:
        tcp.close()


def test_curl_tcp_fastopen_reaches_http_server(tmp_path: Path, runner: Runner) -> None:
    """curl --tcp-fastopen (TCP_FASTOPEN_CONNECT or MSG_FASTOPEN, whichever its build uses)
    against http.server, both under unsock."""
    docroot = make_docroot(tmp_path)
    rule = f"path={tmp_path}/%p.sock"
    server = runner.start([rule], http_server(0, docroot))
    port = serving(server)
    assert ok(run([rule], curl("--tcp-fastopen", f"http://127.0.0.1:{port}/hello.txt"))) == HELLO
