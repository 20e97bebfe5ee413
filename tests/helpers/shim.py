"""Helpers for the focused tests of the preload shim (tests/shim)."""

from __future__ import annotations

import os
import re
import select
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from tests.helpers.proc import Unsock

PROGS = Path(__file__).resolve().parent.parent / "shim" / "progs"


class Shim(Unsock):
    """Unsock whose LD_PRELOAD can be replaced by UNSOCK_TEST_PRELOAD, to run
    the same tests against a sanitizer build of the shim."""

    def env(self, extra: Mapping[str, str] | None = None, **unsock_vars: str) -> dict[str, str]:
        override = os.environ.get("UNSOCK_TEST_PRELOAD")
        if override and "LD_PRELOAD" not in unsock_vars and "LD_PRELOAD" not in (extra or {}):
            unsock_vars = {**unsock_vars, "LD_PRELOAD": override}
        return super().env(extra, **unsock_vars)

    def py(self, code: str, *args: str, env: Mapping[str, str] | None = None, check: bool = True,
           timeout: float = 60) -> str:
        """Run Python code under the shim; return its stdout."""
        p = self.run([sys.executable, "-c", code, *args], env=env, check=check, timeout=timeout)
        return p.stdout.decode()

    def prog(self, path: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60) -> str:
        p = self.run([str(path), *args], env=env, timeout=timeout)
        return p.stdout.decode()

    def script(self, name: str, *args: str) -> list[str]:
        """Command line of the Python program progs/NAME with args."""
        return [sys.executable, str(PROGS / name), *args]

    def steps(self, code: str, *args: str, env: Mapping[str, str] | None = None) -> Steps:
        """Start Python code under the shim, to be driven with Steps."""
        return Steps(self.start([sys.executable, "-c", code, *args], env=env, stdin=subprocess.PIPE))


def unix_connect(path: Path, timeout: float = 10) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
    except BaseException:
        s.close()
        raise
    return s


def bound_unix_paths() -> set[str]:
    """Paths of every bound unix socket alive in this network namespace."""
    paths = set()
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            parts = line.split()
            if len(parts) >= 8:
                paths.add(parts[7])
    return paths


def control_file_bytes() -> bytes:
    """A 452-byte record shaped like upstream's struct unsock_socket_info."""
    head = struct.pack("<IIHHHH", 0x4B534E55, 0, 0, 10, 0, 0)
    dest = b"/run/some/target.sock".ljust(128, b"\0")
    body = head + b"\0" * 128 + dest
    return body.ljust(452, b"\0")


class Steps:
    """A program driven line by line: it prints a line when it reaches a
    step and waits for a line on stdin before going on."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self.buf = b""

    def expect(self, prefix: str = "", timeout: float = 20) -> str:
        """The next line of output, which must start with prefix."""
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError(f"no line starting with {prefix!r} within {timeout}s")
            chunk = os.read(fd, 4096)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise AssertionError(f"program ended before {prefix!r}: exit {self.proc.wait()}, stderr: {err}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        text = line.decode()
        assert text.startswith(prefix), f"expected {prefix!r}, got {text!r}"
        return text

    def go(self, line: str = "") -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 20) -> int:
        """Close stdin and wait for the program to end."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout)


def picture(unsock: Shim, ip: str, **env: str) -> str:
    """What progs/addresses.py prints of a connection to ip (see there)."""
    return unsock.run([sys.executable, str(PROGS / "addresses.py"), ip], env=unsock.env(**env)).stdout.decode()


def client_address(text: str) -> str:
    """The address made of the pid the program printed."""
    pid = int(re.search(r"^pid (\d+)$", text, re.M).group(1))
    return f"127.{pid >> 16 & 255}.{pid >> 8 & 255}.{pid & 255}"


def as_on_tcp(text: str) -> str:
    """text with the client's address as TCP shows it, and no pid."""
    client = re.escape(client_address(text))
    text = re.sub(rf"(?<=['\"]|:){client}(?=['\"])", "127.0.0.1", text)  # IPv4, or IPv4-mapped in IPv6
    return re.sub(r"^pid \d+\n", "", text, flags=re.M)
