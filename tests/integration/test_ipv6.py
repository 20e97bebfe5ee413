"""IPv6 under the shim: `python3 -m http.server --bind ::1` with
UNSOCK_ADDR=::1/128 (or a list of IPv4 and IPv6 ranges) serves on
DIR/PORT.sock to curl over the file and to curl under the shim connecting to
[::1]; a dual-stack server on `::` takes IPv4 and IPv6 clients; clients
connecting to [::1] reach a native unix server; `unsock run --addr` takes
lists and refuses bad ones."""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers.output import OutputReader, unsock_cli
from tests.helpers.proc import Unsock, native_unix_server
from tests.helpers.programs import plain_env, require_program, tcp_listening_ports

pytestmark = pytest.mark.program("python3")

BODY = b"hello over ipv6\n"


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    (root / "hello.txt").write_bytes(BODY)
    (root / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024 + 3))
    return root


def http_server(bind: str, port: int, docroot: Path) -> list[str]:
    return [require_program("python3"), "-u", "-m", "http.server", "--bind", bind, "--directory", str(docroot),
            str(port)]


def assert_no_tcp6_listener(port: int) -> None:
    assert port not in tcp_listening_ports(), f"a real TCP socket listens on port {port}"
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        code = s.connect_ex(("::1", port))
    assert code == errno.ECONNREFUSED, f"TCP connect to [::1]:{port} gave {errno.errorcode.get(code, code)}"


def curl_native(sock: Path, url_path: str) -> bytes:
    p = subprocess.run(
        [require_program("curl"), "-sS", "--fail", "--max-time", "20", "--unix-socket", str(sock),
         f"http://x{url_path}"],
        env=plain_env(), capture_output=True, timeout=30, check=False,
    )
    assert p.returncode == 0, f"curl --unix-socket {sock} failed ({p.returncode}): {p.stderr.decode()}"
    return p.stdout


def curl(url: str) -> list[str]:
    return [require_program("curl"), "-sS", "--fail", "--max-time", "20", "-g", url]


def start_server(unsock: Unsock, bind: str, port: int, docroot: Path, env: dict[str, str]) -> OutputReader:
    """http.server under the shim; returns its log (stderr) once it serves on DIR/PORT.sock."""
    p = unsock.start(http_server(bind, port, docroot), env=env)
    OutputReader(p.stdout).wait_for(r"Serving HTTP on ", timeout=20)
    assert unsock.path(port).exists(), f"http.server serves, but not on {unsock.path(port)}: {os.listdir(unsock.dir)}"
    return OutputReader(p.stderr)


@pytest.mark.parametrize("addr", ["::1/128", "127.0.0.0/8,::1/128"])
def test_http_server_on_ipv6_loopback(unsock: Unsock, docroot: Path, addr: str) -> None:
    port = 19201 if addr == "::1/128" else 19202
    env = unsock.env(UNSOCK_ADDR=addr)
    log = start_server(unsock, "::1", port, docroot, env)
    assert_no_tcp6_listener(port)

    # natively over the socket file: the server logs an IPv6 peer (the unnamed end is ::1)
    assert curl_native(unsock.path(port), "/hello.txt") == BODY
    log.wait_for(r'::1 - - \[[^]]+\] "GET /hello.txt HTTP/1.1" 200', timeout=10)
    assert curl_native(unsock.path(port), "/big.bin") == (docroot / "big.bin").read_bytes()

    # curl under the shim connecting to [::1]:PORT
    out = unsock.run(curl(f"http://[::1]:{port}/hello.txt"), env=env)
    assert out.stdout == BODY
    assert b"unsock:" not in out.stderr
    out = unsock.run(curl(f"http://[::1]:{port}/big.bin"), env=env)
    assert out.stdout == (docroot / "big.bin").read_bytes()
    assert_no_tcp6_listener(port)
    assert sorted(os.listdir(unsock.dir)) == [f"{port}.sock"]


