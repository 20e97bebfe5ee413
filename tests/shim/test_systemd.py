"""The `systemd[=FDNAME]` rule: a bind() takes a listening socket passed by
systemd socket activation (systemd-socket-activate here, the real tool).
The passed sockets survive whatever the program closes, LISTEN_* do not
reach its children, and without a systemd rule nothing is touched."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.activate import Activated, Activator, curl, curl_unix, free_tcp_port, preload
from tests.helpers.programs import plain_env, require_program, tcp_listening_ports

pytestmark = pytest.mark.program("systemd-socket-activate")

CProg = Callable[[str], Path]


def body_fields(body: bytes) -> dict[str, str]:
    """The probe's answer, "key value" lines."""
    lines = body.decode().splitlines()
    assert lines[0] == "hello from sdserve", lines
    return dict(line.split(" ", 1) for line in lines[1:])


def finished(run: Activated) -> str:
    """The program's stdout once it has exited 0."""
    code = run.wait()
    out = run.out.drain()
    assert code == 0, f"exit {code}\nstdout: {out}\nstderr: {run.stderr()}"
    return out


def poke(path: Path) -> socket.socket:
    """A connection to path: starts the activated program."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(str(path))
    return s


def test_passed_unix_socket_becomes_the_programs_listener(activator: Activator, sockdir: Path, cprog: CProg) -> None:
    """The program binds 127.0.0.1:PORT and listens; a `systemd` rule gives it
    the passed unix socket instead: it accepts there, sees TCP addresses, and
    neither it nor the child it runs sees LISTEN_*."""
    port, sock = free_tcp_port(), sockdir / "web.sock"
    run = activator.start([str(sock)], [str(cprog("sdserve")), "none", "127.0.0.1", str(port), "2"],
                          [f"in,stream,port={port},systemd"])
    for _ in range(2):
        got = body_fields(curl_unix(sock))
        assert got["listener"] == f"inet 127.0.0.1 {port}"
        assert got["peer"].startswith("inet 127.0.0.1 ")
        assert got["self-env"] == "none"
        assert got["child-env"] == "none"
    assert port not in tcp_listening_ports()
    out = finished(run)
    assert out.startswith("listening fd ")
    assert "unsock:" not in run.stderr(), "the shim logged without being asked"


@pytest.mark.parametrize("mode", ["closeloop", "dup2", "dup3", "dup2bad"])
def test_passed_socket_survives_what_the_program_closes(
    activator: Activator, sockdir: Path, cprog: CProg, mode: str
) -> None:
    """Daemons close every inherited descriptor before they bind; dup2 or
    dup3 onto fd 3 gets the program what it asked for, the passed socket
    moves away (and a failed dup2 leaves no stray copy on fd 3)."""
    survives_closing(activator, sockdir, cprog, mode)


@pytest.mark.parametrize("mode", ["closefrom", "close_range"])
def test_passed_socket_survives_closefrom(activator: Activator, sockdir: Path, glibc_prog: CProg, mode: str) -> None:
    """glibc's closefrom() and close_range() (musl has neither)."""
    survives_closing(activator, sockdir, glibc_prog, mode)


def survives_closing(activator: Activator, sockdir: Path, cprog: CProg, mode: str) -> None:
    port, sock = free_tcp_port(), sockdir / "web.sock"
    run = activator.start([str(sock)], [str(cprog("sdserve")), mode, "127.0.0.1", str(port), "1"],
                          ["in,systemd"], debug=True)
    got = body_fields(curl_unix(sock))
    assert got["listener"] == f"inet 127.0.0.1 {port}"
    out = finished(run)
    err = run.stderr()
    assert "-> passed fd" in err, err
    if mode.startswith("dup"):
        assert ("fd3 /dev/null" in out) == (mode != "dup2bad"), out
        assert "passed socket unknown moved from fd 3 to fd " in err, err
    elif mode == "closeloop":
        assert "close fd 3: a socket passed by systemd, kept open" in err, err
    else:
        assert f"{mode}: fd 3 is a socket passed by systemd, kept open" in err, err


@pytest.mark.parametrize("wrapper", ["sh", "env"])
def test_wrapper_that_execs_the_program(activator: Activator, sockdir: Path, cprog: CProg, wrapper: str) -> None:
    """A wrapper that execs the program (a shell script ending in exec,
    /usr/bin/env of a #! line) runs under the shim first, in the process the
    sockets were passed to: it hands them on with LISTEN_* instead of taking
    them, and the program's children still see no LISTEN_*."""
    port, sock = free_tcp_port(), sockdir / "web.sock"
    prog = [str(cprog("sdserve")), "closeloop", "127.0.0.1", str(port), "1"]
    if wrapper == "sh":
        cmd = [require_program("sh"), "-c", 'exec "$@"', "sh", *prog]
    else:
        cmd = [require_program("env"), *prog]
    run = activator.start([str(sock)], cmd, ["in,systemd"], fdnames="web", debug=True)
    got = body_fields(curl_unix(sock))
    assert got["listener"] == f"inet 127.0.0.1 {port}"
    assert got["child-env"] == "none"
    finished(run)
    err = run.stderr()
    assert "exec: passing on the 1 sockets systemd passed" in err, err
    assert "-> passed fd 3 (web)" in err, err


