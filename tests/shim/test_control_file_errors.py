"""Malformed control files at DIR/PORT.sock, and what the shim's reader accepts.

Whatever is at the path and is neither a socket nor a usable control file (a
bad vector of tests/vectors/controlfiles, a directory, a FIFO, an unreadable
file, a symbolic link), connect fails with ECONNREFUSED and bind with
EADDRINUSE, the descriptor stays open and works on another covered port, the
file is left exactly as it was, nothing blocks, and with UNSOCK_DEBUG=1 one
`unsock:` line gives the reason. Good VSOCK/TIPC vectors are accepted: the
call gets as far as the destination's family (this host has AF_VSOCK without
a loopback transport and no AF_TIPC), told apart by the debug log."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers.proc import for_program
from tests.shim.conftest import COVERED

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "controlfiles"
CASES = {c["name"]: c for c in json.loads((VECTORS / "index.json").read_text())["cases"]}
BAD = sorted(name for name, c in CASES.items() if "error" in c)
NOBODY = 65534
PORT, OTHER = 7410, 7411
TIMEOUT = 30  # a FIFO or a directory must never make a call hang (30: a loaded 2-core machine is slow)

# What the shim's reader says about each bad vector (a word of its reason):
# it rejects exactly the files unsock.controlfile's validate() rejects.
REJECTED = {
    "empty": "452",
    "truncated": "452",
    "truncated-half": "452",
    "oversized": "452",
    "oversized-double": "452",
    "wrong-magic": "magic",
    "garbage": "magic",
    "unknown-options": "options",
    "proxy-without-firecracker": "options",
    "dest-len-too-large": "length",
    "dest-len-too-small": "AF_VSOCK",
    "proxy-len-too-large": "length",
    "dest-family-inet": "AF_VSOCK",
    "dest-family-zero": "AF_VSOCK",
    "firecracker-without-proxy": "Firecracker",
    "firecracker-tipc-dest": "Firecracker",
    "firecracker-proxy-not-unix": "Firecracker",
    "reserved-nonzero": "reserved",
    "param-gap": "empty parameter slot",
    "param-level-zero": "no level",
    "options-count-mismatch": "optionsCount",
    "vsock-reserved-bytes": "after the end",
    "timeval-bad-usec": "timeout",
    "tipc-bad-addrtype": "TIPC",
    "tipc-bad-scope": "TIPC",
    "proxy-len-too-small": "proxyLen",
    "dest-bytes-inside-dest-len": "after the end",
    "vsock-reserved1": "reserved bytes",
    "vsock-unknown-flags": "unknown flags",
    "vsock-zero-bytes": "reserved bytes",
    "tipc-empty-range": "TIPC",
    "firecracker-port-any": "definite",
    "firecracker-proxy-after-path": "after the end",
    "firecracker-proxy-after-address": "after the end",
    "proxy-len-over-sockaddr-un": "proxyLen",
    "param-int-too-long": "longer",
    "timeval-trailing-bytes": "timeout",
    "vsock-timeout-bad-usec": "timeout",
    "group-req-trailing-bytes": "longer",
}


def test_every_bad_vector_is_classified():
    assert sorted(REJECTED) == BAD


def have_tipc() -> bool:
    try:
        socket.socket(socket.AF_TIPC, socket.SOCK_RDM).close()
    except OSError:
        return False
    return True


def snapshot(path: Path) -> tuple:
    st = os.lstat(path)
    data = os.readlink(path) if path.is_symlink() else path.read_bytes() if path.is_file() else None
    return st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns, data


class Errno(int):
    """An errno the probe reported, with its C library's text for it (glibc's and musl's differ)."""

    text: str


def run(unsock, cprog, mode: str, *, user: int | None = None) -> tuple[Errno, bool, list[str]]:
    """The probe's errno (0: success), whether it reused the descriptor, and
    its `unsock:` debug lines about PORT's file."""
    probe = str(cprog("ctlerrors"))
    p = subprocess.run(
        [probe, mode, COVERED, str(PORT), str(OTHER)], env=for_program(probe, unsock.env(UNSOCK_DEBUG="1")),
        capture_output=True, text=True, timeout=TIMEOUT, user=user, group=user,
        extra_groups=[] if user is not None else None, cwd="/",
    )
    assert p.returncode == 0, f"probe failed: {p.stdout}{p.stderr}"
    lines = p.stdout.splitlines()
    number, text = lines[0].removeprefix("result ").split(" ", 1)
    result = Errno(number)
    result.text = text
    log = [ln for ln in p.stderr.splitlines() if str(unsock.path(PORT)) in ln]
    assert all(ln.startswith("unsock: ") for ln in log), log
    return result, lines[1:] == ["reused"], log


