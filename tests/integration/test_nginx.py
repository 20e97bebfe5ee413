"""nginx with Debian's stock nginx.conf (sendfile, tcp_nopush, gzip, 2
workers, daemonizing) under the shim, loaded with ab and wrk under the shim:
no failed or non-2xx request, and nothing in error.log (the original unsock
fails every request of this configuration on TCP_CORK)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmarks.workloads import MODULES_INCLUDE

from tests.helpers.daemons import (
    ProcId,
    adopting_orphans,
    children,
    pid_alive,
    proc_id,
    read_pid,
    reap,
    stop_daemon,
    wait_gone,
)
from tests.helpers.proc import Unsock, wait_for
from tests.helpers.programs import (
    assert_no_tcp_listener,
    plain_env,
    require_path,
    require_program,
    unix_socket_alive,
)

pytestmark = pytest.mark.program("nginx")

STOCK_CONF = Path("/etc/nginx/nginx.conf")
INDEX = b"<html><body>unsock nginx test</body></html>\n"
BIG_SIZE = 256 * 1024 + 3


def stock_config(run: Path, docroot: Path, port: int) -> str:
    """Debian's nginx.conf with only what a private, non-system run needs
    changed: 2 workers, pid/log/temp paths in run, and in place of the
    sites-enabled include Debian's default site on 127.0.0.1:port plus a
    reverse proxy to it on port+1."""
    text = require_path(str(STOCK_CONF), "Debian's stock nginx configuration").read_text()
    server = f"""
	client_body_temp_path {run}/body;
	proxy_temp_path {run}/proxy;
	fastcgi_temp_path {run}/fastcgi;
	uwsgi_temp_path {run}/uwsgi;
	scgi_temp_path {run}/scgi;

	server {{
		listen 127.0.0.1:{port} default_server;
		root {docroot};
		index index.html;
		server_name _;
		location / {{
			try_files $uri $uri/ =404;
		}}
	}}

	# a reverse proxy in front of the server above, over the shim both ways
	server {{
		listen 127.0.0.1:{port + 1};
		location / {{
			proxy_pass http://127.0.0.1:{port};
		}}
	}}
