"""Python's http.server under the shim, fetched with curl from both sides:
natively over the unix socket file, and over "TCP" with curl itself under the
shim (LD_PRELOAD and `unsock run`). Also `unsock run` passing exit status and
signals through."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers.output import OutputReader, unsock_cli
from tests.helpers.proc import Unsock
from tests.helpers.programs import assert_no_tcp_listener, plain_env, require_program

pytestmark = pytest.mark.program("python3")


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello from http.server\n")
    (root / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    return root


def http_server(port: int, docroot: Path) -> list[str]:
    python = require_program("python3")
    return [python, "-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(docroot), str(port)]


def curl_native(sock: Path, url_path: str) -> bytes:
    """curl (not under the shim) talking HTTP over the unix socket file."""
    curl = require_program("curl")
    p = subprocess.run(
        [curl, "-sS", "--fail", "--max-time", "20", "--unix-socket", str(sock), f"http://x{url_path}"],
        env=plain_env(), capture_output=True, timeout=30, check=False,
    )
    assert p.returncode == 0, f"curl --unix-socket {sock} failed ({p.returncode}): {p.stderr.decode()}"
    return p.stdout


def curl_args(port: int, url_path: str) -> list[str]:
    curl = require_program("curl")
    return [curl, "-sS", "--fail", "--max-time", "20", f"http://127.0.0.1:{port}{url_path}"]


def test_server_under_shim_curl_native_and_under_shim(unsock: Unsock, docroot: Path) -> None:
    port = 18101
    unsock.start(http_server(port, docroot), wait_port=port)
    sock = unsock.path(port)
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert_no_tcp_listener(port)

    # curl natively, over the unix socket file
    assert curl_native(sock, "/hello.txt") == b"hello from http.server\n"
    assert curl_native(sock, "/big.bin") == (docroot / "big.bin").read_bytes()

    # curl under the shim, over "TCP" to 127.0.0.1:PORT
    out = unsock.run(curl_args(port, "/hello.txt"))
    assert out.stdout == b"hello from http.server\n"
    assert b"unsock:" not in out.stderr, "the shim logged without being asked"
    out = unsock.run(curl_args(port, "/big.bin"))
    assert out.stdout == (docroot / "big.bin").read_bytes()

    # curl through `unsock run`, with a clean environment
    out = unsock.run(
        [*unsock_cli(), "run", "--dir", str(unsock.dir), "--addr", "127.0.0.1/8", "--", *curl_args(port, "/hello.txt")],
        env=plain_env(),
    )
    assert out.stdout == b"hello from http.server\n"

    # still no real TCP port after all that traffic
    assert_no_tcp_listener(port)


def test_debug_log_only_when_asked(unsock: Unsock, docroot: Path) -> None:
    """UNSOCK_DEBUG=1 (and `unsock run -v`) make the shim log its decisions
    on stderr with the "unsock: " prefix; the program's output is unchanged."""
    port = 18106
    unsock.start(http_server(port, docroot), wait_port=port)
    quiet = unsock.run(curl_args(port, "/hello.txt"))
    assert b"unsock:" not in quiet.stderr
    loud = unsock.run(curl_args(port, "/hello.txt"), env=unsock.env(UNSOCK_DEBUG="1"))
    assert loud.stdout == b"hello from http.server\n"
    lines = loud.stderr.decode().splitlines()
    assert lines and all(line.startswith("unsock: ") for line in lines), lines
    assert any(str(unsock.path(port)) in line for line in lines), lines
    verbose = unsock.run(
        [*unsock_cli(), "run", "-v", "--dir", str(unsock.dir), "--addr", "127.0.0.1/8", "--",
         *curl_args(port, "/hello.txt")],
        env=plain_env(),
    )
    assert verbose.stdout == b"hello from http.server\n"
    assert any(str(unsock.path(port)) in line for line in verbose.stderr.decode().splitlines())


@pytest.mark.parametrize(
    "opts",
    [
        ["--interface", "127.0.0.1"],  # bind(127.0.0.1:0) before connect: a converted client port
        ["--tcp-fastopen"],
        ["--keepalive-time", "5"],
        ["--no-keepalive", "--no-tcp-nodelay"],
        ["--local-port", "40000-40100"],  # bind(0.0.0.0:N): not covered, then a covered connect
    ],
    ids=lambda opts: opts[0].lstrip("-"),
)
def test_curl_socket_options_under_shim(unsock: Unsock, docroot: Path, opts: list[str]) -> None:
    """curl options that set up its socket before connecting still work once
    the socket is converted; curl's bound client ports leave no socket file."""
    port = 18107
    unsock.start(http_server(port, docroot), wait_port=port)
    out = unsock.run([*curl_args(port, "/hello.txt"), *opts, f"http://127.0.0.1:{port}/big.bin"])
    assert out.stdout == b"hello from http.server\n" + (docroot / "big.bin").read_bytes()
    assert sorted(os.listdir(unsock.dir)) == [f"{port}.sock"]