def assert_rejected(unsock, cprog, mode: str, reason: str, *, user: int | None = None) -> None:
    path = unsock.path(PORT)
    before = snapshot(path)
    err, reused, log = run(unsock, cprog, mode, user=user)
    call = "bind" if mode == "bind" else "connect"
    want = errno.EADDRINUSE if call == "bind" else errno.ECONNREFUSED
    assert err == want, f"{mode}: {os.strerror(err) if err else 'succeeded'}, log {log}"
    assert reused, f"{mode}: the descriptor did not work afterwards"
    why = [ln for ln in log if ln.startswith(f"unsock: {call} fd ") and f"-> control file {path}: not usable: " in ln]
    assert len(why) == 1, log
    assert reason in why[0].split(": not usable: ", 1)[1], why[0]
    assert snapshot(path) == before, "the file was changed"


def place(unsock, name: str) -> Path:
    path = unsock.path(PORT)
    shutil.copyfile(VECTORS / f"{name}.bin", path)
    return path


@pytest.mark.parametrize("mode", ["connect", "connect-nb", "bind"])
@pytest.mark.parametrize("name", sorted(REJECTED))
def test_bad_vector_is_refused(unsock, cprog, name, mode):
    place(unsock, name)
    assert_rejected(unsock, cprog, mode, REJECTED[name])


def make_fifo(path: Path) -> None:
    os.mkfifo(path)


def make_dir(path: Path) -> None:
    path.mkdir()
    (path / "inside").write_bytes(b"x")


def make_symlink_to_bad(path: Path) -> None:
    target = path.with_name("target.bin")
    shutil.copyfile(VECTORS / "garbage.bin", target)
    path.symlink_to(target)


def make_dangling_symlink(path: Path) -> None:
    path.symlink_to(path.with_name("nowhere.sock"))


@pytest.mark.parametrize("mode", ["connect", "connect-nb", "bind"])
@pytest.mark.parametrize(
    ("make", "reason"),
    [(make_fifo, "regular file"), (make_dir, "regular file"), (make_symlink_to_bad, "no control-file magic")],
    ids=["fifo", "directory", "symlink"],
)
def test_not_a_regular_file_is_refused_without_blocking(unsock, cprog, make, reason, mode):
    """A symlink is followed, as by the original and unsock.controlfile: the
    file it points to is judged."""
    make(unsock.path(PORT))
    assert_rejected(unsock, cprog, mode, reason)
    if make is make_dir:
        assert (unsock.path(PORT) / "inside").read_bytes() == b"x"


@pytest.mark.parametrize("mode", ["connect", "bind"])
def test_dangling_symlink_is_left_alone(unsock, cprog, mode):
    """connect follows the link to nothing: ECONNREFUSED as for a free port;
    bind must not replace the link."""
    path = unsock.path(PORT)
    make_dangling_symlink(path)
    before = snapshot(path)
    err, reused, _ = run(unsock, cprog, mode)
    assert err == (errno.EADDRINUSE if mode == "bind" else errno.ECONNREFUSED) and reused
    assert snapshot(path) == before


@pytest.fixture
def as_nobody(unsock):
    if os.geteuid() != 0:
        pytest.skip("needs root to run the probe as another user")
    os.chmod(unsock.dir, 0o777)
    return unsock


@pytest.mark.parametrize("mode", ["connect", "connect-nb", "bind"])
def test_unreadable_control_file(as_nobody, cprog, mode):
    """Mode 0222: nobody may connect to the path (write permission) but not
    read the file; a good vector, so only the permission makes it unusable."""
    path = place(as_nobody, "vsock-cid-any")
    path.chmod(0o222)
    assert_rejected(as_nobody, cprog, mode, "unreadable", user=NOBODY)


