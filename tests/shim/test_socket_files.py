"""Socket files at DIR/PORT.sock: a stale socket of a dead server is replaced
at bind; a live server's socket, a regular file, a directory, a symlink or a
control file is never deleted (bind fails with EADDRINUSE). The file goes
when the last process serving the listener closes it or exits normally; not
when a forked child closes its inherited copy or exits, not when the parent
exits while a forked child still serves, not while a dup'd copy is open."""

import errno
import os
import signal
import socket
import subprocess
import sys

import pytest

from tests.helpers.proc import wait_for
from tests.helpers.shim import control_file_bytes, unix_connect
from tests.shim.conftest import COVERED

SERVE = f"""
import socket, sys
s = socket.socket()
s.bind(("{COVERED}", int(sys.argv[1])))
s.listen()
print("listening", flush=True)
n = 0
while True:
    a, _ = s.accept()
    n += 1
    try:
        a.sendall(b"alive %d" % n)
    except OSError:
        pass
    a.close()
"""

BIND = f"""
import socket, sys
s = socket.socket()
try:
    s.bind(("{COVERED}", int(sys.argv[1])))
    s.listen()
    print("bound")
except OSError as e:
    print(e.errno)
"""


def bind_result(unsock, port):
    return unsock.py(BIND, str(port)).strip()


def assert_served(path):
    """The server at path answers; returns its answer."""
    u = unix_connect(path)
    try:
        got = u.recv(20)
    finally:
        u.close()
    assert got.startswith(b"alive"), got
    return got


def test_stale_socket_of_a_killed_server_is_replaced(unsock):
    p = unsock.steps(SERVE, "7100")
    p.expect("listening")
    os.kill(p.proc.pid, signal.SIGKILL)
    p.proc.wait()
    path = unsock.path(7100)
    assert path.is_socket(), "a killed server leaves its file"
    with pytest.raises(ConnectionRefusedError):
        unix_connect(path)
    q = unsock.steps(SERVE, "7100")
    q.expect("listening")
    assert_served(path)


def test_live_server_socket_is_kept(unsock):
    p = unsock.steps(SERVE, "7101")
    p.expect("listening")
    path = unsock.path(7101)
    ino = path.stat().st_ino
    assert bind_result(unsock, 7101) == str(errno.EADDRINUSE)
    assert path.stat().st_ino == ino
    # The failed bind found the server alive without connecting to it.
    assert assert_served(path) == b"alive 1"


def make_regular(path):
    path.write_bytes(b"precious data")


def make_directory(path):
    path.mkdir()
    (path / "inside").write_text("precious")


def make_control_file(path):
    path.write_bytes(control_file_bytes())


