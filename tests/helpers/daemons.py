"""Processes that daemonize (fork, setsid, parent exits) leave the test's
process group, so they are found through /proc and stopped by pid."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state is [0])."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan's zombie may never
    be reaped in a container whose init does not wait)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


ProcId = tuple[int, int]


def proc_id(pid: int) -> ProcId | None:
    """(pid, start time): names one process even after its pid is reused."""
    fields = _stat_fields(pid)
    return None if fields is None else (pid, int(fields[19]))


def same_alive(ident: ProcId) -> bool:
    """The process named by ident is still running (not a newer one with its pid)."""
    return pid_alive(ident[0]) and proc_id(ident[0]) == ident


def children(pid: int) -> list[int]:
    """Live direct children of pid."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            out.append(int(entry.name))
    return out


def wait_gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop_daemon(ident: ProcId, sig: int = signal.SIGTERM, timeout: float = 10.0) -> bool:
    """Signal a daemon (only if its pid still names the same process); if it
    and its children are not gone within timeout, SIGKILL them all. True
    when it ended on the first signal."""
    if not same_alive(ident):
        return True
    pid = ident[0]
    family = [ident, *(i for i in map(proc_id, children(pid)) if i is not None)]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    if wait_gone([i[0] for i in family], timeout):
        return True
    for i in family:
        if same_alive(i):
            with contextlib.suppress(ProcessLookupError):
                os.kill(i[0], signal.SIGKILL)
    wait_gone([i[0] for i in family], 5)
    return False


def read_pid(path: Path, timeout: float = 10.0) -> int:
    """The pid a daemon wrote to its pid file (waiting for the file)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(path.read_text().strip())
        if time.monotonic() > deadline:
            raise AssertionError(f"no pid in {path} after {timeout}s")
        time.sleep(0.05)


def _set_subreaper(on: bool) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


@contextlib.contextmanager
def adopting_orphans() -> Iterator[None]:
    """Makes this process the subreaper of processes started inside the
    block: a daemon's orphaned master becomes our child, so reap() can
    collect it instead of leaving a zombie to an init that may never wait."""
    _set_subreaper(True)
    try:
        yield
    finally:
        _set_subreaper(False)


def reap(idents: list[ProcId] | set[ProcId]) -> None:
    """Collect the exit status of those processes that are our dead children
    (checking the start time, so that no other child with a reused pid is reaped)."""
    for ident in idents:
        if proc_id(ident[0]) == ident and not pid_alive(ident[0]):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(ident[0], os.WNOHANG)
