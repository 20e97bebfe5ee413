"""haproxy in TCP mode under unsock, relaying a 2 MiB upload with a half-close to an echo backend
(docs/programs.md): haproxy's own defect now and then loses the upload's tail or resets the client on
unix sockets; `tune.fd.edge-triggered on` avoids it, and whatever fails only ever falls short.

``python3 -m tests.integration.test_haproxy [ROUNDS]`` measures the page's table: native unix
sockets, unsock, TCP loopback and TCP with 16 KiB send buffers, each without and with each setting."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers.proc import Unsock, stop, wait_for
from tests.helpers.programs import require_program

pytestmark = pytest.mark.program("haproxy")

MESSAGE = os.urandom(2 * 1024 * 1024)
ROUNDS = 200
DEADLINE = 40.0  # seconds of round trips per set-up, so that a slow machine still ends in time
SETTINGS = {
    "default": "",
    "bufsize": "tune.bufsize 8388608",  # four times the largest message: rarer, not gone
    "edge-triggered": "expose-experimental-directives\n  tune.fd.edge-triggered on",
}
FRONT, BACK = 18601, 18602

Connect = Callable[[], socket.socket]


def unix_connect(path: Path) -> Connect:
    def connect() -> socket.socket:
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(path))
        return s

    return connect


@contextmanager
def echo_backend(listener: socket.socket) -> Iterator[None]:
    """Every connection gets back what it sends, then a half-close once it half-closes."""

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # haproxy reset it

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    listener.listen(64)
    threading.Thread(target=accept, daemon=True).start()
    try:
        yield
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()


def round_trip(connect: Connect) -> str:
    """One upload with a half-close: intact, short (the tail lost), reset, or corrupt."""
    s = connect()
    s.settimeout(10)
    got = bytearray()

    def upload() -> None:
        try:
            s.sendall(MESSAGE)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    writer = threading.Thread(target=upload)
    writer.start()
    outcome = ""
    try:
        while data := s.recv(262144):
            got += data
    except ConnectionResetError:
        outcome = "reset"
    writer.join()
    s.close()
    if not MESSAGE.startswith(got):
        return "corrupt"
    return outcome or ("intact" if len(got) == len(MESSAGE) else "short")


def measure(connect: Connect, rounds: int = ROUNDS, deadline: float = DEADLINE) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    end = time.monotonic() + deadline
    while sum(outcomes.values()) < rounds and time.monotonic() < end:
        outcomes[round_trip(connect)] += 1
    return outcomes


def haproxy_config(directory: Path, frontend: str, backend: str, tuning: str) -> Path:
    cfg = directory / "haproxy.cfg"
    cfg.write_text(f"global\n  maxconn 100\n  {tuning}\ndefaults\n  mode tcp\n  timeout connect 5s\n"
                   f"  timeout client 30s\n  timeout server 30s\nfrontend fe\n  bind {frontend}\n"
                   f"  default_backend be\nbackend be\n  server s1 {backend}\n")
    return cfg


def test_edge_triggered_avoids_the_defect(unsock: Unsock) -> None:
    outcomes = through_unsock(unsock, SETTINGS["edge-triggered"])
    assert set(outcomes) == {"intact"} and outcomes["intact"] >= 50, outcomes


@pytest.mark.parametrize("setting", ["default", "bufsize"])
def test_otherwise_data_is_only_ever_short(unsock: Unsock, setting: str) -> None:
    outcomes = through_unsock(unsock, SETTINGS[setting])
    assert set(outcomes) <= {"intact", "short", "reset"} and outcomes.total() >= 50, outcomes


def through_unsock(unsock: Unsock, tuning: str) -> Counter[str]:
    """haproxy on 127.0.0.1 under the shim, the echo backend and the client on the socket files."""
    haproxy = require_program("haproxy")
    cfg = haproxy_config(unsock.dir, f"127.0.0.1:{FRONT}", f"127.0.0.1:{BACK}", tuning)
    backend = socket.socket(socket.AF_UNIX)
    backend.bind(str(unsock.path(BACK)))
    with echo_backend(backend):
        unsock.start([haproxy, "-db", "-f", str(cfg)], wait_port=FRONT)
        return measure(unix_connect(unsock.path(FRONT)))


# --- the page's measurements ------------------------------------------------------------------------


def main(rounds: int) -> None:
    unsock = [str(Path(sys.executable).parent / "unsock"), "run", "--addr", "127.0.0.1", "--dir"]
    tcp_small = "tune.sndbuf.client 16384\n  tune.sndbuf.server 16384\n  "
    print(f"{'set-up':<24} {'setting':<15} round trips failed (short + reset)")
    for setup in ("unix", "unsock", "tcp", "tcp, 16 KiB sndbuf"):
        for name, tuning in SETTINGS.items():
            directory = Path(tempfile.mkdtemp(prefix="hap-", dir="/tmp"))
            try:
                outcomes = one_setup(setup, directory, (tcp_small if "sndbuf" in setup else "") + tuning,
                                     [*unsock, str(directory)], rounds)
            finally:
                shutil.rmtree(directory, ignore_errors=True)
            failed = outcomes.total() - outcomes["intact"]
            print(f"{setup:<24} {name:<15} {failed}/{outcomes.total()} ({outcomes['short']} + {outcomes['reset']})"
                  f"{'  CORRUPT ' + str(outcomes['corrupt']) if outcomes['corrupt'] else ''}", flush=True)


def one_setup(setup: str, directory: Path, tuning: str, unsock: list[str], rounds: int) -> Counter[str]:
    if setup.startswith("tcp"):
        backend = socket.create_server(("127.0.0.1", 0))
        front, back = f"127.0.0.1:{FRONT}", f"127.0.0.1:{backend.getsockname()[1]}"

        def connect() -> socket.socket:
            return socket.create_connection(("127.0.0.1", FRONT))
    else:
        native = setup == "unix"
        backend = socket.socket(socket.AF_UNIX)
        backend.bind(str(directory / ("back.sock" if native else f"{BACK}.sock")))
        front = f"unix@{directory}/front.sock" if native else f"127.0.0.1:{FRONT}"
        back = f"{directory}/back.sock" if native else f"127.0.0.1:{BACK}"
        connect = unix_connect(directory / ("front.sock" if native else f"{FRONT}.sock"))
    cfg = haproxy_config(directory, front, back, tuning)
    with echo_backend(backend):
        proxy = subprocess.Popen([*(unsock if setup == "unsock" else []), "haproxy", "-db", "-f", str(cfg)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for(lambda: probe(connect), 15, "haproxy")
            return measure(connect, rounds, deadline=120)
        finally:
            stop(proxy)


def probe(connect: Connect) -> bool:
    try:
        connect().close()
    except OSError:
        return False
    return True


if __name__ == "__main__":
    main(ROUNDS if len(sys.argv) < 2 else int(sys.argv[1]))