@pytest.mark.parametrize("mode", ["connect", "bind"])
def test_file_without_any_permission(as_nobody, cprog, mode):
    """Mode 0000: the kernel refuses connect with EACCES before the shim can
    look (as for a socket file without write permission); bind still gets
    EADDRINUSE. The file stays and the descriptor works afterwards."""
    path = place(as_nobody, "vsock-cid-any")
    path.chmod(0)
    before = snapshot(path)
    err, reused, _ = run(as_nobody, cprog, mode, user=NOBODY)
    assert err == (errno.EADDRINUSE if mode == "bind" else errno.EACCES) and reused
    assert snapshot(path) == before


# Good vectors: accepted by the shim's reader. The log line of an accepted
# file names the record it holds (vsock CID:PORT, ...); a rejected one says
# "not usable".

@pytest.mark.parametrize("name", ["vsock-cid-any", "vsock-cid-local", "vsock-cid-host", "vsock-cid-explicit",
                                  "vsock-1-param", "vsock-3-params"])
def test_good_vsock_vector_is_accepted_for_connect(unsock, cprog, name):
    """Non-blocking, so that a CID without a transport does not hold the test
    for vsock's 2 s connect timeout: EINPROGRESS or a vsock-level error."""
    path = place(unsock, name)
    before = snapshot(path)
    err, _, log = run(unsock, cprog, "connect-nb")
    assert not any("not usable" in ln for ln in log), log
    assert err != errno.ECONNREFUSED or any(f"control file {path}: vsock " in ln for ln in log), log
    accepted = [ln for ln in log if ln.startswith("unsock: connect fd 3 ") and f"-> control file {path}: vsock " in ln]
    assert len(accepted) == 1, log
    if err == errno.EINPROGRESS:
        assert accepted[0].endswith(" (in progress)"), log
    else:
        assert accepted[0].endswith(f": {err.text}"), log
    assert snapshot(path) == before


def test_blocking_connect_to_vsock_cid_local_fails_at_vsock_level(unsock, cprog):
    """No loopback transport here: the connect to CID 1 times out (vsock's
    own 2 s default), it is not refused as a malformed file."""
    path = place(unsock, "vsock-cid-local")
    err, reused, log = run(unsock, cprog, "connect")
    if err == 0:
        pytest.skip("this host has a vsock loopback transport")
    assert err != errno.ECONNREFUSED, log
    assert reused
    assert any(f"-> control file {path}: vsock 1:" in ln and ln.endswith(err.text) for ln in log), log


@pytest.mark.parametrize("name", ["vsock-cid-any", "vsock-cid-host", "vsock-3-params"])
def test_good_vsock_vector_is_accepted_for_bind(unsock, cprog, name):
    """CID any binds on any host with AF_VSOCK; a CID that is not this
    machine's gives EADDRNOTAVAIL from vsock itself."""
    path = place(unsock, name)
    before = snapshot(path)
    err, reused, log = run(unsock, cprog, "bind")
    accepted = [ln for ln in log if ln.startswith("unsock: bind fd 3 ") and f"-> control file {path}: vsock " in ln]
    assert len(accepted) == 1, log
    if err != 0:
        assert err == errno.EADDRNOTAVAIL and reused, log
        assert accepted[0].endswith(f": {err.text}"), log
    assert snapshot(path) == before


@pytest.mark.parametrize("mode", ["connect", "bind"])
@pytest.mark.parametrize("name", ["tipc-service-address", "tipc-service-range", "tipc-socket-id", "tipc-2-params",
                                  "tipc-group-join"])
def test_good_tipc_vector_is_accepted(unsock, cprog, name, mode):
    """Without AF_TIPC the file is read and the socket of its family cannot
    be made: EAFNOSUPPORT, not the errno of a malformed file."""
    if have_tipc():
        pytest.skip("this host has AF_TIPC")
    path = place(unsock, name)
    before = snapshot(path)
    err, reused, log = run(unsock, cprog, mode)
    assert err == errno.EAFNOSUPPORT and reused, log
    assert not any("not usable" in ln for ln in log), log
    assert snapshot(path) == before


@pytest.mark.parametrize("name", ["firecracker", "firecracker-4-params"])
def test_bind_through_firecracker_file_is_einval(unsock, cprog, name):
    """A Firecracker multiplexer only connects: bind through its file fails
    with EINVAL, the file stays and the descriptor works afterwards."""
    path = place(unsock, name)
    before = snapshot(path)
    err, reused, log = run(unsock, cprog, "bind")
    assert err == errno.EINVAL and reused, log
    assert any("firecracker" in ln.lower() for ln in log), log
    assert not any("not usable" in ln for ln in log), log
    assert snapshot(path) == before
