"""A Firecracker control file reached through the seccomp engine: busybox-static's nc connects
to a covered address whose socket file is a Firecracker control file, and the supervisor does
the multiplexer's handshake (CONNECT PORT / OK N) before the program sees a byte."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import pytest

from tests.helpers.programs import require_program
from tests.seccomp.conftest import COVERED, Supervised
from unsock.controlfile import ControlFile

pytestmark = pytest.mark.program("busybox")


class Multiplexer:
    """A stand-in for Firecracker's vsock multiplexer: answers CONNECT 52 with OK, then the guest
    says hello and echoes a line."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.sock.settimeout(20)
        self.asked: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self.sock.accept()
            with conn:
                line = b""
                while not line.endswith(b"\n"):
                    line += conn.recv(1)
                self.asked.append(line)
                conn.sendall(b"OK 1073741824\nhello from the guest\n")
                conn.sendall(conn.recv(100))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


def test_busybox_nc_through_a_multiplexer(seccomp: Supervised, tmp_path: Path) -> None:
    busybox = require_program("busybox")
    mux = Multiplexer(tmp_path / "v.sock")
    try:
        ControlFile.firecracker(str(tmp_path / "v.sock"), 52).write(seccomp.dir / "7961.sock")
        p = seccomp.run([busybox, "nc", "-w", "5", COVERED, "7961"], options=["-v"], input=b"ping\n")
        out = p.stdout.decode()
        assert p.returncode == 0, p.stderr.decode()
        assert mux.asked == [b"CONNECT 52\n"]
        assert out == "hello from the guest\nping\n", out
        assert f"connect fd 3 {COVERED}:7961 stream: rule" in p.stderr.decode()
    finally:
        mux.close()
