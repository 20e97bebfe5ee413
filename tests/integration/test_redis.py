"""redis-server under the shim with redis-cli and redis-benchmark under the
shim, a native redis-cli over the socket file, and SHUTDOWN removing it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers.proc import Unsock, wait_for
from tests.helpers.programs import assert_no_tcp_listener, plain_env, require_program, unix_socket_alive

pytestmark = pytest.mark.program("redis-server")


def start_redis(unsock: Unsock, tmp_path: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    server = require_program("redis-server")
    return unsock.start(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path), "--daemonize", "no", "--logfile", "", *extra],
        wait_port=port,
    )


def cli(unsock: Unsock, port: int, *args: str, input: bytes | None = None) -> str:
    out = unsock.run(
        [require_program("redis-cli"), "-h", "127.0.0.1", "-p", str(port), *args], input=input, timeout=30
    )
    return out.stdout.decode()


def test_cli_set_get(unsock: Unsock, tmp_path: Path) -> None:
    port = 18401
    start_redis(unsock, tmp_path, port)
    assert_no_tcp_listener(port)
    assert cli(unsock, port, "PING").strip() == "PONG"
    assert cli(unsock, port, "SET", "greeting", "hello unsock").strip() == "OK"
    assert cli(unsock, port, "GET", "greeting").strip() == "hello unsock"
    # a 1 MiB value, from stdin (-x)
    value = os.urandom(512 * 1024).hex().encode()
    assert cli(unsock, port, "-x", "SET", "big", input=value).strip() == "OK"
    assert cli(unsock, port, "STRLEN", "big").strip() == str(len(value))
    assert cli(unsock, port, "--raw", "GET", "big").rstrip("\n").encode() == value

    # the server sees its own port, and its clients as AF_INET peers on 127.0.0.1
    assert re.search(rf"^tcp_port:{port}\r?$", cli(unsock, port, "INFO", "server"), re.M)
    clients = cli(unsock, port, "CLIENT", "LIST")
    assert re.search(rf"addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:{port} ", clients), clients


def test_native_cli_over_socket_file(unsock: Unsock, tmp_path: Path) -> None:
    port = 18402
    start_redis(unsock, tmp_path, port)
    cli(unsock, port, "SET", "k", "from the shim")
    p = subprocess.run(
        [require_program("redis-cli"), "-s", str(unsock.path(port)), "GET", "k"],
        env=plain_env(), capture_output=True, timeout=30, check=False,
    )
    assert (p.returncode, p.stdout.decode().strip()) == (0, "from the shim"), p.stderr.decode()


def test_benchmark(unsock: Unsock, tmp_path: Path) -> None:
    port = 18403
    server = start_redis(unsock, tmp_path, port)
    bench = require_program("redis-benchmark")
    for extra in ([], ["-P", "16"]):
        out = unsock.run(
            [bench, "-h", "127.0.0.1", "-p", str(port), "-q", "-n", "2000", "-c", "10", "-t", "set,get", *extra],
            timeout=120,
        )
        text = (out.stdout + out.stderr).decode()
        # -q prints one "TEST: N requests per second" line per test; errors otherwise
        results = dict(re.findall(r"^\s*(SET|GET): ([\d.]+) requests per second", text.replace("\r", "\n"), re.M))
        assert set(results) == {"SET", "GET"}, text
        assert all(float(v) > 0 for v in results.values()), text
        assert not re.search(r"error|ERR|refused|reset", text, re.I), text
    assert server.poll() is None, "redis-server died under the benchmark"
    stats = cli(unsock, port, "INFO", "stats")
    assert re.search(r"^rejected_connections:0\r?$", stats, re.M), stats
    # every benchmark connection was closed on the server side too (EOF
    # reached it): only the INFO request's own connection is left
    wait_for(
        lambda: re.search(r"^connected_clients:1\r?$", cli(unsock, port, "INFO", "clients"), re.M) is not None,
        10, "redis-server to see every benchmark client close",
    )


def test_shutdown_removes_socket_file(unsock: Unsock, tmp_path: Path) -> None:
    port = 18404
    server = start_redis(unsock, tmp_path, port)
    redis_cli = require_program("redis-cli")
    unsock.run([redis_cli, "-h", "127.0.0.1", "-p", str(port), "SHUTDOWN", "NOSAVE"], check=False, timeout=30)
    assert server.wait(15) == 0
    assert not unsock.path(port).exists(), "redis-server exited and left its socket file"


def test_replica_connects_to_primary(unsock: Unsock, tmp_path: Path) -> None:
    """A redis-server replica's outgoing (non-blocking) connection to its
    primary is converted too: writes on the primary reach the replica."""
    primary, replica = 18405, 18406
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    start_redis(unsock, tmp_path / "p", primary, "--repl-diskless-sync-delay", "0")
    start_redis(unsock, tmp_path / "r", replica, "--replicaof", "127.0.0.1", str(primary))
    wait_for(
        lambda: "master_link_status:up" in cli(unsock, replica, "INFO", "replication"), 20, "the replica to sync"
    )
    cli(unsock, primary, "SET", "replicated", "yes")
    wait_for(lambda: cli(unsock, replica, "GET", "replicated").strip() == "yes", 10, "the write to replicate")
    info = cli(unsock, primary, "INFO", "replication")
    assert re.search(r"^slave0:ip=127\.0\.0\.1,port=" + str(replica) + r",state=online", info, re.M), info


def test_restart_after_sigkill_replaces_stale_file(unsock: Unsock, tmp_path: Path) -> None:
    """A redis-server killed with SIGKILL leaves its socket file behind; the
    next one on the same port replaces the stale file and serves."""
    port = 18407
    server = start_redis(unsock, tmp_path, port)
    cli(unsock, port, "SET", "k", "first")
    server.kill()
    server.wait(15)
    assert unsock.path(port).exists(), "expected the killed server's socket file to stay behind"
    start_redis(unsock, tmp_path, port)  # the file exists already: wait for it to be served
    wait_for(lambda: unix_socket_alive(unsock.path(port)), 10, "the new redis-server to listen")
    assert cli(unsock, port, "PING").strip() == "PONG"
    assert cli(unsock, port, "EXISTS", "k").strip() == "0"  # a new server, not the old one