def test_curl_to_localhost(unsock: Unsock, docroot: Path) -> None:
    """localhost resolves to ::1 and 127.0.0.1; curl ends up on the converted one."""
    port = 18108
    unsock.start(http_server(port, docroot), wait_port=port)
    curl = require_program("curl")
    out = unsock.run([curl, "-sS", "--fail", "--max-time", "20", f"http://localhost:{port}/hello.txt"])
    assert out.stdout == b"hello from http.server\n"


def test_curl_under_shim_sees_no_server_without_socket_file(unsock: Unsock) -> None:
    """With nothing at DIR/PORT.sock, curl under the shim fails to connect
    (it must not fall back to real TCP)."""
    port = 18102
    p = unsock.run(curl_args(port, "/"), check=False)
    assert p.returncode == 7, f"curl exited {p.returncode}: {p.stderr.decode()}"  # 7: could not connect


def test_server_through_unsock_run(unsock: Unsock, docroot: Path) -> None:
    port = 18103
    cmd = [*unsock_cli(), "run", "--dir", str(unsock.dir), "--addr", "127.0.0.1/8", "--", *http_server(port, docroot)]
    unsock.start(cmd, env=plain_env(), wait_port=port)
    assert_no_tcp_listener(port)
    assert curl_native(unsock.path(port), "/hello.txt") == b"hello from http.server\n"
    out = unsock.run(curl_args(port, "/hello.txt"))
    assert out.stdout == b"hello from http.server\n"


def test_server_socket_mode(unsock: Unsock, docroot: Path) -> None:
    """UNSOCK_MODE sets the permissions of the socket file http.server creates."""
    port = 18104
    unsock.start(http_server(port, docroot), env=unsock.env(UNSOCK_MODE="0660"), wait_port=port)
    assert stat.S_IMODE(unsock.path(port).stat().st_mode) == 0o660
    assert curl_native(unsock.path(port), "/hello.txt") == b"hello from http.server\n"


def test_server_port_zero_reports_the_chosen_port(unsock: Unsock, docroot: Path) -> None:
    """http.server on port 0 prints the port getsockname() gave it; that port's socket file serves."""
    p = unsock.start(http_server(0, docroot))
    line = OutputReader(p.stdout).wait_for(r"Serving HTTP on 127\.0\.0\.1 port (\d+)")
    port = int(line.group(1))
    assert port != 0
    sock = unsock.path(port)
    assert sock.exists(), f"http.server reports port {port} but {sock} does not exist: {os.listdir(unsock.dir)}"
    assert_no_tcp_listener(port)
    assert curl_native(sock, "/hello.txt") == b"hello from http.server\n"
    assert unsock.run(curl_args(port, "/hello.txt")).stdout == b"hello from http.server\n"


def test_server_socket_file_removed_on_exit(unsock: Unsock, docroot: Path) -> None:
    """When http.server ends (SIGINT, as a user's ^C) its socket file goes away."""
    port = 18105
    p = unsock.start(http_server(port, docroot), wait_port=port)
    assert curl_native(unsock.path(port), "/hello.txt") == b"hello from http.server\n"
    p.send_signal(signal.SIGINT)
    p.wait(15)
    assert not unsock.path(port).exists(), "socket file left behind by a server that exited"


def test_unsock_run_passes_exit_status(sockdir: Path) -> None:
    sh = require_program("sh")
    base = [*unsock_cli(), "run", "--dir", str(sockdir), "--addr", "127.0.0.1/8", "--"]
    p = subprocess.run([*base, sh, "-c", "exit 7"], env=plain_env(), capture_output=True, timeout=30, check=False)
    assert p.returncode == 7, p.stderr.decode()
    p = subprocess.run([*base, sh, "-c", "exit 0"], env=plain_env(), capture_output=True, timeout=30, check=False)
    assert p.returncode == 0, p.stderr.decode()


def test_unsock_run_passes_signal(sockdir: Path) -> None:
    """A program killed by a signal is reported as killed by that signal."""
    sh = require_program("sh")
    base = [*unsock_cli(), "run", "--dir", str(sockdir), "--addr", "127.0.0.1/8", "--"]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        p = subprocess.run(
            [*base, sh, "-c", f"kill -{sig.name[3:]} $$"], env=plain_env(), capture_output=True, timeout=30, check=False
        )
        assert p.returncode == -sig, f"expected death by {sig.name}, got {p.returncode}: {p.stderr.decode()}"


def test_unsock_run_passes_stdio(sockdir: Path) -> None:
    cat = require_program("cat")
    base = [*unsock_cli(), "run", "--dir", str(sockdir), "--addr", "127.0.0.1/8", "--"]
    p = subprocess.run([*base, cat], env=plain_env(), input=b"through\n", capture_output=True, timeout=30, check=False)
    assert (p.returncode, p.stdout) == (0, b"through\n"), p.stderr.decode()