def test_ipv4_and_ipv6_servers_with_one_list(unsock: Unsock, docroot: Path) -> None:
    """One list covers both families: a server on 127.0.0.1 and one on ::1,
    each reached by curl under the shim with the same environment, and
    through `unsock run --addr LIST`."""
    v4, v6 = 19203, 19204
    env = unsock.env(UNSOCK_ADDR="127.0.0.0/8,::1/128")
    start_server(unsock, "127.0.0.1", v4, docroot, env)
    start_server(unsock, "::1", v6, docroot, env)
    assert unsock.run(curl(f"http://127.0.0.1:{v4}/hello.txt"), env=env).stdout == BODY
    assert unsock.run(curl(f"http://[::1]:{v6}/hello.txt"), env=env).stdout == BODY
    # localhost: curl tries ::1 and 127.0.0.1; both are covered
    assert unsock.run(curl(f"http://localhost:{v6}/hello.txt"), env=env).stdout == BODY
    for port in (v4, v6):
        out = unsock.run(
            [*unsock_cli(), "run", "--dir", str(unsock.dir), "--addr", "127.0.0.0/8,::1/128", "--",
             *curl(f"http://[::1]:{port}/hello.txt")],
            env=plain_env(),
        )
        assert out.stdout == BODY
    assert port not in tcp_listening_ports()
    assert sorted(os.listdir(unsock.dir)) == sorted([f"{v4}.sock", f"{v6}.sock"])


def test_dual_stack_server(unsock: Unsock, docroot: Path) -> None:
    """http.server --bind :: turns IPV6_V6ONLY off; with `::` covered its one
    socket file takes IPv6 clients, IPv4-mapped ones and IPv4 ones."""
    port = 19205
    env = unsock.env(UNSOCK_ADDR="127.0.0.0/8,::/0")
    start_server(unsock, "::", port, docroot, env)
    assert_no_tcp6_listener(port)
    assert curl_native(unsock.path(port), "/hello.txt") == BODY
    assert unsock.run(curl(f"http://[::1]:{port}/hello.txt"), env=env).stdout == BODY
    assert unsock.run(curl(f"http://127.0.0.1:{port}/hello.txt"), env=env).stdout == BODY
    assert unsock.run(curl(f"http://[::ffff:127.0.0.1]:{port}/hello.txt"), env=env).stdout == BODY


def test_clients_to_ipv6_loopback_reach_native_unix_server(unsock: Unsock) -> None:
    """nc and socat under the shim connect to [::1]:PORT and reach a plain
    AF_UNIX server at DIR/PORT.sock."""
    port = 19206
    env = unsock.env(UNSOCK_ADDR="::1/128")
    srv, t, received = native_unix_server(unsock.path(port), b"native reply\n")
    try:
        out = unsock.run([require_program("nc"), "-N", "::1", str(port)], input=b"from nc over ipv6\n", env=env,
                         timeout=30)
        t.join(20)
        assert received == [b"from nc over ipv6\n"]
        assert out.stdout == b"native reply\n"
    finally:
        srv.close()
    unsock.path(port).unlink()
    srv, t, received = native_unix_server(unsock.path(port), b"native reply 2\n")
    try:
        out = unsock.run([require_program("socat"), "-t", "5", "-", f"TCP6:[::1]:{port}"], input=b"from socat\n",
                         env=env, timeout=30)
        t.join(20)
        assert received == [b"from socat\n"]
        assert out.stdout == b"native reply 2\n"
    finally:
        srv.close()


def test_client_to_ipv6_without_server_is_refused(unsock: Unsock) -> None:
    """Nothing at DIR/PORT.sock: curl to [::1]:PORT under the shim cannot connect
    (and does not fall back to real TCP)."""
    port = 19207
    p = unsock.run(curl(f"http://[::1]:{port}/"), env=unsock.env(UNSOCK_ADDR="::1/128"), check=False)
    assert p.returncode == 7, f"curl exited {p.returncode}: {p.stderr.decode()}"


@pytest.mark.parametrize("addr", ["::1/129", "127.0.0.1/8,", "fe80::1%eth0", "::1,,127.0.0.1"])
def test_unsock_run_refuses_bad_lists(sockdir: Path, addr: str) -> None:
    p = subprocess.run([*unsock_cli(), "run", "--dir", str(sockdir), "--addr", addr, "--", "echo", "ran"],
                       env=plain_env(), capture_output=True, timeout=30, check=False)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stdout == b""
    assert len(p.stderr.decode().splitlines()) == 1, p.stderr


def test_unsock_env_passes_the_list(sockdir: Path) -> None:
    p = subprocess.run([*unsock_cli(), "env", "--dir", str(sockdir), "--addr", "127.0.0.0/8,::1/128"],
                       env=plain_env(), capture_output=True, timeout=30, check=False)
    assert p.returncode == 0, p.stderr
    m = re.search(r"^export UNSOCK_ADDR=(\S+)$", p.stdout.decode(), re.M)
    assert m, p.stdout
    # the list may be written out in another form, but it is the same ranges
    assert [ipaddress.ip_network(r) for r in m.group(1).split(",")] == [
        ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
