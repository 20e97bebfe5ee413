"""Client addresses (issue 17, item 8): both ends of a converted connection agree on the
client's address, and each client process has its own: 127.X.Y.Z with X.Y.Z its pid (native
unix clients too, from SO_PEERCRED), except toward 127.0.0.1, ::1 and wildcard addresses,
where every client is 127.0.0.1 / ::1 as on TCP. The decision log says which process and user
each address stands for; --peer-loopback gives every client TCP's 127.0.0.1."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.programs import plain_env
from tests.helpers.rules import PYTHON, Runner, curl, http_server, make_docroot, run_args, running, serving

pytestmark = [pytest.mark.program("python3"), pytest.mark.both_engines]

ACCEPT = """
import socket, sys
l = socket.socket()
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen()
print("ready", flush=True)
while True:
    a, peer = l.accept()
    a.sendall(("%s %d" % peer[:2]).encode())
    a.close()
"""


@pytest.fixture
def runner() -> Iterator[Runner]:
    with running() as r:
        yield r


def of_pid(pid: int) -> str:
    return f"127.{pid >> 16 & 255}.{pid >> 8 & 255}.{pid & 255}"


def test_http_server_logs_each_curl_at_its_own_address(tmp_path: Path, runner: Runner) -> None:
    rule = f"path={tmp_path}/%p.sock"
    server = runner.start([rule], http_server(0, make_docroot(tmp_path), bind="127.0.0.5"))
    port = serving(server)
    pids = []
    for _ in range(2):  # curl with the pid sh had: it execs curl
        cmd = ["sh", "-c", 'echo "$$" >&2; exec "$@"', "sh", *curl(f"http://127.0.0.5:{port}/hello.txt")]
        p = subprocess.Popen(run_args([rule], cmd), env=plain_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, err = p.communicate(timeout=30)
        assert p.returncode == 0, err.decode()
        pids.append(int(err.split()[0]))
    for pid in pids:
        assert server.err.wait_for(rf"{re.escape(of_pid(pid))} - - \[.*\] \"GET /hello\.txt", 15)


def test_both_ends_agree_and_native_clients_get_their_own_address(tmp_path: Path, runner: Runner) -> None:
    rule = f"path={tmp_path}/%p.sock"
    server = runner.start([rule], [PYTHON, "-u", "-c", ACCEPT, "127.0.0.5", "7701"], verbose=True)
    assert server.out.wait_for("ready\n", 15)
    client = subprocess.run(run_args([rule], [PYTHON, "-c", """
import socket
c = socket.create_connection(("127.0.0.5", 7701))
print("%s %d" % c.getsockname()[:2], c.recv(100).decode())
"""]), env=plain_env(), capture_output=True, text=True, timeout=30, check=True)
    mine, seen = client.stdout.split(" ", 2)[:2], client.stdout.split()[2:]
    assert seen == mine, "the server sees the client where the client says it is"
    with socket.socket(socket.AF_UNIX) as native:
        native.connect(str(tmp_path / "7701.sock"))
        ip, port = native.recv(100).decode().split()
    assert ip == of_pid(os.getpid()) and 1024 <= int(port) <= 65535
    assert server.err.wait_for(
        rf"unsock: accept fd \d+: peer {re.escape(ip)}:{port} is pid {os.getpid()} uid {os.geteuid()}\n", 15)


def test_toward_127_0_0_1_and_with_peer_loopback_every_client_is_127_0_0_1(tmp_path: Path, runner: Runner) -> None:
    rule = f"path={tmp_path}/%p.sock"
    for bind, options, port in (("127.0.0.1", [], 7702), ("127.0.0.5", ["--peer-loopback"], 7703)):
        server = runner.start([rule], [PYTHON, "-u", "-c", ACCEPT, bind, str(port)], options=options)
        assert server.out.wait_for("ready\n", 15)
        with socket.socket(socket.AF_UNIX) as native:
            native.connect(str(tmp_path / f"{port}.sock"))
            assert native.recv(100).decode().split()[0] == "127.0.0.1"


LATE_PEER = """
import ctypes, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
l = socket.socket()
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen()
print("ready", flush=True)
while True:
    fd = libc.accept(l.fileno(), None, None)  # no address buffer: the peer is asked for later
    a = socket.socket(fileno=fd)
    said = a.recv(100).decode()
    assert a.recv(100) == b""  # the client is gone before the server asks
    print(said, "%s %d" % a.getpeername()[:2], flush=True)
    a.close()
"""


def test_a_server_that_asks_for_its_peer_after_accept_sees_what_accept_would_have(
        tmp_path: Path, runner: Runner) -> None:
    rule = f"path={tmp_path}/%p.sock"
    server = runner.start([rule], [PYTHON, "-u", "-c", LATE_PEER, "127.0.0.5", "7704"])
    assert server.out.wait_for("ready\n", 15)
    subprocess.run(run_args([rule], [PYTHON, "-c", """
import socket
with socket.create_connection(("127.0.0.5", 7704)) as c:
    c.sendall(("%s %d" % c.getsockname()[:2]).encode())
"""]), env=plain_env(), timeout=30, check=True)
    line = server.out.wait_for(r"(\S+ \d+) (\S+ \d+)\n", 15)
    assert line.group(1) == line.group(2), "the server sees the client where the client said it was"
    with socket.socket(socket.AF_UNIX) as native:
        native.connect(str(tmp_path / "7704.sock"))
        native.sendall(b"native 0")
    line = server.out.wait_for(r"native 0 (\S+) \d+\n", 15)
    assert line.group(1) == of_pid(os.getpid())
