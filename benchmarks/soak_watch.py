"""What the soak watches in its programs: open descriptors (/proc/PID/fd) and resident memory
(VmRSS in /proc/PID/status), of one process or of a whole process group (nginx's master and
workers), once or sampled while a client runs."""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Usage:
    fds: int
    rss_kib: int
    processes: int


def group_pids(pgid: int) -> list[int]:
    """The live processes of a process group."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(entry.name))
    return sorted(pids)


def usage(pids: list[int]) -> Usage | None:
    """Descriptors and RSS summed over pids; None if one of them is gone (or a zombie, which has
    neither any more)."""
    fds = rss = 0
    try:
        for pid in pids:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            vmrss = [line for line in status if line.startswith("VmRSS:")]
            if not vmrss:
                return None
            fds += len(os.listdir(f"/proc/{pid}/fd"))
            rss += int(vmrss[0].split()[1])
    except OSError:
        return None
    return Usage(fds, rss, len(pids))


class Sampler:
    """Samples a running process every interval seconds until it ends: its usage a fifth of the
    way in (once it has set itself up) and the last one taken before it ended."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[Usage] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            u = usage([self.pid])
            if u is None:
                return
            self.samples.append(u)
            self._stop.wait(self.interval)

    def stop(self) -> tuple[Usage, Usage] | None:
        """(settled, last), or None with fewer than 5 samples (a run too short to tell)."""
        self._stop.set()
        self._thread.join()
        if len(self.samples) < 5:
            return None
        return self.samples[len(self.samples) // 5], self.samples[-1]