"""
    replacements = [
        (r"^worker_processes\s+\S+;", "worker_processes 2;"),
        (r"^pid\s+\S+;", f"pid {run}/nginx.pid;"),
        (r"^error_log\s+\S+;", f"error_log {run}/error.log;"),
        (r"^\s*access_log\s+\S+;", f"\taccess_log {run}/access.log;"),
        (r"^\s*include\s+/etc/nginx/sites-enabled/\*;", server),
    ]
    if os.geteuid() != 0:
        replacements.append((r"^user\s+\S+;", ""))  # only root can switch users
    # The host's dynamic modules (Debian's libnginx-mod-*) stay out: the test needs none.
    text = re.sub(MODULES_INCLUDE, "", text)
    for pattern, new in replacements:
        text, n = re.subn(pattern, lambda _m, new=new: new, text, count=1, flags=re.M)
        assert n == 1, f"{STOCK_CONF} has no line matching {pattern!r}: the test needs updating"
    for kept in ("sendfile on;", "tcp_nopush on;", "gzip on;"):
        assert kept in text, f"stock directive {kept!r} missing from {STOCK_CONF}"
    return text


class Nginx:
    """One daemonizing nginx under the shim."""

    def __init__(self, unsock: Unsock, run: Path, port: int) -> None:
        self.unsock = unsock
        self.run_dir = run
        self.port = port
        self.binary = require_program("nginx")
        self.docroot = run / "www"
        self.conf = run / "nginx.conf"
        self.error_log = run / "error.log"
        self.access_log = run / "access.log"
        self.pid: int | None = None
        self.known: set[ProcId] = set()  # every master and worker seen, to stop and reap

    def args(self, *extra: str) -> list[str]:
        return [self.binary, "-c", str(self.conf), "-e", str(self.error_log), *extra]

    def start(self) -> None:
        # nginx binds, then daemonizes: the process that bound exits at once.
        # Its workers run as www-data: as proxies they connect to the socket
        # files of the master (root), which must let them (0666; the
        # directory is made searchable by the fixture).
        self.unsock.run(self.args(), env=self.unsock.env(UNSOCK_MODE="0666"), timeout=30)
        self.pid = read_pid(self.run_dir / "nginx.pid")
        self._remember([self.pid])
        wait_for(lambda: len(self.workers()) == 2, 10, "2 nginx workers")
        for port in (self.port, self.port + 1):
            assert self.unsock.path(port).exists(), "nginx daemonized and its socket file is gone"

    def workers(self) -> list[int]:
        assert self.pid is not None
        found = children(self.pid)
        self._remember(found)
        return found

    def _remember(self, pids: list[int]) -> None:
        self.known.update(i for i in map(proc_id, pids) if i is not None)

    def signal(self, command: str) -> None:
        self.unsock.run(self.args("-s", command), timeout=30)

    def errors(self) -> list[str]:
        """error.log lines above notice level."""
        if not self.error_log.exists():
            return []
        return [
            line for line in self.error_log.read_text().splitlines()
            if not re.search(r"\[(notice|info|debug)\]", line)
        ]

    def stop(self) -> None:
        master = next((i for i in self.known if i[0] == self.pid), None)
        if master is not None:
            stop_daemon(master, signal.SIGTERM)
        for ident in self.known:  # anything left, e.g. workers of an earlier generation
            stop_daemon(ident, signal.SIGKILL, 2)
        reap(self.known)


@pytest.fixture
def nginx(unsock: Unsock) -> Iterator[Nginx]:
    # Readable by the www-data workers, unlike pytest's 0700 tmp_path.
    run = Path(tempfile.mkdtemp(prefix="unsock-nginx-", dir="/tmp"))
    run.chmod(0o755)
    n = Nginx(unsock, run, 18301)
    unsock.dir.chmod(0o711)
    n.docroot.mkdir()
    n.docroot.chmod(0o755)
    (n.docroot / "index.html").write_bytes(INDEX)
    (n.docroot / "big.bin").write_bytes(os.urandom(BIG_SIZE))
    for f in n.docroot.iterdir():
        f.chmod(0o644)
    n.conf.write_text(stock_config(run, n.docroot, n.port))
    try:
        with adopting_orphans():
            yield n
    finally:
        n.stop()
        shutil.rmtree(run, ignore_errors=True)


def ab(unsock: Unsock, url: str, *opts: str, n: int = 2000, c: int = 8) -> dict[str, int]:
    """Run ab under the shim; the numbers of its report that matter."""
    ab_bin = require_program("ab")
    out = unsock.run([ab_bin, "-q", "-s", "10", "-n", str(n), "-c", str(c), *opts, url], timeout=120)
    text = out.stdout.decode()
    report: dict[str, int] = {}
    for key, pattern in (
        ("complete", r"Complete requests:\s+(\d+)"),
        ("failed", r"Failed requests:\s+(\d+)"),
        ("non2xx", r"Non-2xx responses:\s+(\d+)"),
        ("write_errors", r"Write errors:\s+(\d+)"),
        ("keepalive", r"Keep-Alive requests:\s+(\d+)"),
    ):
        m = re.search(pattern, text)
        report[key] = int(m.group(1)) if m else 0
    assert report["complete"] == n, f"ab did not complete {n} requests:\n{text}\n{out.stderr.decode()}"
    return report


def curl_native(sock: Path, path: str) -> bytes:
    p = subprocess.run(
        [require_program("curl"), "-sS", "--fail", "--max-time", "10", "--unix-socket", str(sock), f"http://x{path}"],
        env=plain_env(), capture_output=True, timeout=30, check=False,
    )
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout


def test_stock_config_under_ab_load(unsock: Unsock, nginx: Nginx) -> None:
    nginx.start()
    port = nginx.port
    assert stat.S_ISSOCK(unsock.path(port).stat().st_mode)
    assert_no_tcp_listener(port)
    assert curl_native(unsock.path(port), "/") == INDEX
    assert curl_native(unsock.path(port), "/big.bin") == (nginx.docroot / "big.bin").read_bytes()

    small = ab(unsock, f"http://127.0.0.1:{port}/")
    assert (small["failed"], small["non2xx"], small["write_errors"]) == (0, 0, 0), small
    keepalive = ab(unsock, f"http://127.0.0.1:{port}/", "-k")
    assert (keepalive["failed"], keepalive["non2xx"]) == (0, 0), keepalive
    assert keepalive["keepalive"] > 0, "nginx kept no connection alive"
    # sendfile + tcp_nopush (TCP_CORK) on a file larger than one write
    big = ab(unsock, f"http://127.0.0.1:{port}/big.bin", n=300)
    assert (big["failed"], big["non2xx"]) == (0, 0), big

    assert nginx.errors() == [], "nginx logged errors:\n" + "\n".join(nginx.errors())
    statuses = [line.split('"')[2].split()[0] for line in nginx.access_log.read_text().splitlines()]
    assert len(statuses) == 2 + 2000 + 2000 + 300
    assert set(statuses) == {"200"}, f"non-200 statuses in access.log: {set(statuses)}"
    assert len(nginx.workers()) == 2, "an nginx worker died"
    assert_no_tcp_listener(port)


def test_stock_config_under_wrk_load(unsock: Unsock, nginx: Nginx) -> None:
    nginx.start()
    wrk = require_program("wrk")
    for path in ("/", "/big.bin"):
        out = unsock.run([wrk, "-t", "2", "-c", "8", "-d", "2s", f"http://127.0.0.1:{nginx.port}{path}"], timeout=60)
        text = out.stdout.decode()
        m = re.search(r"(\d+) requests in", text)
        assert m and int(m.group(1)) > 0, text
        assert "Socket errors" not in text, text
        assert "Non-2xx" not in text, text
    assert nginx.errors() == [], "nginx logged errors:\n" + "\n".join(nginx.errors())


def test_reload_keeps_serving(unsock: Unsock, nginx: Nginx) -> None:
    """`nginx -s reload` re-reads the configuration, keeps the listening
    socket and replaces the workers; they serve on the same socket file."""
    nginx.start()
    old_workers = set(nginx.workers())
    nginx.signal("reload")
    wait_for(lambda: not (set(nginx.workers()) & old_workers) and len(nginx.workers()) == 2, 15, "new workers")
    assert unix_socket_alive(unsock.path(nginx.port))
    report = ab(unsock, f"http://127.0.0.1:{nginx.port}/", n=500)
    assert (report["failed"], report["non2xx"]) == (0, 0), report
    assert nginx.errors() == [], "nginx logged errors:\n" + "\n".join(nginx.errors())


def test_quit_then_restart_on_the_same_port(unsock: Unsock, nginx: Nginx) -> None:
    """`nginx -s quit` ends nginx and its socket file goes with the last
    holders of the listener: not the process that bound it (it exited when
    nginx daemonized) but the master (root) or its www-data workers, which
    close last yet may not unlink in the directory. A new nginx then binds
    the same port again."""
    nginx.start()
    first = nginx.pid
    assert first is not None
    workers = nginx.workers()
    nginx.signal("quit")
    assert wait_gone([first, *workers], 15), "nginx did not quit"
    sock = unsock.path(nginx.port)
    # the last holders of the listener (the www-data workers or the root
    # master) are gone: the file goes with them
    wait_for(lambda: not sock.exists(), 5, f"{sock} to be removed after nginx quit")
    nginx.start()
    assert nginx.pid != first and pid_alive(nginx.pid or 0)
    assert curl_native(sock, "/") == INDEX
    assert unsock.run(
        [require_program("curl"), "-sS", "--fail", "--max-time", "20", f"http://127.0.0.1:{nginx.port}/"]
    ).stdout == INDEX
    assert nginx.errors() == [], "nginx logged errors:\n" + "\n".join(nginx.errors())


def test_curl_reuses_keepalive_connection(unsock: Unsock, nginx: Nginx) -> None:
    """curl under the shim fetches several URLs over one kept-alive
    connection (its liveness check on the idle converted socket passes)."""
    nginx.start()
    url = f"http://127.0.0.1:{nginx.port}/"
    out = unsock.run(
        [require_program("curl"), "-sS", "--fail", "--max-time", "20", "-w", "%{num_connects}\n",
         *(arg for u in (url, f"{url}big.bin", url) for arg in ("-o", "/dev/null", u))]
    )
    assert out.stdout.decode().split() == ["1", "0", "0"], out.stdout.decode()
    assert nginx.errors() == [], "nginx logged errors:\n" + "\n".join(nginx.errors())


def test_reverse_proxy_under_load(unsock: Unsock, nginx: Nginx) -> None:
    """nginx's upstream connections go over the shim too. nginx registers a
    new upstream socket with epoll *before* connect(), so the registration
    must survive the socket's conversion at connect."""
    nginx.start()
    proxy = nginx.port + 1
    assert_no_tcp_listener(proxy)
    assert curl_native(unsock.path(proxy), "/big.bin") == (nginx.docroot / "big.bin").read_bytes()
    report = ab(unsock, f"http://127.0.0.1:{proxy}/", n=1000)
    assert (report["failed"], report["non2xx"]) == (0, 0), report
    big = ab(unsock, f"http://127.0.0.1:{proxy}/big.bin", n=200)
    assert (big["failed"], big["non2xx"]) == (0, 0), big
    assert nginx.errors() == [], "nginx logged errors:\n" + "\n".join(nginx.errors())
    statuses = [line.split('"')[2].split()[0] for line in nginx.access_log.read_text().splitlines()]
    assert statuses.count("200") == 2 * (1 + 1000 + 200), "every proxied request is logged twice, all 200"


