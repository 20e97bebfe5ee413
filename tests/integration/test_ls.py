"""`unsock ls` (issue 15) on real servers: python3 -m http.server under `unsock run` with two
client connections held open, a forked server whose listener parent and child share, and (as
root) a server run as nobody, listed by root and by nobody."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import unsock
from tests.helpers.proc import wait_for
from tests.helpers.programs import IN_CI, plain_env, require_path
from tests.helpers.rules import PYTHON, Runner, http_server, make_docroot, running, wait_socket
from unsock import library_path

pytestmark = pytest.mark.program("python3")

NOBODY = 65534

FORKED = """
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
child = os.fork()
if child == 0:
    time.sleep(120)
    os._exit(0)
print(child, flush=True)
time.sleep(120)
"""


@pytest.fixture
def runner() -> Iterator[Runner]:
    with running() as r:
        yield r


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def unsock_ls(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "unsock", "ls", *args], env=env or plain_env(),
                          capture_output=True, text=True, timeout=60, check=False)


def listed(*args: str, env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    p = unsock_ls("--json", *args, env=env)
    assert p.returncode == 0, p.stderr
    return {entry["path"]: entry for entry in json.loads(p.stdout)}


def run_options(sockdir: Path) -> list[str]:
    return ["--dir", str(sockdir), "--addr", "127.0.0.1/32"]


def test_http_server_with_two_connections(runner: Runner, sockdir: Path) -> None:
    port = free_port()
    server = runner.start([], http_server(port, make_docroot(sockdir)), options=run_options(sockdir))
    path = sockdir / f"{port}.sock"
    wait_socket(path, server)
    clients = [socket.socket(socket.AF_UNIX) for _ in range(2)]
    try:
        for c in clients:
            c.connect(str(path))
        wait_for(lambda: listed("--dir", str(sockdir)).get(str(path), {}).get("connections") == 2,
                 what="2 connections listed")
        entry = listed("--dir", str(sockdir))[str(path)]
        st = path.stat()
        assert entry["type"] == "stream" and entry["port"] == port and entry["address"] is None
        assert entry["mode"] == f"{stat.S_IMODE(st.st_mode):04o}"
        assert entry["uid"] == os.getuid() == st.st_uid
        assert [p["pid"] for p in entry["processes"]] == [server.pid]
        assert "http.server" in entry["processes"][0]["argv"]

        table = unsock_ls("--dir", str(sockdir)).stdout.splitlines()
        assert table[0].split() == ["PATH", "TYPE", "FOR", "MODE", "OWNER", "CONNS", "PID", "COMMAND", "RULE"]
        row = next(line for line in table if line.startswith(str(path)))
        assert row.split()[:8] == [str(path), "stream", "port", str(port), entry["mode"], entry["owner"], "2",
                                   str(server.pid)]

        # The environment's UNSOCK_* say which rule made it and the address it stands for.
        env = plain_env(UNSOCK_DIR=str(sockdir), UNSOCK_ADDR="127.0.0.1/32")
        entry = listed(env=env)[str(path)]
        assert entry["address"] == "127.0.0.1" and entry["port"] == port
        assert entry["rule"] == 2 and entry["rule_text"] == f"addr=127.0.0.1/32,path={sockdir}/%p.sock"
        by_rule = listed("-r", f"in,stream,port={port},path={sockdir}/%p.sock")[str(path)]
        assert by_rule["rule"] == 1 and by_rule["connections"] == 2
    finally:
        for c in clients:
            c.close()


def test_forked_server_lists_each_holder(runner: Runner, sockdir: Path) -> None:
    port = free_port()
    server = runner.start([], [PYTHON, "-c", FORKED, str(port)], options=run_options(sockdir))
    child = int(server.out.wait_for(r"^(\d+)$", 15)[1])
    path = sockdir / f"{port}.sock"
    wait_socket(path, server)
    entry = listed("--dir", str(sockdir))[str(path)]
    assert sorted(p["pid"] for p in entry["processes"]) == sorted([server.pid, child])
    assert entry["connections"] == 0
    rows = [line for line in unsock_ls("--dir", str(sockdir)).stdout.splitlines()[1:] if line.strip()]
    assert len(rows) == 2 and rows[0].startswith(str(path)) and rows[1].split()[0] in (str(server.pid), str(child))


def test_nothing_listed(sockdir: Path) -> None:
    p = unsock_ls("--dir", str(sockdir))
    assert (p.returncode, p.stdout) == (0, "no converted sockets found\n")
    assert listed("--dir", str(sockdir)) == {}


@pytest.fixture
def nobody_dir() -> Iterator[Path]:
    """A directory nobody owns, with a copy of the shim and of the unsock package in it (the
    installed ones may be under a directory nobody cannot enter)."""
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("CI runs as root")
        pytest.skip("needs root, to run a server as nobody")
    d = Path(tempfile.mkdtemp(prefix="us-nb-", dir="/tmp"))
    try:
        os.chmod(d, 0o755)
        shutil.copy(library_path(), d / "libunsock.so")
        shutil.copytree(Path(unsock.__file__).parent, d / "py" / "unsock",
                        ignore=shutil.ignore_patterns("*.so", "unsock-supervisor", "__pycache__"))
        (d / "socks").mkdir()
        os.chown(d / "socks", NOBODY, NOBODY)
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def as_nobody(args: list[str], nobody_dir: Path) -> subprocess.Popen[str]:
    env = plain_env(PYTHONPATH=str(nobody_dir / "py"), HOME="/")
    return subprocess.Popen(args, env=env, user=NOBODY, group=NOBODY, extra_groups=[], cwd="/", text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def test_other_users_server(runner: Runner, sockdir: Path, nobody_dir: Path) -> None:
    python = str(require_path("/usr/bin/python3", "the system's python3"))
    mine = free_port()
    server = runner.start([], http_server(mine, make_docroot(sockdir)), options=run_options(sockdir))
    wait_socket(sockdir / f"{mine}.sock", server)

    theirs = free_port()
    socks = nobody_dir / "socks"
    env = plain_env(LD_PRELOAD=str(nobody_dir / "libunsock.so"), UNSOCK_DIR=str(socks), UNSOCK_ADDR="127.0.0.1/32",
                    HOME="/")
    their_server = subprocess.Popen([python, "-m", "http.server", "--bind", "127.0.0.1", str(theirs)], env=env,
                                    user=NOBODY, group=NOBODY, extra_groups=[], cwd="/", stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True)
    try:
        their_path = socks / f"{theirs}.sock"
        wait_for(their_path.exists, 15, f"{their_path}")
        # root sees every user's
        seen = listed()
        entry = seen[str(their_path)]
        assert entry["owner"] == "nobody" and entry["uid"] == NOBODY
        assert [(p["pid"], p["uid"]) for p in entry["processes"]] == [(their_server.pid, NOBODY)]
        assert str(sockdir / f"{mine}.sock") in seen

        # nobody sees only nobody's, unless --all (then root's without its processes)
        def nobody_ls(*args: str) -> dict[str, dict[str, Any]]:
            p = as_nobody([python, "-m", "unsock", "ls", "--json", *args], nobody_dir)
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            return {e["path"]: e for e in json.loads(out)}

        own = nobody_ls()
        assert str(their_path) in own and str(sockdir / f"{mine}.sock") not in own
        assert all(e["uid"] == NOBODY for e in own.values())
        assert [p["pid"] for p in own[str(their_path)]["processes"]] == [their_server.pid]
        every = nobody_ls("--all")
        assert str(sockdir / f"{mine}.sock") in every
    finally:
        their_server.kill()
        their_server.communicate()
