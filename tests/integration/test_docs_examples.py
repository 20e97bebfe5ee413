"""The examples of README.md and docs/*.md that run on this host, run as the pages give them.

- Every ``<!-- tested-here: NAME -->`` shell block runs as written (sh, an empty
  directory, the virtual environment first on PATH) and must print what EXPECTED
  says and, where the page shows it (``<!-- output: NAME -->``), exactly that.
- The systemd units of docs/systemd.md run with systemd-socket-activate in place of
  systemd (paths moved into a temporary directory): the socket unit's ListenStream,
  SocketMode, SocketGroup and FileDescriptorName, the service's WorkingDirectory and
  ExecStart; and the service that makes its own socket.
- The nginx set-up of docs/nginx.md: the application started by the page's commands,
  a real nginx with the page's server block, the page's curl commands."""

from __future__ import annotations

import grp
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.docs import (
    Background,
    block_env,
    blocks_tested_here,
    marked_blocks,
    normalize,
    one,
    pages,
    parse_unit,
    rewrite,
    rules_on_page,
    run_block,
    shown_outputs,
    venv_bin,
)
from tests.helpers.proc import wait_for
from tests.helpers.programs import require_program


@dataclass(frozen=True)
class Expect:
    says: tuple[str, ...]  # each must be in the block's output
    programs: tuple[str, ...] = ()  # real programs the block runs besides sh and unsock


EXPECTED = {
    "readme_rules": Expect(("reject EACCES (13)",)),
    "rules_run": Expect(("Directory listing for /",), ("python3", "curl")),
    "rules_file": Expect(("valid", "path /run/app/http.sock  mode=0660")),
    "rules_check": Expect(("rule 2 'in,port=99999,path=/tmp/x' at position 9", "exit status 1")),
    "rules_same": Expect(("addr=127.0.0.1/32,path=/run/app/%p.sock",)),
    "rules_control": Expect(("as a rule target: vsock=2:5000",)),
    "rules_globs": Expect(("run/**/*.sock  -> moved.sock",), ("python3",)),
    "rules_log": Expect(("rule 2 -> reject Permission denied", "no rule -> left alone"), ("curl",)),
    "systemd_activate": Expect(
        ("hello from a socket-activated http.server", "rule 1 -> systemd socket"),
        ("systemd-socket-activate", "python3", "curl"),
    ),
    "ip2unix_run": Expect(("Directory listing for /",), ("python3", "curl")),
    "ip2unix_print": Expect(("systemd ssh",)),
    "ip2unix_yaml": Expect(("in,port=80,reject=EADDRINUSE", "valid"), ("python3",)),
    "ip2unix_adds": Expect(("vsock host:2375", "mode=0660")),
    "ip2unix_check": Expect(("exit status 1",)),
    "ip2unix_means": Expect(("(ip2unix takes the last, udp)", "exit status 1")),
    "tools_ls": Expect(("/socks/8000.sock  stream  port 8000", "python3 -m http.server --bind 127.175.0.0 8000"),
                       ("python3",)),
    "tools_doctor": Expect(("ok: engine: auto picks preload: ", "ok: the shim ", "everything needed is there")),
    "tools_every": Expect(("unsock 0.1.0\n", "export UNSOCK_RULES='dgram,addr=127.0.0.1/32,path=/run/app/%p.udp\n"
                           "addr=127.0.0.1/32,path=/run/app/%p.sock'", "/unsock/libunsock.so\n",
                           "/unsock/share/man/man1/unsock.1\n")),
}

#: The rules the pages show being refused.
INVALID_ON_PURPOSE = {"in,port=99999,path=/tmp/x", "out,blackhole", "reject=eaddrinuse,port=80-79",
                      "tcp,udp,path=/run/app.sock", "in,out,path=/run/app.sock", "reject=9999"}