@pytest.mark.parametrize("how", ["fexecve", "posix_spawn", "posix_spawnp"])
def test_launcher_that_execs_or_spawns_the_program(activator: Activator, sockdir: Path, cprog: CProg,
                                                   how: str) -> None:
    """A launcher that runs the program with fexecve, or spawns it with
    posix_spawn or posix_spawnp and waits, hands the sockets on as execve
    does: the program's LISTEN_PID is its own (its shim takes the sockets)."""
    launched(activator, sockdir, cprog, how)


@pytest.mark.parametrize("how", ["execveat", "execveat-fd"])
def test_launcher_that_execveats_the_program(activator: Activator, sockdir: Path, glibc_prog: CProg,
                                             how: str) -> None:
    """glibc's execveat(), of a path or of a descriptor (musl has none)."""
    launched(activator, sockdir, glibc_prog, how)


def launched(activator: Activator, sockdir: Path, cprog: CProg, how: str) -> None:
    port, sock = free_tcp_port(), sockdir / "web.sock"
    prog = [str(cprog("sdserve")), "closeloop", "127.0.0.1", str(port), "1"]
    run = activator.start([str(sock)], [str(cprog("sdlaunch")), how, *prog], ["in,systemd"], fdnames="web",
                          debug=True)
    got = body_fields(curl_unix(sock))
    assert got["listener"] == f"inet 127.0.0.1 {port}"
    assert got["child-env"] == "none"
    finished(run)
    err = run.stderr()
    verb = "spawn" if how.startswith("posix_spawn") else "exec"
    assert f"{verb}: passing on the 1 sockets systemd passed" in err, err
    assert "-> passed fd 3 (web)" in err, err
    assert "is not this process" not in err, err


def test_nonblocking_program_socket(activator: Activator, sockdir: Path, cprog: CProg) -> None:
    """O_NONBLOCK of the program's socket is what the passed one gets."""
    port, sock = free_tcp_port(), sockdir / "web.sock"
    run = activator.start([str(sock)], [str(cprog("sdserve")), "none", "127.0.0.1", str(port), "1", "nonblock"],
                          ["in,systemd"])
    assert body_fields(curl_unix(sock))["listener"] == f"inet 127.0.0.1 {port}"
    finished(run)


def test_named_socket_and_rebind(activator: Activator, sockdir: Path, cprog: CProg) -> None:
    """`systemd=web` takes the socket named web, not the first one; binding
    again after closing gets the same socket back."""
    port, other, web = free_tcp_port(), sockdir / "other.sock", sockdir / "web.sock"
    run = activator.start([str(other), str(web)],
                          [str(cprog("sdserve")), "rebind", "127.0.0.1", str(port), "1"],
                          ["in,systemd=web"], fdnames="other:web")
    assert body_fields(curl_unix(web))["listener"] == f"inet 127.0.0.1 {port}"
    finished(run)


def test_passed_tcp_socket(activator: Activator, cprog: CProg) -> None:
    """A passed TCP socket makes the program's socket a native one on the
    passed port, whatever port it asked for."""
    passed, asked = free_tcp_port(), free_tcp_port()
    run = activator.start([f"127.0.0.1:{passed}"],
                          [str(cprog("sdserve")), "closeloop", "127.0.0.1", str(asked), "1"],
                          [f"in,stream,port={asked},systemd"])
    p = curl(f"http://127.0.0.1:{passed}/")
    assert p.returncode == 0, p.stderr.decode()
    got = body_fields(p.stdout)
    assert got["listener"] == f"inet 127.0.0.1 {passed}"
    assert got["peer"].startswith("inet 127.0.0.1 ")
    assert asked not in tcp_listening_ports()
    finished(run)


SERVE_EACH = r"""
import errno, os, select, socket, sys
ls = []
for port in (7001, 7002):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen()
    ls.append(s)
third = socket.socket()
try:
    third.bind(("127.0.0.1", 7003))
    print("third bound")
except OSError as e:
    print("third", errno.errorcode[e.errno])
print("names", *(s.getsockname()[1] for s in ls), flush=True)
served = 0
while served < 2:
    for s in select.select(ls, [], [], 30)[0]:
        c, peer = s.accept()
        c.sendall(f"{s.getsockname()[1]} {peer[0]}".encode())
        c.close()
        served += 1
"""


def test_binds_without_name_take_sockets_in_order(activator: Activator, sockdir: Path) -> None:
    a, b = sockdir / "a.sock", sockdir / "b.sock"
    run = activator.start([str(a), str(b)], [sys.executable, "-c", SERVE_EACH], ["in,systemd"], debug=True)
    with poke(b) as cb, poke(a) as ca:
        assert cb.recv(100) == b"7002 127.0.0.1"
        assert ca.recv(100) == b"7001 127.0.0.1"
    out = finished(run)
    assert "third EADDRNOTAVAIL" in out
    assert "names 7001 7002" in out
    assert "every passed socket is taken" in run.stderr()


