"""psql and pgbench (libpq over "TCP") under the shim against a PostgreSQL
server that listens only on its native unix socket directory: DIR/PORT.sock
is a symlink to the server's .s.PGSQL.N socket file."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.proc import Unsock, stop, wait_for
from tests.helpers.programs import plain_env, require_path, require_program, tcp_listening_ports

pytestmark = pytest.mark.program("postgres")

PG_PORT = 18701  # the server's own port: its socket is SOCKDIR/.s.PGSQL.18701


@dataclass
class Postgres:
    socket_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def socket_file(self) -> Path:
        return self.socket_dir / f".s.PGSQL.{self.port}"


def as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres user when root."""
    if os.geteuid() != 0:
        return []
    return [require_program("runuser"), "-u", "postgres", "--"]


def socket_accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        return s.connect_ex(str(path)) == 0


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """One server per module: initdb once, fsync off, no TCP at all."""
    bindir = require_path("/usr/lib/postgresql/*/bin/postgres", "PostgreSQL server").parent
    base = Path(tempfile.mkdtemp(prefix="unsock-pg-", dir="/tmp"))
    data, sockets, log = base / "data", base / "sock", base / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        base.chmod(0o755)
        for p in (base, sockets):
            shutil.chown(p, "postgres", "postgres")
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [*as_postgres(), str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "--no-sync", "--encoding=UTF8", "--locale=C"],
            env=plain_env(), capture_output=True, timeout=120, check=True,
        )
        with open(log, "wb") as logf:
            server = subprocess.Popen(
                [*as_postgres(), str(bindir / "postgres"), "-D", str(data), "-p", str(PG_PORT),
                 "-c", "listen_addresses=", "-c", f"unix_socket_directories={sockets}",
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=30", "-c", "shared_buffers=16MB"],
                env=plain_env(), stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pg = Postgres(sockets, PG_PORT, server, log)

        def ready() -> bool:
            assert server is not None
            if server.poll() is not None:
                raise AssertionError(f"postgres exited {server.returncode}:\n{log.read_text()}")
            return pg.socket_file.exists() and socket_accepts(pg.socket_file)

        wait_for(ready, 60, "postgres to accept connections")
        yield pg
    finally:
        if server is not None:
            stop(server, signal.SIGINT, 30)  # fast shutdown
        shutil.rmtree(base, ignore_errors=True)


def link(unsock: Unsock, pg: Postgres, port: int) -> Path:
    sock = unsock.path(port)
    sock.symlink_to(pg.socket_file)
    return sock


def psql(unsock: Unsock, *args: str, port: int | None) -> str:
    cmd = [require_program("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
    cmd += ["-h", "127.0.0.1", "-U", "postgres"]
    if port is not None:
        cmd += ["-p", str(port)]
    out = unsock.run([*cmd, *args], env=unsock.env(PGCONNECT_TIMEOUT="20", PGDATABASE="postgres"), timeout=60)
    return out.stdout.decode()


def test_psql_select_through_symlink(unsock: Unsock, postgres: Postgres) -> None:
    assert PG_PORT not in tcp_listening_ports()
    link(unsock, postgres, PG_PORT)
    assert psql(unsock, "-c", "select 1", port=PG_PORT).strip() == "1"
    # the session is the server's native unix-socket connection: no client address
    assert psql(unsock, "-c", "select inet_client_addr() is null", port=PG_PORT).strip() == "t"


def test_psql_default_port_5432(unsock: Unsock, postgres: Postgres) -> None:
    """psql -h 127.0.0.1 without -p goes to port 5432: DIR/5432.sock may
    point at a server whose own port is another."""
    link(unsock, postgres, 5432)
    assert psql(unsock, "-c", "show port", port=None).strip() == str(PG_PORT)


def test_psql_session_work(unsock: Unsock, postgres: Postgres) -> None:
    port = 18702
    link(unsock, postgres, port)
    script = """
        create table if not exists unsock_t (id int primary key, v text);
        truncate unsock_t;
        insert into unsock_t select g, repeat('x', 1000) || g from generate_series(1, 5000) g;
        select count(*), sum(length(v)) from unsock_t;
    """
    assert psql(unsock, "-c", script, port=port).strip() == f"5000|{sum(1000 + len(str(g)) for g in range(1, 5001))}"
    # a large result streamed back to the client
    out = psql(unsock, "-c", "select v from unsock_t order by id", port=port)
    assert len(out.splitlines()) == 5000


def test_pgbench(unsock: Unsock, postgres: Postgres) -> None:
    """pgbench with 4 concurrent clients: no failed transactions."""
    port = 18703
    link(unsock, postgres, port)
    pgbench = require_program("pgbench")
    env = unsock.env(PGUSER="postgres", PGDATABASE="postgres", PGCONNECT_TIMEOUT="20")
    base = [pgbench, "-h", "127.0.0.1", "-p", str(port)]
    unsock.run([*base, "-i", "-q", "-s", "1"], env=env, timeout=120)
    out = unsock.run([*base, "-c", "4", "-j", "2", "-t", "100", "-S"], env=env, timeout=120)
    text = out.stdout.decode()
    assert "number of transactions actually processed: 400/400" in text, text + out.stderr.decode()
    assert "number of failed transactions: 0" in text, text
