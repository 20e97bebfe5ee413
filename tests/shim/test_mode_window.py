"""UNSOCK_MODE: the socket file never exists with looser rights than asked
for, not even between bind and a chmod (the original chmods after bind, and
a racing connect from another user gets in). Also the final mode is the one
asked for when the umask would strip bits."""

import os
import subprocess

import pytest

from tests.shim.conftest import COVERED

NOBODY = 65534
DENIALS = 3000


def observe(kind, path, observer):
    return subprocess.Popen([str(observer), kind, str(path), str(DENIALS)], user=NOBODY, group=NOBODY,
                            extra_groups=[], cwd="/", stdout=subprocess.PIPE, text=True)


def counts(line):
    return {k: int(v) for k, v in (part.split("=") for part in line.split())}


@pytest.fixture
def open_dir(unsock):
    if os.geteuid() != 0:
        pytest.skip("needs root to run the observer as another user")
    os.chmod(unsock.dir, 0o755)
    return unsock


@pytest.mark.parametrize("mode", ["600", "700"])
@pytest.mark.parametrize("kind", ["stream", "dgram"])
def test_racing_observer_of_another_uid_never_connects(open_dir, cprog, kind, mode):
    """A datagram socket receives as soon as it is bound, so a chmod after
    bind leaves a window that the dgram observer finds."""
    unsock = open_dir
    port = 7300
    server = unsock.start([str(cprog("modeserver")), kind, COVERED, str(port), str(unsock.dir), mode],
                          env=unsock.env(UNSOCK_MODE=mode), stdin=subprocess.PIPE)
    watcher = observe(kind, unsock.path(port, datagram=kind == "dgram"), cprog("observer"))
    try:
        out, _ = watcher.communicate(timeout=90)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert server.stdin is not None
    server.stdin.write(b"stop\n")
    server.stdin.close()
    assert server.wait(20) == 0, server.stderr.read().decode() if server.stderr else ""
    seen = counts(out)
    assert seen["connected"] == 0, f"another user connected to a {mode} socket: {seen}"
    assert seen["denied"] >= DENIALS, f"the observer did not race the server enough: {seen}"


def test_observer_can_connect_when_the_mode_allows(open_dir, cprog):
    """The observer really is able to connect: the race test above is not
    passing only because of the directory or the user."""
    unsock = open_dir
    p = unsock.steps(f"""
import socket, sys
s = socket.socket()
s.bind(("{COVERED}", 7301))
s.listen()
print("listening", flush=True)
sys.stdin.readline()
""", env=unsock.env(UNSOCK_MODE="666"))
    p.expect("listening")
    out = subprocess.run([str(cprog("observer")), "stream", str(unsock.path(7301)), "1"], user=NOBODY, group=NOBODY,
                         extra_groups=[], cwd="/", capture_output=True, text=True, timeout=60, check=True).stdout
    assert counts(out)["connected"] == 1
    assert p.finish() == 0


@pytest.mark.parametrize(("mode", "umask"), [("666", 0o022), ("0660", 0o077), ("600", 0o077), ("777", 0o027)])
def test_final_mode_is_the_requested_one(unsock, mode, umask):
    out = unsock.py(f"""
import os, socket
os.umask({umask})
s = socket.socket()
s.bind(("{COVERED}", 7302))
s.listen()
print(oct(os.lstat("{unsock.dir}/7302.sock").st_mode & 0o7777))
""", env=unsock.env(UNSOCK_MODE=mode))
    assert out.strip() == oct(int(mode, 8))