def listen_as(nginx: Nginx, *directives: str) -> None:
    """The first server's `listen 127.0.0.1:PORT default_server;` replaced by directives."""
    old = f"listen 127.0.0.1:{nginx.port} default_server;"
    text = nginx.conf.read_text()
    assert old in text
    nginx.conf.write_text(text.replace(old, " ".join(directives)))


def test_reuseport_listeners_of_two_workers(unsock: Unsock, nginx: Nginx) -> None:
    """`listen ... reuseport`: nginx's master binds one socket per worker to the
    same port with SO_REUSEPORT before it forks them; under unsock they share
    the one listener at DIR/PORT.sock, and both workers start and serve."""
    listen_as(nginx, f"listen 127.0.0.1:{nginx.port} default_server reuseport;")
    nginx.start()
    assert_no_tcp_listener(nginx.port)
    report = ab(unsock, f"http://127.0.0.1:{nginx.port}/", n=1000)
    assert (report["failed"], report["non2xx"]) == (0, 0), report
    assert nginx.errors() == [], "nginx logged errors:\n" + "\n".join(nginx.errors())
    assert len(nginx.workers()) == 2


def test_dual_stack_listeners_on_one_rule(unsock: Unsock, nginx: Nginx) -> None:
    """`listen 127.0.0.1:P; listen [::1]:P;`: both addresses stand for the one
    socket file of port P, which serves clients of either family."""
    listen_as(nginx, f"listen 127.0.0.1:{nginx.port} default_server;", f"listen [::1]:{nginx.port} default_server;")
    unsock.addr = "127.0.0.1/8,::1"
    nginx.start()
    assert_no_tcp_listener(nginx.port)
    curl = require_program("curl")
    for host in ("127.0.0.1", "[::1]"):
        got = unsock.run([curl, "-sS", "--fail", "--max-time", "20", f"http://{host}:{nginx.port}/"])
        assert got.stdout == INDEX, host
    report = ab(unsock, f"http://[::1]:{nginx.port}/", n=500)
    assert (report["failed"], report["non2xx"]) == (0, 0), report
    assert nginx.errors() == [], "nginx logged errors:\n" + "\n".join(nginx.errors())
