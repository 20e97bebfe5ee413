"""The shim on musl: the shim's C probes built as dynamically linked musl programs (`musl-gcc`)
run under `unsock run`, which reads their interpreter (ld-musl) and preloads the musl build of
the shim (libunsock-musl.so beside libunsock.so), with the expectations they have under glibc;
and a mixed tree: a glibc shell that execs musl programs gets them the musl build at exec."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.cprog import compile_prog
from tests.helpers.output import unsock_cli
from tests.helpers.programs import plain_env
from tests.helpers.shim import PROGS

pytestmark = pytest.mark.program("musl-gcc")

COVERED, REAL = "127.0.0.2", "127.0.0.1"
Build = Callable[[str], Path]


@pytest.fixture(scope="module")
def musl_prog() -> Build:
    return lambda name: compile_prog(PROGS / f"{name}.c", [PROGS / "probe.h"], musl=True)


def run(sockdir: Path, cmd: list[str], *options: str, addr: str = f"{COVERED}/32") -> subprocess.CompletedProcess[str]:
    args = [*unsock_cli(), "run", "-v", "--dir", str(sockdir), "--addr", addr, *options, "--", *cmd]
    return subprocess.run(args, env=plain_env(), capture_output=True, text=True, timeout=120, check=False)


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_unsock_lib_names_the_musl_build() -> None:
    lib = subprocess.run([*unsock_cli(), "lib", "--libc", "musl"], capture_output=True, text=True, check=True)
    path = Path(lib.stdout.strip())
    assert path.name == "libunsock-musl.so" and path.is_file()
    assert b"/lib/ld-musl-" in path.read_bytes()  # its interpreter: the control-file tool runs on musl too


def test_unsock_rules_names_the_build(musl_prog: Build) -> None:
    p = subprocess.run([*unsock_cli(), "rules", "--addr", f"{COVERED}/32", str(musl_prog("fdleak"))],
                       capture_output=True, text=True, check=True)
    assert p.stdout.splitlines()[-1].endswith("/libunsock-musl.so")


@pytest.mark.parametrize(("name", "args", "options"), [
    ("fdleak", [COVERED], []),
    ("wrongfamily", [COVERED, REAL], []),
    ("sockopts", [COVERED, REAL], []),
    ("flags", [COVERED], []),
    ("epoll", [COVERED], []),
    ("addrs", [COVERED, REAL], ["--peer-loopback"]),
])
def test_probe_under_the_musl_shim(musl_prog: Build, sockdir: Path, name: str, args: list[str],
                                   options: list[str]) -> None:
    p = run(sockdir, [str(musl_prog(name)), *args], *options)
    assert ok(p).strip() == "ok"
    assert "unsock: engine preload: " in p.stderr and "ld-musl" in p.stderr
    assert "libunsock-musl.so" in p.stderr, p.stderr


def test_nonblocking_connect_threads_and_socket_files(musl_prog: Build, sockdir: Path) -> None:
    assert ok(run(sockdir, [str(musl_prog("nbconnect")), COVERED, str(sockdir)])).strip() == "ok"
    assert ok(run(sockdir, [str(musl_prog("threads")), COVERED, str(sockdir)])).strip() == "ok"
    # (closeall.c is not here: musl has no close_range() or closefrom(), so a musl program makes the
    # system call itself, which no preload shim sees; the files go when the program ends)
    assert ok(run(sockdir, [str(musl_prog("exitlisten")), COVERED, "7105", str(sockdir)])).strip() == "ok"
    assert not list(sockdir.iterdir())


@pytest.mark.parametrize(("ip", "lo", "port", "addr"), [
    ("127.0.0.5", "127.0.0.1", 7811, "127.0.0.0/8,::1/128"),
    ("::1", "::1", 7812, "127.0.0.0/8,::1/128"),
    ("::ffff:127.0.0.1", "::ffff:127.0.0.1", 7813, "127.0.0.0/8"),
], ids=["ipv4", "ipv6", "v4-mapped"])
def test_udp_with_addresses(musl_prog: Build, sockdir: Path, ip: str, lo: str, port: int, addr: str) -> None:
    assert ok(run(sockdir, [str(musl_prog("dgram")), ip, lo, str(port)], addr=addr)).strip() == "ok"


def test_mmsg_and_block_inet(musl_prog: Build, sockdir: Path) -> None:
    assert ok(run(sockdir, [str(musl_prog("mmsg")), COVERED], addr="127.0.0.0/8")).strip() == "ok"
    out = ok(run(sockdir, [str(musl_prog("blockinet")), COVERED, REAL], "--block-inet", "--block-inet6"))
    assert out.split() == [f"connect={errno.EACCES}", f"bind={errno.EACCES}", f"short={errno.EINVAL}",
                           f"inet6={errno.EAFNOSUPPORT}", "covered=0"]


def test_a_glibc_shell_execs_musl_programs(musl_prog: Build, sockdir: Path) -> None:
    """One `unsock run` of a glibc shell: a musl server and a musl client it starts are both
    converted (the shim swaps LD_PRELOAD for the musl build at their exec)."""
    script = f"{musl_prog('fdleak')} {COVERED} && exec {musl_prog('addrs')} {COVERED} {REAL}"
    p = run(sockdir, ["sh", "-c", script], "--peer-loopback")
    assert ok(p).split() == ["ok", "ok"]
