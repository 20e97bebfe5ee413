"""The seccomp engine with programs that LD_PRELOAD cannot reach: a statically linked Go net/http
server and client (built here with Debian's Go, CGO_ENABLED=0) against each other and against
native unix and preload-engine peers, under load with and without keep-alive; busybox-static's
httpd, wget and nc. `--engine auto` picks the engine from the program's file."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.gobuild import go_probe
from tests.helpers.output import unsock_cli
from tests.helpers.proc import wait_for_path
from tests.helpers.programs import require_program, tcp_listening_ports
from tests.helpers.rules import Runner, curl, ok, run, run_args, running, wait_socket

pytestmark = pytest.mark.program("go")


@pytest.fixture
def runner() -> Iterator[Runner]:
    with running() as r:
        yield r


@pytest.fixture(scope="module")
def probe() -> str:
    return str(go_probe())


def unix_get(path: Path, target: str = "/") -> bytes:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(path))
        s.sendall(f"GET {target} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_auto_picks_seccomp_for_go_and_preload_for_curl(tmp_path: Path, probe: str) -> None:
    rule = f"path={tmp_path}/%p.sock"
    p = run([rule], [probe, "get", "http://127.0.0.5:9/"], verbose=True)
    assert re.search(r"unsock: engine seccomp: \S+ is a Go program", p.stderr.decode()), p.stderr.decode()
    p = run([rule], curl("http://127.0.0.5:9/"), verbose=True)
    assert "unsock: engine preload: " in p.stderr.decode() and "is dynamically linked" in p.stderr.decode()


def test_unsock_rules_says_which_engine_runs_a_program(probe: str) -> None:
    def engine_line(*args: str) -> str:
        p = subprocess.run([*unsock_cli(), "rules", "--addr", "127.0.0.5/32", *args], capture_output=True, text=True,
                           timeout=30, check=True)
        return next(line for line in p.stdout.splitlines() if line.startswith("engine "))

    assert re.fullmatch(r"engine seccomp: \S+ is a Go program, which makes its socket calls itself", engine_line(probe))
    assert engine_line(require_program("curl")).startswith("engine preload: ")
    assert engine_line("--engine", "seccomp", require_program("curl")) == "engine seccomp: asked for"


def test_go_server_and_clients_of_every_kind(tmp_path: Path, runner: Runner, probe: str) -> None:
    rule = f"path={tmp_path}/%p.sock"
    server = runner.start([rule], [probe, "serve", "127.0.0.5:8301"], verbose=True)
    assert server.out.wait_for("listening 127.0.0.5:8301\n", 20), "the server reports the address it asked for"
    sock = tmp_path / "8301.sock"
    wait_socket(sock, server)
    assert 8301 not in tcp_listening_ports()
    # a native unix client: its address made of its credentials
    assert re.search(rb"you are 127\.\d+\.\d+\.\d+:\d+", unix_get(sock))
    # a static Go client under the seccomp engine: both ends agree on its address
    out = ok(run([rule], [probe, "get", "http://127.0.0.5:8301/"])).decode()
    m = re.fullmatch(r"hello from go, you are (\S+)\nlocal (\S+) remote 127\.0\.0\.5:8301\n", out)
    assert m and m.group(1) == m.group(2), out
    # curl under the preload engine
    assert re.match(rb"hello from go, you are 127\.", ok(run([rule], curl("http://127.0.0.5:8301/"))))
    assert server.err.wait_for(r"unsock: bind fd \d+ 127\.0\.0\.5:8301 stream: rule 1 -> path ", 5)


@pytest.mark.parametrize("keep", ["keep", "close"])
def test_go_client_under_load(tmp_path: Path, runner: Runner, probe: str, keep: str) -> None:
    rule = f"path={tmp_path}/%p.sock"
    server = runner.start([rule], [probe, "serve", "127.0.0.5:8302"])
    wait_socket(tmp_path / "8302.sock", server)
    out = ok(run([rule], [probe, "load", "http://127.0.0.5:8302/", "600", keep], timeout=120)).decode()
    assert out == "errors 0\n", out


def test_go_client_against_a_native_unix_server(tmp_path: Path, probe: str) -> None:
    """http.server on a plain unix socket (a Python thread) answers the Go client."""
    import http.server
    import threading

    class Unix(http.server.HTTPServer):
        address_family = socket.AF_UNIX

        def server_bind(self) -> None:
            self.socket.bind(self.server_address)

        def get_request(self):  # type: ignore[no-untyped-def]
            conn, _ = self.socket.accept()
            return conn, ("unix", 0)

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"native unix\n")

        def log_message(self, *args: object) -> None:
            pass

    server = Unix(str(tmp_path / "8303.sock"), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = ok(run([f"path={tmp_path}/%p.sock"], [probe, "get", "http://127.0.0.1:8303/"])).decode()
        assert out.startswith("native unix\nlocal 127.0.0.1:"), out
    finally:
        server.shutdown()


def test_go_udp_exchange(tmp_path: Path, runner: Runner, probe: str) -> None:
    """A Go UDP server and client (ReadFrom/WriteTo, DialUDP, ListenUDP + WriteToUDP): the
    datagrams go through the socket files, and each side sees the other's IP address."""
    rule = f"path={tmp_path}/%p.sock"
    server = runner.start([rule], [probe, "udpserve", "127.0.0.5:8311"])
    assert server.out.wait_for("listening 127.0.0.5:8311\n", 20)
    out = ok(run([rule], [probe, "udpask", "127.0.0.5:8311"])).decode().splitlines()
    connected, unconnected = out[0].split(" | "), out[1].split(" | ")
    assert connected[0].startswith("connected 127.") and connected[1] == f"you are {connected[0].split()[1]}: connected"
    # Go's ListenUDP(nil) is a dual-stack socket on [::]:PORT, which the server sees as 127.0.0.1:PORT;
    # the answer is shown from the loopback address of the socket's own family (both engines)
    port = unconnected[0].rsplit(":", 1)[1]
    assert unconnected[0] == f"unconnected [::]:{port}" and unconnected[1] == f"you are 127.0.0.1:{port}: unconnected"
    assert unconnected[2] == "from [::1]:8311", out
    assert (tmp_path / "8311.sock").exists()


