"""The pytest plugin (unsock.pytest_plugin, registered through the pytest11 entry point): two
pytest-xdist workers each run http.server "on port 8080" at the same time, each in its own
socket directory, and each reaches its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = '''
import os, pathlib, sys, time

def serve(unsock_server, tmp_path, name):
    (tmp_path / "who").write_text(name)
    srv = unsock_server([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "8080",
                         "--directory", str(tmp_path)], 8080)
    meet = pathlib.Path(os.environ["MEET"])
    (meet / name).touch()
    deadline = time.monotonic() + 60
    while len(list(meet.iterdir())) < 2:  # both servers are up at once, or this times out
        assert time.monotonic() < deadline, "the other worker's server never came up beside this one"
        time.sleep(0.05)
    conn = srv.http(timeout=10)
    conn.request("GET", "/who")
    assert conn.getresponse().read().decode() == name
    (meet / f"{name}.done").touch()
    while len(list(meet.glob("*.done"))) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)

def test_one(unsock_server, tmp_path):
    serve(unsock_server, tmp_path, "one")

def test_two(unsock_server, tmp_path):
    serve(unsock_server, tmp_path, "two")
'''


def test_two_xdist_workers_serve_port_8080_at_once(tmp_path: Path) -> None:
    (tmp_path / "test_two_servers.py").write_text(TESTS)
    meet = tmp_path / "meet"
    meet.mkdir()
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider",
                        "test_two_servers.py"], cwd=tmp_path, env={**os.environ, "MEET": str(meet)},
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "2 passed" in p.stdout
    assert sorted(f.name for f in meet.iterdir()) == ["one", "one.done", "two", "two.done"]


def test_the_plugin_is_registered(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    for fixture in ("unsock_dir", "unsock_env", "unsock_server"):
        assert fixture in p.stdout, p.stdout[-2000:]
