"""Reading what a background program prints, with a deadline."""

from __future__ import annotations

import os
import re
import select
import sys
import threading
import time
from pathlib import Path
from typing import IO


class OutputReader:
    """Accumulates a background program's stream (stdout or stderr pipe) and
    waits for a pattern in it without blocking past a deadline."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        assert stream is not None, "the program's stream is not a pipe"
        self.stream = stream
        self.data = b""

    def _read_some(self, timeout: float) -> bool:
        """Read what is available within timeout; False at end of stream."""
        ready, _, _ = select.select([self.stream], [], [], max(timeout, 0))
        if not ready:
            return True
        chunk = os.read(self.stream.fileno(), 65536)
        self.data += chunk
        return bool(chunk)

    def wait_for(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """First match of the regex pattern in the output so far, reading more
        until it appears; fail after timeout seconds or at end of stream."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            m = regex.search(self.text)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for /{pattern}/ in output:\n{self.text}")
            if not self._read_some(min(left, 0.5)):
                m = regex.search(self.text)
                if m:
                    return m
                raise AssertionError(f"output ended without /{pattern}/:\n{self.text}")

    def drain(self, timeout: float = 0.2) -> str:
        """Everything printed so far (reading what is pending for up to timeout seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read_some(deadline - time.monotonic()):
            pass
        return self.text

    @property
    def text(self) -> str:
        return self.data.decode(errors="replace")


def unsock_cli() -> list[str]:
    """The installed ``unsock`` command (next to the running interpreter)."""
    script = Path(sys.executable).parent / "unsock"
    return [str(script)] if script.exists() else [sys.executable, "-m", "unsock"]


class Drain:
    """Reads a stream to its end in a background thread, so that a program
    writing a lot to a pipe never blocks on it."""

    def __init__(self, stream: IO[bytes] | None) -> None:
        assert stream is not None, "the program's stream is not a pipe"
        self.stream = stream
        self.chunks: list[bytes] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while chunk := os.read(self.stream.fileno(), 65536):
            self.chunks.append(chunk)

    def result(self, timeout: float = 30.0) -> bytes:
        """Everything the stream carried, once it has ended."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError(f"stream still open after {timeout}s")
        return b"".join(self.chunks)