def test_busybox_httpd_wget_and_nc(tmp_path: Path, runner: Runner) -> None:
    busybox = require_program("busybox")
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("busybox over a unix socket\n")
    rule = f"path={tmp_path}/%p.sock"
    server = runner.start([rule], [busybox, "httpd", "-f", "-p", "127.0.0.5:8304", "-h", str(www)])
    wait_socket(tmp_path / "8304.sock", server)
    assert 8304 not in tcp_listening_ports()
    got = ok(run([rule], [busybox, "wget", "-q", "-O", "-", "http://127.0.0.5:8304/index.html"]))
    assert got == b"busybox over a unix socket\n"
    assert ok(run([rule], curl("http://127.0.0.5:8304/index.html"))) == b"busybox over a unix socket\n"
    listener = runner.start([rule], [busybox, "nc", "-l", "-p", "8305"])  # on the wildcard address
    wait_for_path(tmp_path / "8305.sock", 15)
    p = subprocess.run(run_args([rule], [busybox, "nc", "127.0.0.5", "8305"]), input=b"hello nc\n",
                       capture_output=True, timeout=30, check=False)
    assert p.returncode == 0, p.stderr
    assert listener.out.wait_for("hello nc\n", 10)


def test_a_go_server_started_by_a_shell_script_under_auto(tmp_path: Path, runner: Runner, probe: str) -> None:
    """sh (dynamically linked: the preload engine) execs the static Go server: the shim hands it
    to the seccomp engine; `env` starting the Go client likewise."""
    rule = f"path={tmp_path}/%p.sock"
    script = tmp_path / "start.sh"
    script.write_text(f"#!/bin/sh\nexec {probe} serve 127.0.0.5:8306\n")
    script.chmod(0o755)
    server = runner.start([rule], [str(script)], verbose=True)
    wait_socket(tmp_path / "8306.sock", server)
    assert 8306 not in tcp_listening_ports()
    assert server.err.wait_for(r"exec \S+: it bypasses libc, handed to the seccomp engine", 5)
    out = ok(run([rule], ["env", probe, "get", "http://127.0.0.5:8306/"])).decode()
    assert out.startswith("hello from go, you are 127."), out


def test_explicit_preload_leaves_a_go_program_on_tcp(tmp_path: Path, runner: Runner, probe: str) -> None:
    """--engine preload is what it says: Go's own system calls pass by LD_PRELOAD."""
    server = runner.start([f"path={tmp_path}/%p.sock"], [probe, "serve", "127.0.0.1:8307"],
                          options=["--engine", "preload"])
    assert server.out.wait_for("listening 127.0.0.1:8307\n", 20)
    assert 8307 in tcp_listening_ports() and not (tmp_path / "8307.sock").exists()


def test_a_static_c_program_leaks_no_descriptor(tmp_path: Path, sockdir: Path) -> None:
    """tests/shim/progs/fdleak.c linked statically (glibc's libc.a): 1000 converted connects and
    accepts through the supervisor, the descriptor count flat."""
    cc = require_program("cc")
    source = Path(__file__).resolve().parents[1] / "shim" / "progs" / "fdleak.c"
    prog = tmp_path / "fdleak-static"
    subprocess.run([cc, "-static", "-std=c11", "-D_GNU_SOURCE", "-O1", "-pthread", "-I", str(source.parent), "-o",
                    str(prog), str(source)], check=True, capture_output=True, timeout=120)
    p = run([], [str(prog), "127.0.0.2"], options=["--dir", str(sockdir), "--addr", "127.0.0.2/32"], verbose=True)
    assert "unsock: engine seccomp: " in p.stderr.decode() and "statically linked" in p.stderr.decode()
    assert ok(p).strip() == b"ok"


def test_a_killed_supervisor_makes_socket_calls_fail_not_hang(tmp_path: Path, runner: Runner, probe: str) -> None:
    import os
    import signal
    import time

    rule = f"path={tmp_path}/%p.sock"
    server = runner.start([rule], [probe, "serve", "127.0.0.5:8308"])
    wait_socket(tmp_path / "8308.sock", server)
    supervisor = server.proc.pid  # `unsock run` execs the supervisor
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    assert len(children) == 1
    go = int(children[0])
    os.kill(supervisor, signal.SIGKILL)
    with socket.socket(socket.AF_UNIX) as s, contextlib.suppress(ConnectionRefusedError, FileNotFoundError):
        s.connect(str(tmp_path / "8308.sock"))  # wakes the server's accept, which fails now (if it has not ended)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{go}").exists() and Path(f"/proc/{go}/stat").read_text().split()[2] != "Z":
        assert time.monotonic() < deadline, "the Go server hangs without its supervisor"
        time.sleep(0.05)
