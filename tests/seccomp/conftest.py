"""Fixtures of the seccomp engine's tier: C programs linked statically against musl
(`musl-gcc -static`, so that LD_PRELOAD cannot reach them and `--engine auto` would pick the
supervisor too) run under `unsock run --engine seccomp --dir SOCKDIR --addr 127.0.0.2/32`.

Every run has a hard deadline: a program that hangs is killed (its whole process group, the
supervisor and everything it supervises) and the test fails with what it printed."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.helpers.cprog import compile_prog
from tests.helpers.output import unsock_cli
from tests.helpers.programs import plain_env
from tests.helpers.shim import PROGS as SHIM_PROGS

# Covered by the `seccomp` fixture of this directory; 127.0.0.1 is not (it stays real TCP).
COVERED = "127.0.0.2"
REAL = "127.0.0.1"
PROGS = Path(__file__).resolve().parent / "progs"
TIMEOUT = 60.0  # seconds any one program may run


def probe_env() -> dict[str, str]:
    """The environment of a program here, telling the probes the two documented differences
    of the seccomp engine: the supervisor removes a socket file within half a second of its
    socket's last close (it sees no close), and a non-blocking connect to a full backlog waits
    up to two seconds for room, then fails EAGAIN (it cannot be left in progress)."""
    return {**plain_env(), "PROBE_GRACE_MS": "1500", "PROBE_FULL_BACKLOG_EAGAIN": "1"}


def describe(p: subprocess.CompletedProcess[bytes] | Program, what: str) -> str:
    """A failure message: what went wrong, then the program's output."""
    if isinstance(p, Program):
        out, err = p.out.decode(errors="replace"), p.err_text()
        args = p.args
    else:
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        args = list(p.args)
    return f"{args!r} {what}\nstdout: {out}\nstderr: {err}"


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group of a program started with start_new_session=True."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class Program:
    """A program under the supervisor in the background, read line by line."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.proc = subprocess.Popen(args, env=probe_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.out = b""  # everything read from stdout so far
        self.pos = 0  # where the next line starts in out
        self.err = b""

    def _read(self, timeout: float) -> bool:
        """Read what stdout/stderr have within timeout; False once stdout has ended."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        streams = [s for s in (self.proc.stdout, self.proc.stderr) if not s.closed]
        ready, _, _ = select.select(streams, [], [], max(timeout, 0))
        alive = True
        for s in ready:
            chunk = os.read(s.fileno(), 65536)
            if s is self.proc.stdout:
                self.out += chunk
                alive = bool(chunk)
            else:
                self.err += chunk
                if not chunk:
                    s.close()
        return alive

    def line(self, timeout: float = 10.0) -> str:
        """The next line of stdout, within timeout seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.out[self.pos:]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(describe(self, f"printed no line within {timeout}s"))
            if not self._read(left):
                while b"\n" not in self.out[self.pos:] and self._read(0.2):
                    pass
                if b"\n" not in self.out[self.pos:]:
                    self.proc.wait(5)
                    raise AssertionError(describe(self, f"ended (exit {self.proc.returncode}) instead of a line"))
        end = self.out.index(b"\n", self.pos)
        text = self.out[self.pos:end].decode(errors="replace")
        self.pos = end + 1
        return text

    def lines_for(self, seconds: float) -> list[str]:
        """Every line printed within the next seconds (the program may go on)."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            had = len(self.out) + len(self.err)
            if not self._read(max(left, 0)) or (left <= 0 and len(self.out) + len(self.err) == had):
                break
        got = []
        while b"\n" in self.out[self.pos:]:
            got.append(self.line(0))
        return got

    def err_text(self) -> str:
        with contextlib.suppress(Exception):
            self._read(0.1)
        return self.err.decode(errors="replace")

    def wait(self, timeout: float = TIMEOUT) -> int:
        """The exit status, within timeout seconds (the rest of the output read)."""
        deadline = time.monotonic() + timeout
        while self._read(max(deadline - time.monotonic(), 0)):
            if time.monotonic() > deadline:
                break
        try:
            return self.proc.wait(max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            kill_group(self.proc)
            raise AssertionError(describe(self, f"did not end within {timeout}s (killed)")) from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            kill_group(self.proc)
        for s in (self.proc.stdout, self.proc.stderr):
            if s is not None and not s.closed:
                s.close()


class Supervised:
    """Runs programs under `unsock run --engine seccomp` with one socket directory."""

    def __init__(self, sockdir: Path, addr: str = f"{COVERED}/32") -> None:
        self.dir = sockdir
        self.addr = addr
        self.started: list[Program] = []

    def args(self, cmd: Sequence[str], *, addr: str | None = None, options: Sequence[str] = ()) -> list[str]:
        return [*unsock_cli(), "run", "--engine", "seccomp", "--dir", str(self.dir), "--addr", addr or self.addr,
                *options, "--", *cmd]

    def run(self, cmd: Sequence[str], *, addr: str | None = None, options: Sequence[str] = (),
            timeout: float = TIMEOUT, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """cmd under the supervisor to completion (not checked); killed after timeout seconds,
        which fails the test."""
        args = self.args(cmd, addr=addr, options=options)
        stdin = subprocess.DEVNULL if input is None else subprocess.PIPE
        p = subprocess.Popen(args, env=probe_env(), stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        try:
            out, err = p.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(p)
            out, err = p.communicate()
            raise AssertionError(
                f"{args!r} did not end within {timeout}s (killed)\nstdout: {out.decode(errors='replace')}\n"
                f"stderr: {err.decode(errors='replace')}"
            ) from None
        return subprocess.CompletedProcess(args, p.returncode, out, err)

    def prog(self, path: Path, *args: str, addr: str | None = None, options: Sequence[str] = (),
             timeout: float = TIMEOUT) -> str:
        """The stdout of a program that must exit 0 under the supervisor."""
        p = self.run([str(path), *args], addr=addr, options=options, timeout=timeout)
        if p.returncode != 0:
            raise AssertionError(describe(p, f"exited {p.returncode}"))
        return p.stdout.decode()

    def start(self, path: Path, *args: str, addr: str | None = None, options: Sequence[str] = ()) -> Program:
        """A program under the supervisor in the background, killed at the end of the test."""
        p = Program(self.args([str(path), *args], addr=addr, options=options))
        self.started.append(p)
        return p

    def stop_all(self) -> None:
        for p in self.started:
            p.stop()
        self.started.clear()


@pytest.fixture
def seccomp(sockdir: Path) -> Iterator[Supervised]:
    s = Supervised(sockdir)
    try:
        yield s
    finally:
        s.stop_all()


@pytest.fixture(scope="session")
def static_prog() -> Callable[[str], Path]:
    """static_prog("name") links tests/shim/progs/name.c (with probe.h) or this directory's
    progs/name.c statically against musl, once per session."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            own = PROGS / f"{name}.c"
            if own.exists():  # they use the shim's probe.h too
                built[name] = compile_prog(own, [SHIM_PROGS / "probe.h"], static_musl=True)
            else:
                built[name] = compile_prog(SHIM_PROGS / f"{name}.c", [SHIM_PROGS / "probe.h"], static_musl=True)
        return built[name]

    return get
