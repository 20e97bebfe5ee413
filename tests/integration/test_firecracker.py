"""Firecracker control files: a program under the shim connecting to a covered
port whose DIR/PORT.sock is a Firecracker record reaches the guest port
through the multiplexer's unix socket (CONNECT <port> / OK <n>), here the test
multiplexer firecracker_mux.py in front of real backends: curl to
http.server, iperf3 to iperf3 -s, and Python probes for blocking,
non-blocking, timeouts, refusals and malformed replies."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.output import unsock_cli
from tests.helpers.proc import Unsock, wait_for_path
from tests.helpers.programs import assert_no_tcp_listener, require_program
from unsock.controlfile import ControlFile

MUX = Path(__file__).with_name("firecracker_mux.py")
GUEST_PORT = 5000
OTHER_PORT = 18702  # an ordinary covered port: a native unix echo server in DIR

# A program under the shim; prints one JSON line of what it observed.
PROBE = r"""
import errno, json, os, select, socket, struct, sys, time
mode, port, other = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tmo = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
out = {}
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
if tmo:
    tv = struct.pack("ll", int(tmo), int((tmo % 1) * 1e6))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
t0 = time.monotonic()
if mode == "nonblocking":
    s.setblocking(False)
    err = s.connect_ex(("127.0.0.1", port))
    out["connect"] = errno.errorcode.get(err, err)
    if err == errno.EINPROGRESS:
        _, w, _ = select.select([], [s], [], 15)
        out["writable"] = bool(w)
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        out["so_error"] = errno.errorcode.get(err, err)
        r, _, _ = select.select([s], [], [], 5)
        out["readable"] = bool(r)
    s.setblocking(True)
else:
    err = s.connect_ex(("127.0.0.1", port))
    out["connect"] = errno.errorcode.get(err, err)
out["seconds"] = time.monotonic() - t0
out["fd_open"] = os.fstat(s.fileno()) is not None

def line(sock):
    data = b""
    while not data.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            break
        data += b
    return data.decode(errors="replace")

if err in (0, errno.EINPROGRESS) and out.get("so_error", "ok") in ("ok", 0):
    out["peer"] = list(s.getpeername())
    out["banner"] = line(s)
    s.sendall(b"ping\n")
    out["echo"] = line(s)
    if tmo:
        out["rcvtimeo"] = list(struct.unpack("ll", s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)))
        t1 = time.monotonic()
        try:
            s.recv(1)
            out["idle_recv"] = "data"
        except BlockingIOError:
            out["idle_recv"] = "EAGAIN"
        out["idle_seconds"] = time.monotonic() - t1
else:
    # the same socket, still the program's, connects elsewhere
    s.setblocking(True)
    s.settimeout(10)
    s.connect(("127.0.0.1", other))
    out["later_peer"] = list(s.getpeername())
    out["later_banner"] = line(s)
print(json.dumps(out), flush=True)
"""


class EchoServer:
    """A native unix stream server: sends HELLO\\n on accept, then echoes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(30)
            conn.sendall(b"HELLO\n")
            while data := conn.recv(4096):
                conn.sendall(data)

    def close(self) -> None:
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