def make_symlink_to_stale_socket(path):
    target = path.with_name("target.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(target))
    s.close()
    path.symlink_to(target)


def make_symlink_to_file(path):
    target = path.with_name("target.txt")
    target.write_text("precious")
    path.symlink_to(target)


def make_dangling_symlink(path):
    path.symlink_to(path.with_name("nowhere"))


def snapshot(path):
    """Everything that must not change about the thing at path."""
    st = os.lstat(path)
    parts = [st.st_ino, st.st_mode, st.st_size]
    if path.is_symlink():
        parts.append(os.readlink(path))
        target = path.resolve()
        if target.exists():
            parts.append(os.lstat(target).st_ino)
    elif path.is_dir():
        parts.append(sorted(os.listdir(path)))
    elif path.is_file():
        parts.append(path.read_bytes())
    return parts


@pytest.mark.parametrize("make", [
    make_regular, make_directory, make_control_file, make_symlink_to_stale_socket, make_symlink_to_file,
    make_dangling_symlink,
])
def test_user_files_are_never_deleted(unsock, make):
    path = unsock.path(7102)
    make(path)
    before = snapshot(path)
    assert bind_result(unsock, 7102) == str(errno.EADDRINUSE)
    assert snapshot(path) == before


def close_then_exit(port: int) -> str:
    """A listener on PORT that closes on the first line of input and exits on the second."""
    return f"""
import socket, sys
s = socket.socket()
s.bind(("{COVERED}", {port}))
s.listen()
print("listening", flush=True)
sys.stdin.readline()
s.close()
print("closed", flush=True)
sys.stdin.readline()
"""


def test_a_socket_file_replaced_by_someone_else_is_kept(unsock):
    """The file is removed only if it is still the one this process created."""
    p = unsock.steps(close_then_exit(7103))
    p.expect("listening")
    path = unsock.path(7103)
    path.unlink()
    other = socket.socket(socket.AF_UNIX)
    other.bind(str(path))
    other.listen()
    p.go()
    p.expect("closed")
    assert path.is_socket()
    u = unix_connect(path)
    u.close()
    other.close()
    assert p.finish() == 0
    assert path.is_socket()


def test_file_removed_when_the_listener_is_closed(unsock):
    p = unsock.steps(close_then_exit(7104))
    p.expect("listening")
    path = unsock.path(7104)
    assert path.is_socket()
    p.go()
    p.expect("closed")
    assert not os.path.lexists(path)
    assert p.finish() == 0


@pytest.mark.parametrize("how", ["python", "c-exit"])
def test_file_removed_when_the_process_exits_normally(unsock, cprog, how):
    if how == "python":
        unsock.py(f"""
import socket
s = socket.socket()
s.bind(("{COVERED}", 7105))
s.listen()
import os
assert os.path.exists("{unsock.dir}/7105.sock")
""")
    else:
        assert unsock.prog(cprog("exitlisten"), COVERED, "7105", str(unsock.dir)).strip() == "ok"
    assert not os.path.lexists(unsock.path(7105))


FORK = f"""
import os, socket, sys
how = sys.argv[1]
s = socket.socket()
s.bind(("{COVERED}", 7106))
s.listen()
pid = os.fork()
if pid == 0:
    if how == "close":
        s.close()
        os._exit(0)
    sys.exit(0)
os.waitpid(pid, 0)
print("child gone", flush=True)
a, _ = s.accept()
a.sendall(b"alive")
a.close()
sys.stdin.readline()
"""


@pytest.mark.parametrize("how", ["close", "exit"])
def test_forked_child_closing_or_exiting_keeps_the_file(unsock, how):
    p = unsock.steps(FORK, how)
    p.expect("child gone")
    path = unsock.path(7106)
    assert path.is_socket()
    assert_served(path)
    assert p.finish() == 0
    assert not os.path.lexists(path)


def test_daemonize_parent_exit_keeps_the_file(unsock):
    """The parent binds, forks and exits; the child serves on. The file goes
    when the child, the last holder, is done."""
    code = f"""
import os, socket, sys
s = socket.socket()
s.bind(("{COVERED}", 7107))
s.listen()
if os.fork() == 0:
    os.setsid()
    a, _ = s.accept()
    a.sendall(b"alive")
    a.close()
    s.close()
    sys.exit(0)
sys.exit(0)
"""
    parent = subprocess.run([sys.executable, "-c", code], env=unsock.env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20, check=True)
    assert parent.returncode == 0
    path = unsock.path(7107)
    assert path.is_socket(), "the exiting parent removed the file its child serves"
    assert_served(path)
    wait_for(lambda: not os.path.lexists(path), what="the daemon to remove its file")


DUPS = f"""
import fcntl, os, socket, sys
s = socket.socket()
s.bind(("{COVERED}", 7108))
s.listen()
fd = s.fileno()
copies = [os.dup(fd), fcntl.fcntl(fd, fcntl.F_DUPFD, 100), os.dup2(fd, 200)]
s.close()
for c in copies:
    print("open", len(copies), flush=True)
    sys.stdin.readline()
    os.close(c)
    copies = copies[1:]
print("all closed", flush=True)
sys.stdin.readline()
fd = socket.socket()
fd.bind(("{COVERED}", 7108))
fd.listen()
os.dup2(fd.fileno(), 300)
os.closerange(3, 1000)
print("closerange", flush=True)
sys.stdin.readline()
"""


def test_dup_copies_keep_the_file_until_the_last_is_closed(unsock):
    p = unsock.steps(DUPS)
    path = unsock.path(7108)
    for left in (3, 2, 1):
        assert p.expect("open") == f"open {left}"
        assert path.is_socket()
        u = unix_connect(path)
        u.close()
        p.go()
    p.expect("all closed")
    assert not os.path.lexists(path)
    p.go()
    p.expect("closerange")
    assert not os.path.lexists(path)
    assert p.finish() == 0


def test_file_removed_while_accepted_connections_remain(unsock):
    """Accepted connections carry the listener's path; they do not keep the
    file once the listener is closed."""
    code = f"""
import os, socket
s = socket.socket()
s.bind(("{COVERED}", 7109))
s.listen()
c = socket.create_connection(("{COVERED}", 7109))
a, _ = s.accept()
s.close()
print(os.path.lexists("{unsock.dir}/7109.sock"))
a.sendall(b"still")
print(c.recv(5).decode())
"""
    assert unsock.py(code).split() == ["False", "still"]


def test_bound_but_not_yet_listening_is_not_stale(unsock):
    """A server between bind() and listen() owns its file: a competing bind
    must not take it for a dead server's."""
    p = unsock.steps(f"""
import socket, sys
s = socket.socket()
s.bind(("{COVERED}", 7110))
print("bound", flush=True)
sys.stdin.readline()
s.listen()
print("listening", flush=True)
a, _ = s.accept()
a.sendall(b"alive")
sys.stdin.readline()
""")
    p.expect("bound")
    path = unsock.path(7110)
    ino = path.stat().st_ino
    assert bind_result(unsock, 7110) == str(errno.EADDRINUSE)
    assert path.stat().st_ino == ino
    p.go()
    p.expect("listening")
    assert_served(path)
    assert p.finish() == 0


def test_close_range_and_closefrom(unsock, glibc_prog):
    assert unsock.prog(glibc_prog("closeall"), COVERED, str(unsock.dir)).strip() == "ok"


def test_binder_removes_the_file_at_exit_after_unprivileged_children(unsock):
    """nginx's pattern: the root master closes its listener while its workers
    (another user, not allowed to remove the file) still serve; the workers
    close and exit; the master's exit then removes the file."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run a child as another user")
    os.chmod(unsock.dir, 0o755)
    code = f"""
import os, socket, sys
s = socket.socket()
s.bind(("{COVERED}", 7111))
s.listen()
pid = os.fork()
if pid == 0:
    os.setgid(65534)
    os.setuid(65534)
    sys.stdin.readline()
    s.close()
    sys.exit(0)
s.close()
print("master closed", os.path.lexists("{unsock.dir}/7111.sock"), flush=True)
os.waitpid(pid, 0)
print("worker gone", os.path.lexists("{unsock.dir}/7111.sock"), flush=True)
sys.stdin.readline()
"""
    p = unsock.steps(code)
    assert p.expect("master closed") == "master closed True"
    p.go()
    assert p.expect("worker gone") == "worker gone True"
    assert p.finish() == 0
    assert not os.path.lexists(unsock.path(7111))