UNITS = {"app.socket", "app.service", "app-direct.service"}
NGINX_PARTS = {"app", "conf", "check"}
BLOCK_TIMEOUT = 60


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A short, world-searchable directory (socket paths must fit in 108 bytes;
    nginx's workers run as www-data)."""
    path = Path(tempfile.mkdtemp(prefix="us-doc-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unix_listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(2)
        return s.connect_ex(str(path)) == 0


def tcp_listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def curl_unix(path: Path, cwd: Path) -> str:
    """GET / over the unix socket at path, with a real curl outside the shim."""
    status, out = run_block(
        f"curl -sS --fail --max-time 10 --unix-socket {shlex.quote(str(path))} http://localhost/",
        cwd, cwd / "curl.log", timeout=30,
    )
    assert status == 0, f"curl --unix-socket {path}: exit {status}: {out}"
    return out


# --- the shell blocks ------------------------------------------------------


def test_every_tested_here_block_is_known() -> None:
    assert set(blocks_tested_here()) == set(EXPECTED)


def test_every_shown_output_belongs_to_a_block() -> None:
    assert set(shown_outputs()) <= set(blocks_tested_here())


def test_no_vm_marker_in_the_pages_run_here() -> None:
    """tests/vm/test_docs.py owns `<!-- tested: -->` (run in a VM); the pages run
    here must not add any."""
    for page in pages():
        if page.name in ("README.md", "systemd.md", "nginx.md", "ip2unix.md", "rules.md"):
            assert "<!-- tested: " not in page.read_text(), page


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_block_prints_what_the_page_says(name: str, workdir: Path) -> None:
    expect = EXPECTED[name]
    for program in ("sh", *expect.programs):
        require_program(program)
    cwd = workdir / "block"
    cwd.mkdir()
    status, out = run_block(blocks_tested_here()[name], cwd, workdir / "output", timeout=BLOCK_TIMEOUT)
    assert status == 0, f"{name}: exit status {status} (None: timed out after {BLOCK_TIMEOUT}s):\n{out}"
    for text in expect.says:
        assert text in out, f"{name}: {text!r} not in the output:\n{out}"
    shown = shown_outputs().get(name)
    if shown is not None:
        assert normalize(out) == normalize(shown), f"{name}: the page shows\n{shown}\nthe block printed\n{out}"


def check_rules(rules: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    args = [str(venv_bin() / "unsock"), "rules", "--check"]
    for rule in rules:
        args += ["-r", rule]
    return subprocess.run(args, cwd=cwd, env=block_env(), capture_output=True, text=True, timeout=60, check=False)


def test_every_rule_on_the_pages_is_valid(workdir: Path) -> None:
    """Every `-r RULE` of an `unsock run`/`unsock rules` line of README.md and
    docs/ (the examples that cannot run here too) passes `unsock rules --check`;
    those shown being refused are."""
    found = {rule for page in pages() for rule in rules_on_page(page.read_text())}
    assert found >= INVALID_ON_PURPOSE
    valid = sorted(found - INVALID_ON_PURPOSE)
    assert len(valid) > 20, valid
    p = check_rules(valid, workdir)
    assert p.returncode == 0, p.stderr
    for rule in sorted(INVALID_ON_PURPOSE):
        p = check_rules([rule], workdir)
        assert p.returncode == 1 and p.stderr.count("\n") == 1, (rule, p.stderr)


# --- docs/systemd.md ---------------------------------------------------------


def test_every_unit_is_known() -> None:
    assert set(marked_blocks("unit")) == UNITS


def moved(tmp: Path) -> dict[str, str]:
    """The page's absolute paths, moved into tmp."""
    return {"/run/app": str(tmp / "run-app"), "/srv/www": str(tmp / "www")}


def docroot(tmp: Path, text: str) -> Path:
    www = tmp / "www"
    www.mkdir(mode=0o755, exist_ok=True)
    (www / "index.html").write_text(text)
    (www / "index.html").chmod(0o644)
    return www


def exec_start(service: dict[str, dict[str, list[str]]], paths: dict[str, str]) -> list[str]:
    argv = [rewrite(arg, paths) for arg in shlex.split(one(service, "Service", "ExecStart"))]
    assert argv[:3] == ["/usr/bin/env", "unsock", "run"], argv
    return argv


def test_socket_unit_and_service(workdir: Path) -> None:
    """app.socket + app.service: systemd-socket-activate listens where
    ListenStream says, the socket gets SocketMode and SocketGroup (as systemd
    makes it), the ExecStart command line serves on it; the file is the same
    socket, with the same mode, after the service started."""
    tool = require_program("systemd-socket-activate")
    require_program("curl")
    units = marked_blocks("unit")
    sock, service = parse_unit(units["app.socket"]), parse_unit(units["app.service"])
    assert "app.socket" in one(service, "Unit", "Requires")
    paths = moved(workdir)
    listen = Path(rewrite(one(sock, "Socket", "ListenStream"), paths))
    mode = int(one(sock, "Socket", "SocketMode"), 8)
    fdname = one(sock, "Socket", "FileDescriptorName")
    group = one(sock, "Socket", "SocketGroup")
    www = Path(rewrite(one(service, "Service", "WorkingDirectory"), paths))
    assert www == docroot(workdir, "hello from app.service\n")
    argv = exec_start(service, paths)
    listen.parent.mkdir(mode=0o755)  # systemd's DirectoryMode= default

    run = Background(
        [tool, "-l", str(listen), f"--fdname={fdname}", "-E", f"PATH={block_env()['PATH']}", "--", *argv],
        www, block_env(), workdir / "service.log",
    )
    try:
        wait_for(lambda: "Listening on" in run.output(), 15, "systemd-socket-activate listening")
        listen.chmod(mode)
        root = os.geteuid() == 0
        if root:
            os.chown(listen, -1, grp.getgrnam(group).gr_gid)
        before = listen.stat()
        assert curl_unix(listen, workdir) == "hello from app.service\n", run.output()
        assert curl_unix(listen, workdir) == "hello from app.service\n", run.output()
        after = listen.stat()
        assert stat.S_ISSOCK(after.st_mode)
        assert (after.st_ino, stat.S_IMODE(after.st_mode)) == (before.st_ino, mode), run.output()
        if root:
            assert after.st_gid == grp.getgrnam(group).gr_gid
        assert run.proc.poll() is None, run.output()
    finally:
        run.end()


def test_service_that_makes_its_socket(workdir: Path) -> None:
    """app-direct.service: its ExecStart creates the socket file with the
    rule's mode=; killed (as systemctl stop kills http.server) and started
    again, it replaces the file left behind."""
    require_program("curl")
    service = parse_unit(marked_blocks("unit")["app-direct.service"])
    paths = moved(workdir)
    runtime = workdir / "run-app"
    assert paths["/run/app"] == str(runtime) and one(service, "Service", "RuntimeDirectory") == "app"
    runtime.mkdir(mode=int(one(service, "Service", "RuntimeDirectoryMode"), 8))
    www = Path(rewrite(one(service, "Service", "WorkingDirectory"), paths))
    assert www == docroot(workdir, "hello from app-direct.service\n")
    argv = exec_start(service, paths)
    rule = argv[argv.index("-r") + 1]
    sock = Path(re.search(r"path=([^,]+)", rule)[1])  # type: ignore[index]
    mode = int(re.search(r"mode=([0-7]+)", rule)[1], 8)  # type: ignore[index]
    assert sock.parent == runtime, rule

    for start in ("first", "again"):
        run = Background(argv, www, block_env(), workdir / f"service-{start}.log")
        try:
            wait_for(lambda: unix_listening(sock), 20, f"{sock} listening ({start})")
            assert curl_unix(sock, workdir) == "hello from app-direct.service\n", run.output()
            st = sock.stat()
            assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == mode, oct(st.st_mode)
        finally:
            run.end()


# --- docs/nginx.md -----------------------------------------------------------


NGINX_CONF = """\
daemon off;
{user}
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {run}/access.log;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
{server}
}}
"""


def test_nginx_in_front_of_the_app(workdir: Path) -> None:
    """The page's commands start the application on its unix socket (mode 0660,
    group www-data through the set-group-ID directory); a real nginx with the
    page's server block (on a free loopback port, workers as www-data) proxies to
    it; the page's curl commands get the page both ways."""
    nginx = require_program("nginx")
    require_program("curl")
    require_program("install")
    parts = marked_blocks("nginx")
    assert set(parts) == NGINX_PARTS
    root = os.geteuid() == 0
    paths = moved(workdir)
    port = free_tcp_port()
    docroot(workdir, "hello from behind nginx\n")
    app = rewrite(parts["app"], paths)
    if not root:  # only root may give the directory another group, and switch nginx's user
        app = app.replace(" -g www-data", "")
    sock = Path(paths["/run/app"]) / "app.sock"
    assert str(sock) in app

    run = workdir / "nginx"
    run.mkdir()
    server = rewrite(parts["conf"], {**paths, "listen 80;": f"listen 127.0.0.1:{port};"})
    assert f"listen 127.0.0.1:{port};" in server and f"unix:{sock}:" in server, server
    conf = run / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user="user www-data;" if root else "", run=run, server=server))

    application = Background(["sh", "-c", app], workdir, block_env(), workdir / "app.log")
    proxy: Background | None = None
    try:
        wait_for(lambda: unix_listening(sock), 20, f"the application's socket {sock}")
        st = sock.stat()
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
        if root:
            assert st.st_gid == grp.getgrnam("www-data").gr_gid, "the socket file is not in group www-data"
        proxy = Background([nginx, "-p", str(run), "-c", str(conf), "-e", str(run / "error.log")], run,
                           block_env(), workdir / "nginx.out")
        wait_for(lambda: tcp_listening(port), 20, f"nginx on 127.0.0.1:{port}")
        check = rewrite(parts["check"], {**paths, "http://localhost/": f"http://127.0.0.1:{port}/"})
        status, out = run_block(check, workdir, workdir / "check.log", timeout=BLOCK_TIMEOUT)
        logs = f"{out}\napp: {application.output()}\nnginx: {proxy.output()}"
        error_log = run / "error.log"
        logs += f"\nerror.log: {error_log.read_text() if error_log.exists() else ''}"
        assert status == 0, logs
        assert out.count("hello from behind nginx\n") == 2, logs  # the app alone, then through nginx
        assert application.proc.poll() is None, logs
    finally:
        if proxy is not None:
            proxy.end()
        application.end()
