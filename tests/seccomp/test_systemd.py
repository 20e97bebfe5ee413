"""systemd socket activation under the seccomp engine: systemd-socket-activate passes a unix
socket to the supervisor, and busybox-static's httpd, whose bind() the `systemd` rule answers,
serves on it; LISTEN_PID is made the program's, for a shim in the tree to take the sockets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.activate import Activator, curl
from tests.helpers.programs import require_program
from unsock.library import supervisor_path

pytestmark = [pytest.mark.program("systemd-socket-activate"), pytest.mark.program("busybox")]


def test_busybox_httpd_serves_on_the_passed_socket(activator: Activator, tmp_path: Path) -> None:
    busybox = require_program("busybox")
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_bytes(b"hello from busybox httpd, socket-activated\n")
    sock = tmp_path / "web.sock"
    run = activator.start([str(sock)], [str(supervisor_path()), "--", busybox, "httpd", "-f", "-p", "127.0.0.2:7971",
                                        "-h", str(www)],
                          ["in,port=7971,systemd"], debug=True, env={"LD_PRELOAD": ""})
    p = curl("--unix-socket", str(sock), "http://x/index.html")
    assert p.stdout == b"hello from busybox httpd, socket-activated\n", run.stderr()
    assert re.search(r"bind fd \d+ 127\.0\.0\.2:7971 stream: rule 1 -> systemd", run.stderr()), run.stderr()
