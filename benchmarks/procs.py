"""Starting, waiting for and stopping the benchmark's processes."""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .contenders import HOST, Address, Tcp, Unix

# Server ports come from below the kernel's ephemeral range, so that no
# client socket lingering in TIME_WAIT holds one.
PORT_RANGE = (20000, 32000)


class RunFailed(Exception):
    """One run of one workload could not produce a number; the message says why."""


def _tcp_ports_in_use() -> set[int]:
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 1:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@dataclass
class Ports:
    """Fresh TCP ports (and so fresh socket file names), never reused in one run."""

    sockdir: Path
    used: set[int] = field(default_factory=set)

    def take(self) -> int:
        busy = _tcp_ports_in_use()
        for _ in range(1000):
            port = random.randrange(*PORT_RANGE)
            if port in self.used or port in busy or (self.sockdir / f"{port}.sock").exists():
                continue
            with socket.socket() as s:
                try:
                    s.bind((HOST, port))
                except OSError:
                    continue
            self.used.add(port)
            return port
        raise RunFailed("no free TCP port found")


def listening(addr: Address) -> bool:
    """A socket listens at addr (looked up in /proc, without connecting to it)."""
    if isinstance(addr, Tcp):
        want = f"0100007F:{addr.port:04X}"
        for table in ("/proc/net/tcp",):
            with contextlib.suppress(OSError):
                for line in Path(table).read_text().splitlines()[1:]:
                    fields = line.split()
                    if len(fields) > 3 and fields[1] == want and fields[3] == "0A":
                        return True
        return False
    path = str(addr.path)
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
            fields = line.split()
            # Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 = listening
            if len(fields) >= 8 and fields[7] == path and int(fields[3], 16) & 0x10000:
                return True
    return False


def _preexec(cpu: int | None) -> Callable[[], None] | None:
    if cpu is None:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, {cpu})

    return pin


def tail(text: str, lines: int = 3) -> str:
    """The last few non-empty lines of a program's output, on one line."""
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()][-lines:]
    return " / ".join(kept)


class Background:
    """A program running for the duration of one measurement, in its own
    process group, its output collected in files under scratch."""

    def __init__(
        self, name: str, argv: Sequence[str], env: dict[str, str], scratch: Path, cpu: int | None = None
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.out = scratch / f"{name}.out"
        self.err = scratch / f"{name}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            try:
                self.proc = subprocess.Popen(
                    self.argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=scratch,
                    start_new_session=True, preexec_fn=_preexec(cpu),
                )
            except OSError as e:
                raise RunFailed(f"{name}: cannot start {self.argv[0]}: {e}") from e

    def output(self) -> str:
        text = ""
        for f in (self.err, self.out):
            with contextlib.suppress(OSError):
                text += f.read_text(errors="replace")
        return text

    def wait_listening(self, addr: Address, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not listening(addr):
            if self.proc.poll() is not None:
                raise RunFailed(f"{self.name} exited {self.proc.returncode} before listening: {tail(self.output())}")
            if time.monotonic() > deadline:
                raise RunFailed(f"{self.name} does not listen at {addr} after {timeout:.0f}s: {tail(self.output())}")
            time.sleep(0.01)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RunFailed(f"{self.name} exited {self.proc.returncode} during the run: {tail(self.output())}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # Leftovers of the group (nginx workers, socat children) go too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def turn_order(n: int, turn: int) -> list[int]:
    """The order in which n clients take their turns in round `turn`: shuffled each round
    (the same shuffles in every run), because a turn runs slower after one that made many
    unix connections (the kernel still freeing them, or the host catching up), and in one
    fixed order each client would always come after the same one."""
    order = list(range(n))
    random.Random(turn).shuffle(order)
    return order


class Turner:
    """A client that takes turns (bench.h, repeat): each turn() lets it
    run for its turn's length and returns its line for the turn: how many it
    did, in how many nanoseconds, and what more it says of the turn."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], scratch: Path, cpu: int | None) -> None:
        self.name = name
        self.err = scratch / f"{name}.err"
        with self.err.open("wb") as err:
            try:
                self.proc = subprocess.Popen(
                    list(argv), env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, cwd=scratch,
                    start_new_session=True, preexec_fn=_preexec(cpu),
                )
            except OSError as e:
                raise RunFailed(f"{name}: cannot start {argv[0]}: {e}") from e

    def failed(self, what: str) -> RunFailed:
        """Stop it; why, with its exit status and the end of its stderr."""
        running = self.proc.poll() is None
        self.stop()
        what += " (killed)" if running else f" (exit {self.proc.returncode})"
        with contextlib.suppress(OSError):
            what += f": {tail(self.err.read_text(errors='replace'))}"
        return RunFailed(f"{self.name} {what}")

    def turn(self, timeout: float) -> list[int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(b"g")
            self.proc.stdin.flush()
        except OSError as e:
            raise self.failed("is gone") from e
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            raise self.failed(f"did not finish its turn within {timeout:.0f}s")
        line = self.proc.stdout.readline().split()
        if len(line) < 2 or not all(x.isdigit() for x in line) or int(line[1]) == 0:
            raise self.failed("ended its output" if not line else f"printed {b' '.join(line)!r}")
        return [int(x) for x in line]

    def finish(self, timeout: float = 30) -> None:
        """End the run (EOF on its stdin): RunFailed unless it exits 0."""
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired as e:
            raise self.failed(f"did not exit within {timeout:.0f}s") from e
        if rc != 0:
            raise self.failed("failed")

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def run_client(
    name: str, argv: Sequence[str], env: dict[str, str], scratch: Path, timeout: float, cpu: int | None = None
) -> str:
    """Run a client to completion; its stdout, or RunFailed with its stderr."""
    try:
        p = subprocess.run(
            list(argv), env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
            cwd=scratch, preexec_fn=_preexec(cpu), check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise RunFailed(f"{name} did not finish within {timeout:.0f}s") from e
    except OSError as e:
        raise RunFailed(f"{name}: cannot start {argv[0]}: {e}") from e
    if p.returncode != 0:
        raise RunFailed(f"{name} exited {p.returncode}: {tail(p.stderr + p.stdout)}")
    return p.stdout


def server_address(told: Address, converts: bool, sock_path: Path) -> Address:
    """Where a server told to listen at `told` really listens."""
    if isinstance(told, Tcp) and converts:
        return Unix(sock_path)
    return told
