"""Signals against the calls the seccomp engine's supervisor answers, with statically linked
programs (tests/seccomp/progs, `musl-gcc -static`):

- a blocked accept on a converted listener: each SIGUSR1 (a handler without SA_RESTART) makes
  it fail with EINTR at once, through one signal at a time and a storm of 200 a millisecond
  apart, and afterwards a connection is accepted as usual; with SA_RESTART the handler runs
  and the accept goes on waiting; SIGINT (its default action) ends the program at once;
- a blocked connect to a unix listener whose backlog is full: the same EINTRs, and once the
  server accepts, the connect completes, with no connection left behind by the interrupted
  ones;
- fork and exec in the supervised tree: a forked child's connect and the bind of the static
  program it execs are both converted.

The program prints "signal" from its handler and "eintr E handled H at NS" (CLOCK_MONOTONIC,
the clock of time.monotonic) after each EINTR, so the test knows when each signal was acted on."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import signal
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.programs import tcp_listening_ports
from tests.seccomp.conftest import COVERED, Program, Supervised

pytestmark = pytest.mark.program("musl-gcc")

Build = Callable[[str], Path]

PROMPT = 1.0  # seconds within which a signal must have interrupted the call
ONE_BY_ONE = 20  # signals sent one at a time, each waited for
STORM = 200  # signals sent a millisecond apart
EINTR_LINE = re.compile(r"eintr (\d+) handled (\d+) at (\d+)")

# System call numbers, to see that the program is blocked in the call (/proc/PID/syscall).
SYSCALLS = {
    "x86_64": {"accept": {43, 288}, "connect": {42}},
    "aarch64": {"accept": {202, 242}, "connect": {203}},
}


def wait_blocked(pid: int, call: str, timeout: float = 10.0) -> None:
    """Wait until the program sits in the system call (accept or connect)."""
    numbers = SYSCALLS.get(platform.machine(), {}).get(call)
    deadline = time.monotonic() + timeout
    first = ""
    while True:
        try:
            first = Path(f"/proc/{pid}/syscall").read_text().split()[0]
        except PermissionError:
            numbers = None  # cannot tell here: give it time to get there
        except (OSError, IndexError):
            first = ""
        if numbers is None:
            time.sleep(0.2)
            return
        if first.isdigit() and int(first) in numbers:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"pid {pid} is not blocked in {call} after {timeout}s (/proc/PID/syscall: {first!r})")
        time.sleep(0.005)


def ready(p: Program) -> int:
    """The pid the program prints once it is about to block."""
    line = p.line(20)
    m = re.fullmatch(r"ready (\d+)", line)
    assert m, f"expected 'ready PID', got {line!r}"
    return int(m.group(1))


def one_by_one(p: Program, pid: int, call: str, count: int = ONE_BY_ONE) -> None:
    """count signals, one at a time: each runs the handler and ends the call with EINTR
    within PROMPT seconds."""
    for k in range(1, count + 1):
        wait_blocked(pid, call)
        sent = time.monotonic()
        os.kill(pid, signal.SIGUSR1)
        assert p.line(PROMPT) == "signal", f"signal {k}: no handler run"
        line = p.line(PROMPT)
        assert EINTR_LINE.fullmatch(line), f"signal {k}: expected an EINTR, got {line!r}"
        m = EINTR_LINE.fullmatch(line)
        assert m is not None
        assert (int(m.group(1)), int(m.group(2))) == (k, k), f"signal {k}: {line!r}"
        assert int(m.group(3)) / 1e9 - sent < PROMPT, f"signal {k}: EINTR after {int(m.group(3)) / 1e9 - sent:.3f}s"


def restarted(p: Program, pid: int, call: str, count: int = 5) -> None:
    """count signals, one at a time, with SA_RESTART: each runs the handler within PROMPT
    seconds and the call goes on waiting (no EINTR comes out of it)."""
    for k in range(1, count + 1):
        wait_blocked(pid, call)
        os.kill(pid, signal.SIGUSR1)
        assert p.line(PROMPT) == "signal", f"signal {k}: the handler did not run within {PROMPT}s"
        after = p.lines_for(0.3)
        assert after == [], f"signal {k}: with SA_RESTART the {call} must go on waiting, but: {after}"


def storm(pid: int, count: int = STORM) -> list[float]:
    """count SIGUSR1 about a millisecond apart; the times they were sent."""
    times = []
    for _ in range(count):
        times.append(time.monotonic())
        os.kill(pid, signal.SIGUSR1)
        time.sleep(0.001)
    return times


def check_storm_eintrs(lines: list[str], sent: list[float], before: tuple[int, int]) -> tuple[int, int]:
    """What the program printed during a storm without SA_RESTART: only handler runs and
    EINTRs; every EINTR caused by a new signal (no spurious one); every signal but the last
    followed by an EINTR within PROMPT seconds (a signal that lands between two calls runs
    the handler only, but the next one, a millisecond later, interrupts the call). Returns
    the last (EINTRs, signals handled)."""
    eintr, handled = before
    times = []
    for line in lines:
        if line == "signal":
            continue
        m = EINTR_LINE.fullmatch(line)
        assert m, f"unexpected line during the storm: {line!r}\nall: {lines}"
        e, h = int(m.group(1)), int(m.group(2))
        assert e == eintr + 1, f"EINTR count jumped: {line!r}"
        assert h > handled, f"an EINTR without a new signal (handled {handled} before): {line!r}"
        eintr, handled = e, h
        times.append(int(m.group(3)) / 1e9)
    assert handled - before[1] == lines.count("signal") <= len(sent), (handled, before, len(sent), lines)
    assert times, f"{len(sent)} signals and no EINTR: {lines}"
    for i, t in enumerate(sent[:-1]):
        assert any(t <= e <= t + PROMPT for e in times), (
            f"signal {i + 1} of the storm (sent at +{t - sent[0]:.3f}s) was followed by no EINTR within {PROMPT}s; "
            f"EINTRs at {[round(e - sent[0], 3) for e in times]}"
        )
    return eintr, handled


@contextlib.contextmanager
def unix_listener(path: Path, backlog: int) -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(str(path))
        s.listen(backlog)
        yield s
    finally:
        s.close()


def unix_client(path: Path, timeout: float = 10.0) -> socket.socket:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(timeout)
    c.connect(str(path))
    return c


def is_socket(path: Path) -> bool:
    return path.exists() and stat.S_ISSOCK(path.lstat().st_mode)


def exchange(path: Path) -> bytes:
    """Connect to the program's listener, send a line, return the answer."""
    with unix_client(path) as c:
        c.sendall(b"hello\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = c.recv(64)
            if not chunk:
                break
            data += chunk
        return data


# --- accept ----------------------------------------------------------------------------------


def test_signals_interrupt_a_blocked_accept(seccomp: Supervised, static_prog: Build) -> None:
    port = 7901
    p = seccomp.start(static_prog("storm"), "accept", COVERED, str(port), "norestart")
    pid = ready(p)
    path = seccomp.dir / f"{port}.sock"
    assert is_socket(path), f"no socket file {path}"
    one_by_one(p, pid, "accept")
    wait_blocked(pid, "accept")
    sent = storm(pid)
    eintr, handled = check_storm_eintrs(p.lines_for(PROMPT + 0.5), sent, (ONE_BY_ONE, ONE_BY_ONE))
    # still waiting, and still interrupted by the next signal at once
    assert p.proc.poll() is None, "the program ended during the storm"
    wait_blocked(pid, "accept")
    os.kill(pid, signal.SIGUSR1)
    assert p.line(PROMPT) == "signal"
    m = EINTR_LINE.fullmatch(p.line(PROMPT))
    assert m and (int(m.group(1)), int(m.group(2))) == (eintr + 1, handled + 1), m
    # and a connection is accepted as usual
    wait_blocked(pid, "accept")
    assert exchange(path) == b"ok\n"
    assert p.line(10) == f"accepted eintr={eintr + 1} handled={handled + 1}"
    assert p.wait() == 0, p.err_text()


def test_sa_restart_keeps_a_blocked_accept_waiting(seccomp: Supervised, static_prog: Build) -> None:
    port = 7902
    p = seccomp.start(static_prog("storm"), "accept", COVERED, str(port), "restart")
    pid = ready(p)
    path = seccomp.dir / f"{port}.sock"
    restarted(p, pid, "accept")
    wait_blocked(pid, "accept")
    storm(pid)
    lines = p.lines_for(PROMPT)
    assert lines and set(lines) == {"signal"}, f"with SA_RESTART the accept must go on waiting, but: {lines}"
    assert p.proc.poll() is None, "the program ended during the storm"
    wait_blocked(pid, "accept")
    assert exchange(path) == b"ok\n"
    line = p.line(10)
    m = re.fullmatch(r"accepted eintr=(\d+) handled=(\d+)", line)
    assert m and m.group(1) == "0" and int(m.group(2)) == 5 + len(lines), line
    assert p.wait() == 0, p.err_text()


def test_sigint_ends_a_blocked_accept(seccomp: Supervised, static_prog: Build) -> None:
    p = seccomp.start(static_prog("storm"), "accept", COVERED, "7903", "norestart")
    pid = ready(p)
    wait_blocked(pid, "accept")
    sent = time.monotonic()
    os.kill(pid, signal.SIGINT)
    status = p.wait(3)
    took = time.monotonic() - sent
    assert took < 3, f"the program ended {took:.1f}s after SIGINT"
    # the supervisor ends as its program did
    assert status == -signal.SIGINT, f"exit status {status}, stderr: {p.err_text()}"
    assert not Path(f"/proc/{pid}").exists()


# --- connect ---------------------------------------------------------------------------------


def fill_backlog(path: Path) -> list[socket.socket]:
    """Connections to the listener at path until its backlog is full; each has sent b"F"."""
    fillers = []
    for _ in range(64):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(str(path))
        except BlockingIOError:
            c.close()
            break
        c.sendall(b"F")
        fillers.append(c)
    else:
        raise AssertionError("the backlog never filled")
    assert fillers, "not even one connection fits the backlog"
    return fillers


def what_came(server: socket.socket, p: Program, until: str, timeout: float = 10.0) -> tuple[list[bytes], str]:
    """Accept every connection (making room in the backlog) until the program prints a line
    starting with until, then whatever else arrives within half a second; the first bytes
    of each connection (b"" for one that was closed without a word) and the line."""
    firsts: list[bytes] = []
    done = ""
    server.settimeout(0.1)
    deadline = time.monotonic() + timeout
    quiet_after = None
    while True:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            conn = None
        if conn is not None:
            with conn:
                conn.settimeout(2)
                try:
                    firsts.append(conn.recv(1))
                except TimeoutError:
                    firsts.append(b"<nothing within 2s>")
        if not done:
            for line in p.lines_for(0):
                if line.startswith(until):
                    done = line
                    quiet_after = time.monotonic() + 0.5
                elif line != "signal":
                    raise AssertionError(f"unexpected line {line!r} while waiting for {until!r}")
        if quiet_after is not None and time.monotonic() > quiet_after and conn is None:
            return firsts, done
        if time.monotonic() > deadline:
            raise AssertionError(f"no {until!r} within {timeout}s; accepted {firsts}\n"
                                 f"stdout: {p.out.decode(errors='replace')}\nstderr: {p.err_text()}")


def test_signals_interrupt_a_connect_to_a_full_backlog(seccomp: Supervised, static_prog: Build) -> None:
    port = 7904
    path = seccomp.dir / f"{port}.sock"
    with unix_listener(path, 0) as server:
        fillers = fill_backlog(path)
        try:
            p = seccomp.start(static_prog("storm"), "connect", COVERED, str(port), "norestart")
            pid = ready(p)
            one_by_one(p, pid, "connect")
            wait_blocked(pid, "connect")
            sent = storm(pid)
            eintr, handled = check_storm_eintrs(p.lines_for(PROMPT + 0.5), sent, (ONE_BY_ONE, ONE_BY_ONE))
            assert p.proc.poll() is None, "the program ended during the storm"
            wait_blocked(pid, "connect")
            # room in the backlog: the connect completes; the interrupted ones left nothing behind
            firsts, line = what_came(server, p, "connected ")
            assert line == f"connected eintr={eintr} handled={handled} attempts={eintr + 1}", line
            assert sorted(firsts) == sorted([b"F"] * len(fillers) + [b"P"]), (
                f"{len(fillers)} fillers and 1 connect of the program, but the server accepted {firsts}"
            )
            assert p.wait() == 0, p.err_text()
        finally:
            for f in fillers:
                f.close()


def test_sa_restart_keeps_a_connect_to_a_full_backlog_waiting(seccomp: Supervised, static_prog: Build) -> None:
    port = 7905
    path = seccomp.dir / f"{port}.sock"
    with unix_listener(path, 0) as server:
        fillers = fill_backlog(path)
        try:
            p = seccomp.start(static_prog("storm"), "connect", COVERED, str(port), "restart")
            pid = ready(p)
            restarted(p, pid, "connect")
            wait_blocked(pid, "connect")
            storm(pid)
            lines = p.lines_for(PROMPT)
            assert lines and set(lines) == {"signal"}, f"with SA_RESTART the connect must go on waiting, but: {lines}"
            assert p.proc.poll() is None, "the program ended during the storm"
            wait_blocked(pid, "connect")
            firsts, line = what_came(server, p, "connected ")
            assert line == f"connected eintr=0 handled={5 + len(lines)} attempts=1", line
            assert sorted(firsts) == sorted([b"F"] * len(fillers) + [b"P"]), firsts
            assert p.wait() == 0, p.err_text()
        finally:
            for f in fillers:
                f.close()


# --- fork and exec ---------------------------------------------------------------------------


def test_fork_and_exec_in_the_supervised_tree(seccomp: Supervised, static_prog: Build) -> None:
    """The parent's listener, its forked child's connect (a descriptor that survives the
    child's exec, still converted) and the exec'd program's own listener: all on unix sockets."""
    p = seccomp.start(static_prog("forkexec"), "parent", COVERED, "7906", "7907")
    want = {"listening", "got child", "peer ok", "got exec", "bound"}
    seen: list[str] = []
    while not want <= set(seen):
        seen.append(p.line(20))
    assert is_socket(seccomp.dir / "7906.sock") and is_socket(seccomp.dir / "7907.sock"), os.listdir(seccomp.dir)
    assert not {7906, 7907} & tcp_listening_ports()
    with unix_client(seccomp.dir / "7907.sock") as c:
        c.sendall(b"hi\n")
        assert c.recv(64) == b"binder ok\n"
    while "child exited 0" not in seen:
        seen.append(p.line(20))
    assert set(seen) == {*want, "served", "child exited 0"}, seen
    assert p.wait() == 0, p.err_text()
