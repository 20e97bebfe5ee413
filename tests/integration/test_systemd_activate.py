"""Python's http.server started by systemd-socket-activate, with `systemd`
rules handing it the passed sockets, fetched with curl: a passed unix socket,
one picked by name out of two, a passed TCP socket on another port than the
server asks for, and a server that closes every inherited descriptor or
puts something else on fd 3 first. A CGI child sees no LISTEN_*."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.activate import Activated, Activator, curl, curl_unix, free_tcp_port
from tests.helpers.programs import assert_no_tcp_listener, require_program

pytestmark = [pytest.mark.program("systemd-socket-activate"), pytest.mark.program("python3"),
              pytest.mark.program("curl")]

PAGE = b"hello from http.server, socket-activated\n"

# http.server as its __main__, after doing to the inherited descriptors what
# argv[1] says: "closerange" (os.closerange: close_range/closefrom in C),
# "dup2" (/dev/null onto fd 3), or "none".
SERVER = r"""
import os, runpy, sys
what = sys.argv.pop(1)
if what == "closerange":
    os.closerange(3, 65536)
elif what == "dup2":
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 3)
    os.close(null)
    assert os.readlink("/proc/self/fd/3") == os.devnull
runpy.run_module("http.server", run_name="__main__", alter_sys=True)
"""


def write_docroot(root: Path) -> Path:
    root.mkdir(exist_ok=True)
    (root / "hello.txt").write_bytes(PAGE)
    cgi = root / "cgi-bin"
    cgi.mkdir()
    script = cgi / "env.sh"
    script.write_text('#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\nenv | grep "^LISTEN_" || echo none\n')
    script.chmod(0o755)
    return root


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    return write_docroot(tmp_path / "www")


@pytest.fixture
def public_docroot() -> Iterator[Path]:
    """A docroot that user nobody can read: http.server running as root
    runs CGI scripts as nobody."""
    root = Path(tempfile.mkdtemp(prefix="us-www-", dir="/tmp"))
    try:
        root.chmod(0o755)
        yield write_docroot(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def http_server(port: int, docroot: Path, before: str = "none", *extra: str) -> list[str]:
    python = require_program("python3")
    return [python, "-u", "-c", SERVER, before, "--bind", "127.0.0.1", "--directory", str(docroot), *extra,
            str(port)]


def serving(run: Activated) -> str:
    """http.server's "Serving HTTP on ..." line (it prints it once bound)."""
    return run.out.wait_for(r"Serving HTTP on \S+ port \d+", timeout=20).group(0)


def test_passed_unix_socket(activator: Activator, sockdir: Path, docroot: Path) -> None:
    """(a) -l x.sock and `in,tcp,port=PORT,systemd`: http.server serves on
    the passed unix socket, nothing listens on PORT."""
    port, sock = free_tcp_port(), sockdir / "x.sock"
    run = activator.start([str(sock)], http_server(port, docroot), [f"in,stream,port={port},systemd"])
    assert curl_unix(sock, "/hello.txt") == PAGE
    assert serving(run) == f"Serving HTTP on 127.0.0.1 port {port}"
    assert curl_unix(sock, "/hello.txt") == PAGE
    assert_no_tcp_listener(port)


def test_named_socket_out_of_two(activator: Activator, sockdir: Path, docroot: Path) -> None:
    """(b) --fdname=other:web and `in,systemd=web`: the server gets web's
    socket; connections to the other one are never answered."""
    port, other, web = free_tcp_port(), sockdir / "other.sock", sockdir / "web.sock"
    run = activator.start([str(other), str(web)], http_server(port, docroot), ["in,systemd=web"],
                          fdnames="other:web")
    assert curl_unix(web, "/hello.txt") == PAGE
    serving(run)
    p = curl("--unix-socket", str(other), "http://x/hello.txt", timeout=2)
    assert p.returncode == 28, f"curl on the unnamed socket: exit {p.returncode}, {p.stdout!r}"  # 28: timed out
    assert curl_unix(web, "/hello.txt") == PAGE


def test_passed_tcp_socket(activator: Activator, docroot: Path) -> None:
    """(c) -l 127.0.0.1:PASSED: the server binding ASKED gets the passed TCP
    socket, and says so (getsockname is the real one)."""
    passed, asked = free_tcp_port(), free_tcp_port()
    run = activator.start([f"127.0.0.1:{passed}"], http_server(asked, docroot), [f"in,stream,port={asked},systemd"])
    p = curl(f"http://127.0.0.1:{passed}/hello.txt")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout == PAGE
    assert serving(run) == f"Serving HTTP on 127.0.0.1 port {passed}"
    assert_no_tcp_listener(asked)


@pytest.mark.parametrize("before", ["closerange", "dup2"])
def test_server_that_closes_or_reuses_fd_3(activator: Activator, sockdir: Path, docroot: Path, before: str) -> None:
    """(d, e) The passed socket outlives os.closerange(3, ...) and moves away
    from a dup2 onto fd 3."""
    port, sock = free_tcp_port(), sockdir / "x.sock"
    run = activator.start([str(sock)], http_server(port, docroot, before), ["in,systemd"], debug=True)
    assert curl_unix(sock, "/hello.txt") == PAGE
    assert curl_unix(sock, "/hello.txt") == PAGE
    err = run.stderr()
    if before == "dup2":
        assert "moved from fd 3 to fd" in err, err
    else:
        assert "a socket passed by systemd, kept open" in err, err


def test_cgi_child_sees_no_listen_variables(activator: Activator, sockdir: Path, public_docroot: Path) -> None:
    """(f) A CGI script run by the server (fork + exec with os.environ) sees
    no LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES."""
    port, sock = free_tcp_port(), sockdir / "x.sock"
    activator.start([str(sock)], http_server(port, public_docroot, "none", "--cgi"), ["in,systemd"], fdnames="web")
    assert curl_unix(sock, "/cgi-bin/env.sh") == b"none\n"
