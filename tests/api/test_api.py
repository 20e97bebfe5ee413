"""The Python API (unsock.api, unsock.server) with real programs: http.server under
environment()/run()/Popen()/serve(), nginx under serve(), a statically linked Go server under
serve() with both engines, and the helpers that reach a converted service without the shim."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import unsock
from tests.helpers.gobuild import go_probe
from tests.helpers.programs import require_program
from unsock.engines import seccomp

HTTP_SERVER = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1"]
PORT = 8080


@pytest.fixture
def d() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ua-"))
    try:
        yield path
    finally:
        subprocess.run(["rm", "-rf", str(path)], check=False)


def get(conn: unsock.HTTPConnection, url: str = "/") -> tuple[int, bytes]:
    conn.request("GET", url)
    r = conn.getresponse()
    return r.status, r.read()


def test_rules_from_text_and_from_code(d: Path) -> None:
    made = unsock.Rule(direction="in", sock_type="stream", port=(PORT, PORT),
                       action=unsock.PathAction(f"{d}/web.sock"))
    parsed = unsock.rule_list(f"in,tcp,port={PORT},path={d}/web.sock")
    assert parsed == [made]
    with pytest.raises(unsock.RuleError, match="position"):
        unsock.rule_list("in,port=notaport,path=/x")
    with pytest.raises(unsock.ConfigError):
        unsock.environment([unsock.Rule(action=unsock.PathAction("relative/path"))])
    assert unsock.socket_path(PORT, [made]) == f"{d}/web.sock"
    assert unsock.socket_path(PORT, dir=d) == f"{d}/{PORT}.sock"
    assert unsock.socket_path(53, dir=d, sock_type="dgram") == f"{d}/53.udp"
    with pytest.raises(unsock.UnsockError, match="not put on a unix socket"):
        unsock.socket_path(9, [made])


def test_environment_for_subprocess(d: Path) -> None:
    env = unsock.environment(dir=d, addr="127.0.0.1/32")
    assert env["LD_PRELOAD"].split()[0] == str(unsock.library_path())
    (d / "www").mkdir()
    (d / "www" / "hello.txt").write_text("hello from a unix socket\n")
    p = subprocess.Popen([*HTTP_SERVER, str(PORT)], env=env, cwd=d / "www", stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        path = d / f"{PORT}.sock"
        for _ in range(500):
            if path.exists() or p.poll() is not None:
                break
            time.sleep(0.02)
        assert get(unsock.HTTPConnection(PORT, dir=d, timeout=10), "/hello.txt") == (200, b"hello from a unix socket\n")
        with unsock.connect(path, timeout=10) as s:
            s.sendall(b"GET /hello.txt HTTP/1.0\r\n\r\n")
            assert b"200 OK" in s.recv(1024)
    finally:
        p.terminate()
        p.wait(10)


def test_run_mirrors_subprocess_run(d: Path) -> None:
    code = ("import socket; s = socket.socket(); s.bind(('127.0.0.1', 7000)); s.listen(); "
            "print(s.getsockname(), s.family.name)")
    rule = f"in,addr=127.0.0.1,port=7000,path={d}/seven.sock"
    p = unsock.run([sys.executable, "-c", code], rules=[rule], capture_output=True, text=True, check=True,
                   verbose=True)
    assert p.stdout == "('127.0.0.1', 7000) AF_INET\n"
    assert f"-> path {d}/seven.sock" in p.stderr
    # env= is the environment to start from: what it sets reaches the program.
    p = unsock.run([sys.executable, "-c", "import os; print(os.environ['MARK'])"], dir=d,
                   env={**os.environ, "MARK": "kept"}, capture_output=True, text=True)
    assert p.stdout == "kept\n"


def engine_param(engine: str) -> str:
    if engine == "seccomp" and (why := seccomp.unavailable()) is not None:
        pytest.skip(f"the seccomp engine cannot run here: {why}")
    return engine


@pytest.mark.parametrize("engine", ["preload", "seccomp"])
def test_popen_and_serve_http_server(d: Path, engine: str) -> None:
    (d / "index.html").write_text("served\n")
    with unsock.serve([*HTTP_SERVER, str(PORT), "--directory", str(d)], PORT, dir=d,
                      engine=engine_param(engine)) as srv:
        assert isinstance(srv.process, unsock.Popen)
        assert srv.path == f"{d}/{PORT}.sock"
        assert get(srv.http(timeout=10), "/index.html") == (200, b"served\n")
        with srv.connect(timeout=10) as s:
            s.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            assert s.recv(64).startswith(b"HTTP/1.0 200")
    assert srv.process.returncode is not None  # stopped at the end of the block (SIGTERM: the file stays, stale)


def test_serve_reports_a_server_that_exits(d: Path) -> None:
    code = "import sys; print('no config here', file=sys.stderr); sys.exit(3)"
    with (pytest.raises(unsock.UnsockError, match=r"exited with status 3 before it served .*\n.*no config here"),
          unsock.serve([sys.executable, "-c", code], PORT, dir=d)):
        pass


def test_serve_times_out(d: Path) -> None:
    code = "import time; print('still starting', flush=True); time.sleep(60)"
    with (pytest.raises(unsock.UnsockError, match=r"did not serve .* within 0.5 s: its output:\nstill starting"),
          unsock.serve([sys.executable, "-c", code], PORT, dir=d, timeout=0.5)):
        pass


@pytest.mark.parametrize("engine", ["preload", "seccomp"])
def test_serve_nginx(d: Path, engine: str) -> None:
    from tests.integration.test_nginx import INDEX, stock_config

    nginx = require_program("nginx")
    d.chmod(0o755)  # the workers run as www-data
    docroot = d / "www"
    docroot.mkdir()
    (docroot / "index.html").write_bytes(INDEX)
    conf = d / "nginx.conf"
    conf.write_text(stock_config(d, docroot, PORT))
    argv = [nginx, "-c", str(conf), "-e", str(d / "error.log"), "-g", "daemon off;"]
    with unsock.serve(argv, PORT, dir=d, mode=0o666, engine=engine_param(engine)) as srv:
        assert get(srv.http(timeout=10)) == (200, INDEX)
        # its reverse proxy reaches the first server through the shim, over unix sockets
        assert get(unsock.HTTPConnection(PORT + 1, dir=d, timeout=10)) == (200, INDEX)


@pytest.mark.parametrize("engine", ["auto", "seccomp"])
def test_serve_a_static_go_server(d: Path, engine: str) -> None:
    probe = go_probe()
    with unsock.serve([str(probe), "serve", f"127.0.0.1:{PORT}"], PORT, dir=d,
                      engine=engine_param("seccomp") and engine) as srv:
        status, body = get(srv.http(timeout=10))
        assert status == 200 and body, body
    assert srv.process.returncode is not None


def test_abstract_socket_path() -> None:
    rule = unsock.rule_list("in,port=9000,abstract=svc-%p")
    assert unsock.socket_path(9000, rule) == "\0svc-9000"
    # a socket.socket can connect to it as to any unix address
    srv = socket.socket(socket.AF_UNIX)
    srv.bind("\0svc-9000")
    srv.listen()
    try:
        with unsock.connect(9000, rule, timeout=5):
            pass
    finally:
        srv.close()
