"""Programs started by systemd-socket-activate under the shim, with rules.

systemd-socket-activate opens the listening sockets, waits for the first
connection, then execs the program with them as fds 3, 4, ... and
LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES. It passes on only the variables named
with -E, so the shim's go that way; the tool itself runs without the shim."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.helpers.output import OutputReader
from tests.helpers.proc import for_program, stop
from tests.helpers.programs import pass_switches, plain_env, require_program
from unsock import library_path


def preload() -> str:
    """The shim, or the UNSOCK_TEST_PRELOAD build of it (see tests/shim/conftest.py)."""
    return os.environ.get("UNSOCK_TEST_PRELOAD") or str(library_path())


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Activated:
    """One systemd-socket-activate run: the program's stdout and stderr (the
    tool's messages included) read with deadlines."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.out = OutputReader(proc.stdout)
        self.err = OutputReader(proc.stderr)

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout)

    def stderr(self) -> str:
        return self.err.drain()


class Activator:
    """Starts programs behind systemd-socket-activate and stops them at teardown."""

    def __init__(self) -> None:
        self.runs: list[Activated] = []

    def start(
        self, listen: Sequence[str], cmd: Sequence[str], rules: Sequence[str] | None, *,
        fdnames: str | None = None, debug: bool = False, env: Mapping[str, str] | None = None,
    ) -> Activated:
        """systemd-socket-activate -l each of listen -- cmd, cmd under the shim
        with UNSOCK_RULES=rules (one canonical rule a line; None: no rules, only
        env); returns once every socket listens (the program starts at the
        first connection)."""
        tool = require_program("systemd-socket-activate")
        args = [tool]
        for addr in listen:
            args += ["-l", addr]
        if fdnames is not None:
            args.append(f"--fdname={fdnames}")
        variables = for_program(cmd[0], {"LD_PRELOAD": preload(), **pass_switches()})
        # A sanitizer build's settings (UNSOCK_TEST_PRELOAD) go along.
        variables.update({k: v for k, v in os.environ.items() if k in ("ASAN_OPTIONS", "UBSAN_OPTIONS")})
        if rules is not None:
            variables["UNSOCK_RULES"] = "\n".join(rules)
        if debug:
            variables["UNSOCK_DEBUG"] = "1"
        variables.update(env or {})
        for name, value in variables.items():
            args += ["-E", f"{name}={value}"]
        proc = subprocess.Popen(
            [*args, "--", *cmd], env=plain_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )
        run = Activated(proc)
        self.runs.append(run)
        run.err.wait_for(rf"Listening on .* as {2 + len(listen)}\.", timeout=15)
        return run

    def stop_all(self) -> None:
        for run in self.runs:
            stop(run.proc)
        self.runs.clear()


def curl(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[bytes]:
    """curl (not under the shim) with args; not checked."""
    exe = require_program("curl")
    return subprocess.run(
        [exe, "-sS", "--fail", "--max-time", str(timeout), *args], env=plain_env(), capture_output=True,
        timeout=timeout + 10, check=False,
    )


def curl_unix(sock: Path, url_path: str = "/", timeout: float = 20) -> bytes:
    """An HTTP GET over the unix socket sock; fails the test if curl does."""
    p = curl("--unix-socket", str(sock), f"http://x{url_path}", timeout=timeout)
    assert p.returncode == 0, f"curl --unix-socket {sock} failed ({p.returncode}): {p.stderr.decode()}"
    return p.stdout
