"""Socket directories that fail: one that cannot be created, one read-only, one full, one
the program may not write to. bind fails with an errno that bind(2) has for TCP (EACCES,
ENOMEM), the decision log gives the real reason, and nothing is left behind or removed. A
missing directory is made at the first bind, and a connect into one is refused. A decision
log that cannot be written changes nothing for the program."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.programs import IN_CI, require_path
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


def run_in_mount(unsock: Shim, mount_opts: str, code: str) -> subprocess.CompletedProcess[str]:
    """code under the shim with a tmpfs of mount_opts on the socket directory, in a mount
    namespace of its own (nothing of it outlives the program)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        if IN_CI:
            pytest.fail("needs root and unshare(1) for a private mount")
        pytest.skip("needs root and unshare(1) for a private mount")
    script = f'mount -t tmpfs -o {mount_opts} unsock-test "$1" && exec "$2" -c "$3"'
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                           str(unsock.dir), sys.executable, code],
                          env=unsock.env(UNSOCK_DEBUG="1"), capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("opts", "err", "reason"), [
    ("ro", errno.EACCES, errno.EROFS),
    ("nr_inodes=1", errno.ENOMEM, errno.ENOSPC),  # the directory itself takes the one inode
], ids=["read-only", "full"])
def test_directory_read_only_or_full(sockdir: Path, opts: str, err: int, reason: int) -> None:
    unsock = Shim(sockdir, addr=f"{COVERED}/32")
    (sockdir / "keep").write_text("the user's file")
    p = run_in_mount(unsock, opts, BIND)
    assert p.stdout == f"{errno.errorcode[err]}\n", p.stderr
    assert f"7501.sock: {os.strerror(reason)}" in p.stderr, p.stderr
    assert [f.name for f in sockdir.iterdir()] == ["keep"]  # under the mount: untouched


def test_directory_without_write_permission_is_eacces(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run the program as another user")
    tmp_path.chmod(0o755)
    sockets = tmp_path / "sockets"
    sockets.mkdir(mode=0o555)
    unsock = Shim(sockets, addr=f"{COVERED}/32")
    python = require_path("/usr/bin/python3", "Debian's python3")
    p = subprocess.run([str(python), "-c", BIND], env=unsock.env(UNSOCK_DEBUG="1"), capture_output=True,
                       text=True, timeout=60, user=NOBODY, group=NOBODY, extra_groups=[], cwd="/")
    assert p.stdout == f"{errno.errorcode[errno.EACCES]}\n", p.stderr
    assert list(sockets.iterdir()) == []


CONNECT = f"""
import errno, socket
try:
    socket.create_connection(("{COVERED}", 7501))
    print("connected")
except OSError as e:
    print(errno.errorcode[e.errno])
"""


def test_missing_directory_made_at_bind_refused_at_connect(sockdir: Path) -> None:
    unsock = Shim(sockdir / "missing", addr=f"{COVERED}/32")
    assert unsock.py(CONNECT) == "ECONNREFUSED\n"
    assert not (sockdir / "missing").exists()
    assert unsock.py(BIND) == "bound\n"
    assert (sockdir / "missing").is_dir()


@pytest.mark.parametrize("log", ["/dev/full", "/nonexistent/unsock.log"])
def test_unwritable_decision_log_changes_nothing(unsock: Shim, log: str) -> None:
    out = unsock.py(BIND + CONNECT.replace("7501", "7502"), env=unsock.env(UNSOCK_DEBUG="1", UNSOCK_LOG_FILE=log))
    assert out == "bound\nECONNREFUSED\n"
