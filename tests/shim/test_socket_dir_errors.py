"""A socket directory that cannot be created: bind fails with the reason mkdir gave
(EACCES, not ENOENT), in the errno and in the decision log; nothing is left behind."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.programs import require_path
from tests.helpers.shim import Shim
from tests.shim.conftest import COVERED

NOBODY = 65534

BIND = f"""
import errno, socket
s = socket.socket()
try:
    s.bind(("{COVERED}", 7501))
    print("bound")
except OSError as e:
    print(errno.errorcode[e.errno])
"""


def test_directory_that_cannot_be_made_is_eacces(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run the program as another user")
    parent = tmp_path / "root-only"
    parent.mkdir(mode=0o755)
    tmp_path.chmod(0o755)
    unsock = Shim(parent / "sockets", addr=f"{COVERED}/32")
    # Debian's python3: the test's own may live where nobody cannot reach it
    python = require_path("/usr/bin/python3", "Debian's python3")
    p = subprocess.run([str(python), "-c", BIND], env=unsock.env(UNSOCK_DEBUG="1"), capture_output=True,
                       text=True, timeout=60, user=NOBODY, group=NOBODY, extra_groups=[], cwd="/")
    assert p.stdout == f"{errno.errorcode[errno.EACCES]}\n", p.stderr
    assert f"{parent}/sockets/7501.sock: {os.strerror(errno.EACCES)}" in p.stderr, p.stderr
    assert list(parent.iterdir()) == []