class Setup:
    def __init__(self, unsock: Unsock, base: Path) -> None:
        self.unsock = unsock
        self.base = base
        self.mux_path = base / "vsock"

    def mux(self, *args: str, path: Path | None = None) -> subprocess.Popen[bytes]:
        """Start the test multiplexer at path (default base/vsock) as its own process."""
        path = path or self.mux_path
        p = subprocess.Popen(
            [sys.executable, str(MUX), str(path), *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True,
        )
        self.unsock.procs.append(p)
        wait_for_path(path)
        return p

    def control(self, port: int, guest_port: int = GUEST_PORT, uds: Path | None = None) -> Path:
        f = self.unsock.path(port)
        f.write_bytes(ControlFile.firecracker(str(uds or self.mux_path), guest_port).pack())
        return f

    def probe(self, mode: str, port: int, tmo: float = 0.0, debug: bool = False) -> tuple[dict[str, Any], str]:
        args = [sys.executable, "-c", PROBE, mode, str(port), str(OTHER_PORT)] + ([str(tmo)] if tmo else [])
        env = self.unsock.env(UNSOCK_DEBUG="1") if debug else None
        out = self.unsock.run(args, env=env, timeout=40)
        return json.loads(out.stdout), out.stderr.decode(errors="replace")


@pytest.fixture
def fc(unsock: Unsock) -> Iterator[Setup]:
    base = Path(tempfile.mkdtemp(prefix="fc-", dir="/tmp"))
    servers = [EchoServer(base / f"vsock_{GUEST_PORT}"), EchoServer(unsock.path(OTHER_PORT))]
    try:
        yield Setup(unsock, base)
    finally:
        unsock.stop_all()
        for s in servers:
            s.close()
        for f in base.iterdir():
            f.unlink()
        base.rmdir()


def assert_connected(out: dict[str, Any], port: int) -> None:
    assert out["peer"] == ["127.0.0.1", port], out
    assert out["banner"] == "HELLO\n", out  # nothing of the handshake reaches the program
    assert out["echo"] == "ping\n", out


def test_blocking_connect(fc: Setup) -> None:
    fc.mux()
    f = fc.control(18700)
    out, err = fc.probe("blocking", 18700, debug=True)
    assert out["connect"] == 0, (out, err)
    assert_connected(out, 18700)
    for step in ("connecting to multiplexer", "sending CONNECT 5000", "answered \"OK 1073741824\""):
        assert step in err, err
    assert f.read_bytes()[:4] == b"UNSK", "the control file stays"


def test_nonblocking_connect(fc: Setup) -> None:
    fc.mux()
    fc.control(18700)
    out, err = fc.probe("nonblocking", 18700)
    assert out["connect"] == "EINPROGRESS", (out, err)
    assert out["writable"] and out["so_error"] == 0, out
    assert out["readable"], "the guest's banner, not the handshake, is waiting"
    assert_connected(out, 18700)


@pytest.mark.parametrize("mode", ["blocking", "nonblocking"])
def test_reply_and_guest_data_in_one_segment(fc: Setup, mode: str) -> None:
    """The OK line and the guest's first bytes arrive together: only the line is consumed."""
    fc.mux("--mode", "coalesce")
    fc.control(18700)
    out, err = fc.probe(mode, 18700)
    assert out["connect"] in (0, "EINPROGRESS"), (out, err)
    assert_connected(out, 18700)


def test_cli_written_file_and_explicit_map(fc: Setup, unsock: Unsock) -> None:
    fc.mux("--map", f"7777={fc.base / f'vsock_{GUEST_PORT}'}")
    cli = unsock_cli()
    subprocess.run([*cli, "control", "firecracker", str(unsock.path(18700)), "--uds", str(fc.mux_path),
                    "--port", "7777"], check=True, capture_output=True, timeout=30)
    out, err = fc.probe("blocking", 18700)
    assert out["connect"] == 0, (out, err)
    assert_connected(out, 18700)


REFUSALS = {
    "closes": ["--mode", "refuse"],
    "says NO": ["--mode", "reply", "--reply", "NO\\n"],
    "lower case": ["--mode", "reply", "--reply", "ok 1\\n"],
    "no digits": ["--mode", "reply", "--reply", "OK \\n"],
    "not digits": ["--mode", "reply", "--reply", "OK 1x\\n"],
    "too long": ["--mode", "reply", "--reply", "OK 123456789012\\n"],
    "CRLF": ["--mode", "reply", "--reply", "OK 5\\r\\n"],
    "binary": ["--mode", "reply", "--reply", "\\x00\\xff\\n"],
    "guest port closed": ["--map", f"{GUEST_PORT}=/nonexistent/guest"],
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_or_malformed_handshake(fc: Setup, case: str) -> None:
    fc.mux(*REFUSALS[case])
    fc.control(18700)
    for mode in ("blocking", "nonblocking"):
        out, err = fc.probe(mode, 18700, debug=True)
        assert out["connect"] == "ECONNREFUSED", (mode, out, err)
        assert out["seconds"] < 5, out
        assert out["fd_open"], out
        assert out["later_peer"] == ["127.0.0.1", OTHER_PORT], out
        assert out["later_banner"] == "HELLO\n", out


def test_nothing_listens_on_the_proxy(fc: Setup) -> None:
    fc.control(18700, uds=fc.base / "absent")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(fc.base / "dead"))
    dead.close()  # a socket file with no listener
    fc.control(18701, uds=fc.base / "dead")
    for port in (18700, 18701):
        out, err = fc.probe("blocking", port, debug=True)
        assert out["connect"] == "ECONNREFUSED", (out, err)
        assert out["later_banner"] == "HELLO\n", out
        assert "multiplexer" in err, err


@pytest.mark.parametrize("args", [["--mode", "stall"], ["--mode", "reply", "--reply", "OK 12"]],
                         ids=["silent", "no newline"])
def test_stalled_handshake_respects_timeouts(fc: Setup, args: list[str]) -> None:
    fc.mux(*args)
    fc.control(18700)
    for mode in ("blocking", "nonblocking"):
        out, err = fc.probe(mode, 18700, tmo=1.0)
        assert out["connect"] == "ETIMEDOUT", (mode, out, err)
        assert 0.9 <= out["seconds"] < 4, out
        assert out["later_banner"] == "HELLO\n", out


def test_timeouts_apply_after_the_handshake(fc: Setup) -> None:
    fc.mux()
    fc.control(18700)
    out, err = fc.probe("blocking", 18700, tmo=0.5)
    assert out["connect"] == 0, (out, err)
    assert_connected(out, 18700)
    assert out["rcvtimeo"] == [0, 500000], out
    assert out["idle_recv"] == "EAGAIN", out
    assert 0.4 <= out["idle_seconds"] < 3, out


def test_bind_through_firecracker_file_fails(fc: Setup, unsock: Unsock) -> None:
    f = fc.control(18700)
    before = f.read_bytes()
    code = (
        "import errno, socket\n"
        "s = socket.socket()\n"
        "try:\n    s.bind(('127.0.0.1', 18700)); print('bound')\n"
        "except OSError as e:\n    print(errno.errorcode[e.errno])\n"
    )
    out = unsock.run([sys.executable, "-c", code], env=unsock.env(UNSOCK_DEBUG="1"))
    assert out.stdout.decode().strip() == "EINVAL", out
    assert "Firecracker" in out.stderr.decode(), out.stderr
    assert f.read_bytes() == before


def test_curl_to_http_server_behind_the_multiplexer(fc: Setup, unsock: Unsock, tmp_path: Path) -> None:
    """http.server under the shim in its own DIR (so on a unix socket), the
    multiplexer relaying guest port 8080 to it, curl under the shim through a
    Firecracker control file."""
    curl = require_program("curl")
    python = require_program("python3")
    root = tmp_path / "www"
    root.mkdir()
    body = os.urandom(2 * 1024 * 1024 + 3)
    (root / "big.bin").write_bytes(body)
    (root / "hello.txt").write_bytes(b"hello through firecracker\n")
    guest = Unsock(fc.base / "g", unsock.addr)
    guest.dir.mkdir()
    try:
        guest.start([python, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(root), "18710"],
                    wait_port=18710)
        fc.mux("--map", f"8080={guest.path(18710)}")
        fc.control(18711, guest_port=8080)
        for name, want in (("hello.txt", b"hello through firecracker\n"), ("big.bin", body)):
            out = unsock.run([curl, "-sS", "--fail", "--max-time", "20", f"http://127.0.0.1:18711/{name}"],
                             timeout=30)
            assert out.stdout == want
        assert_no_tcp_listener(18710)
    finally:
        guest.stop_all()
        for f in guest.dir.iterdir():
            f.unlink()
        guest.dir.rmdir()


def test_iperf3_through_the_multiplexer(fc: Setup, unsock: Unsock) -> None:
    iperf3 = require_program("iperf3")
    guest = Unsock(fc.base / "g", unsock.addr)
    guest.dir.mkdir()
    try:
        guest.start([iperf3, "-s", "-B", "127.0.0.1", "-p", "18720"], wait_port=18720)
        fc.mux("--map", f"5201={guest.path(18720)}")
        fc.control(18721, guest_port=5201)
        for opts in (("-t", "1"), ("-n", "50M", "-R")):
            out = unsock.run([iperf3, "-c", "127.0.0.1", "-p", "18721", "-J", *opts], check=False, timeout=60)
            report = json.loads(out.stdout)
            assert "error" not in report, (report["error"], out.stderr.decode())
            assert out.returncode == 0, out.stderr.decode()
            c = report["start"]["connected"][0]
            assert (c["remote_host"], c["remote_port"]) == ("127.0.0.1", 18721), c
            assert report["end"]["sum_sent"]["bytes"] > 0 and report["end"]["sum_received"]["bytes"] > 0
        assert_no_tcp_listener(18720)
    finally:
        guest.stop_all()
        for f in guest.dir.iterdir():
            f.unlink()
        guest.dir.rmdir()