INSPECT = r"""
import errno, os, socket, subprocess, sys
print("env", os.environ.get("LISTEN_PID"), os.environ.get("LISTEN_FDS"), os.environ.get("LISTEN_FDNAMES"), os.getpid())
print("inheritable", os.get_inheritable(3))
kind = socket.SOCK_DGRAM if sys.argv[1] == "dgram" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
try:
    s.bind(("127.0.0.1", 0))
except OSError as e:
    print("bind", errno.errorcode[e.errno], flush=True)
    sys.exit(0)
print("bind ok", s.getsockname()[1], flush=True)
if kind == socket.SOCK_DGRAM:
    sys.exit(0)
s.listen()
c, peer = s.accept()
c.sendall(f"{c.getsockname()[1]} {peer[0]}".encode())
"""


def test_port_zero_and_cloexec(activator: Activator, sockdir: Path) -> None:
    """Port 0 on a passed unix socket reports a port of its own; the passed
    fds are FD_CLOEXEC and LISTEN_* are gone from the program's environment."""
    sock = sockdir / "x.sock"
    run = activator.start([str(sock)], [sys.executable, "-c", INSPECT, "stream"], ["in,systemd"])
    with poke(sock) as c:
        port, peer = c.recv(100).decode().split()
    assert peer == "127.0.0.1"
    out = finished(run)
    assert "env None None None " in out
    assert "inheritable False" in out
    assert f"bind ok {port}" in out and int(port) != 0


@pytest.mark.parametrize(
    ("rule", "kind", "why"),
    [
        ("in,systemd", "dgram", "is a stream socket, the program's is datagram"),
        ("in,systemd=nope", "stream", "no passed socket has that name"),
    ],
    ids=["type", "name"],
)
def test_no_fitting_socket(activator: Activator, sockdir: Path, rule: str, kind: str, why: str) -> None:
    sock = sockdir / "x.sock"
    run = activator.start([str(sock)], [sys.executable, "-c", INSPECT, kind], [rule], debug=True)
    with poke(sock):
        out = finished(run)
    assert "bind EADDRNOTAVAIL" in out
    assert why in run.stderr()


@pytest.mark.parametrize("config", ["rules", "variables"])
def test_without_systemd_rule_nothing_is_touched(activator: Activator, sockdir: Path, config: str) -> None:
    sock = sockdir / "x.sock"
    if config == "rules":
        run = activator.start([str(sock)], [sys.executable, "-c", INSPECT, "dgram"], ["in,port=1,ignore"],
                              fdnames="web")
    else:
        run = activator.start([str(sock)], [sys.executable, "-c", INSPECT, "dgram"], None, fdnames="web",
                              env={"UNSOCK_DIR": str(sockdir), "UNSOCK_ADDR": "127.0.0.2/32"})
    with poke(sock):
        out = finished(run)
    pid = out.split("env ", 1)[1].split()
    assert pid[:3] == [pid[3], "1", "web"], out
    assert "inheritable True" in out
    assert "bind ok" in out


# Execs INSPECT in the same process (so that $$ is its pid) with LISTEN_PID
# and LISTEN_FDS set and a socket on fd 3.
EXEC_WITH_LISTEN = r"""
import os, sys
held, pid, fds, code = sys.argv[1:]
os.dup2(int(held), 3)
env = dict(os.environ, LISTEN_PID=pid.replace("$$", str(os.getpid())), LISTEN_FDS=fds)
os.execve(sys.executable, [sys.executable, "-c", code, "stream"], env)
"""


@pytest.mark.parametrize(
    ("pid", "fds", "why"),
    [
        ("1", "1", "LISTEN_PID=1 is not this process"),
        ("$$", "abc", "malformed"),
        ("$$", "0", "malformed"),
        ("$$x", "1", "malformed"),
        ("$$", "40", "LISTEN_FDS=40 but fd 4 is not open"),
    ],
    ids=["foreign", "fds-word", "fds-zero", "pid-word", "not-open"],
)
def test_foreign_or_malformed_variables_are_left_alone(sockdir: Path, pid: str, fds: str, why: str) -> None:
    """LISTEN_* not meant for this process, or not making sense, stay as they
    are; a systemd bind then finds no socket."""
    with socket.socket(socket.AF_UNIX) as held:
        held.bind(str(sockdir / "held.sock"))
        env = plain_env(LD_PRELOAD=preload(), UNSOCK_RULES="in,systemd", UNSOCK_DEBUG="1")
        p = subprocess.run(
            [sys.executable, "-c", EXEC_WITH_LISTEN, str(held.fileno()), pid, fds, INSPECT],
            env=env, capture_output=True, timeout=30, check=False, pass_fds=[held.fileno()],
        )
    out, err = p.stdout.decode(), p.stderr.decode()
    assert p.returncode == 0, err
    listen_pid, listen_fds = out.split("env ", 1)[1].split()[:2]
    assert listen_fds == fds
    assert listen_pid != "None"
    assert "bind EADDRNOTAVAIL" in out
    assert why in err, err
    assert "no sockets were passed" in err, err
