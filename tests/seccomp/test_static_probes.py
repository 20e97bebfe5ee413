"""The C probes of tests/shim/progs, linked statically against musl (`musl-gcc -static`: no
interpreter, out of LD_PRELOAD's reach), run under the seccomp engine with the arguments the
shim's tests give them, and held to the same expectations: "ok" and exit 0 (the two documented
differences of the seccomp engine are told to the probes by conftest.probe_env)."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.seccomp.conftest import COVERED, REAL, Supervised

pytestmark = pytest.mark.program("musl-gcc")

Build = Callable[[str], Path]

WIDE = "127.0.0.0/8,::1/128"  # tests/shim/test_udp.py: replies go to 127.0.0.1 / ::1


def test_wrongfamily(seccomp: Supervised, static_prog: Build) -> None:
    """tests/shim/test_addresses.py: a covered IPv4 address on an AF_UNIX or AF_INET6 socket."""
    assert seccomp.prog(static_prog("wrongfamily"), COVERED, REAL).strip() == "ok"


def test_sockopts(seccomp: Supervised, static_prog: Build) -> None:
    """tests/shim/test_sockopts.py: TCP- and IP-level options as on real TCP."""
    assert seccomp.prog(static_prog("sockopts"), COVERED, REAL).strip() == "ok"


def test_flags(seccomp: Supervised, static_prog: Build) -> None:
    """tests/shim/test_flags_after_swap.py: flags, owner and options survive the swap."""
    assert seccomp.prog(static_prog("flags"), COVERED).strip() == "ok"


def test_epoll(seccomp: Supervised, static_prog: Build) -> None:
    """tests/shim/test_epoll.py: an epoll registration made before bind/connect survives."""
    assert seccomp.prog(static_prog("epoll"), COVERED).strip() == "ok"


def test_fdleak(seccomp: Supervised, static_prog: Build) -> None:
    """tests/shim/test_fd_leak.py: 1000 connects and accepts, the descriptor count flat."""
    assert seccomp.prog(static_prog("fdleak"), COVERED).strip() == "ok"


def test_nbconnect(seccomp: Supervised, static_prog: Build) -> None:
    """tests/shim/test_nonblocking_connect.py: non-blocking connect as on TCP."""
    assert seccomp.prog(static_prog("nbconnect"), COVERED, str(seccomp.dir)).strip() == "ok"


def test_threads(seccomp: Supervised, static_prog: Build) -> None:
    """tests/shim/test_threads.py: 8 threads x 200 connects while listeners come and go."""
    assert seccomp.prog(static_prog("threads"), COVERED, str(seccomp.dir), timeout=120).strip() == "ok"
    assert os.listdir(seccomp.dir) == []


def test_addrs(seccomp: Supervised, static_prog: Build) -> None:
    """tests/shim/test_null_addresses.py: NULL, short, zero, negative and long address
    arguments as on TCP (UNSOCK_PEER_LOOPBACK=1, so the client is 127.0.0.1 as on TCP)."""
    out = seccomp.prog(static_prog("addrs"), COVERED, REAL, options=["--peer-loopback"])
    assert out.strip() == "ok"


@pytest.mark.parametrize(("ip", "lo", "port"), [
    ("127.0.0.1", "127.0.0.1", 7801),
    ("127.0.0.5", "127.0.0.1", 7802),
    ("::1", "::1", 7803),
], ids=["ipv4", "ipv4-range", "ipv6"])
def test_dgram(seccomp: Supervised, static_prog: Build, ip: str, lo: str, port: int) -> None:
    """tests/shim/test_udp.py test_datagram_calls: UDP on both loopback ranges."""
    assert seccomp.prog(static_prog("dgram"), ip, lo, str(port), addr=WIDE).strip() == "ok"
    assert os.listdir(seccomp.dir) == []


def test_dgram_ipv4_mapped(seccomp: Supervised, static_prog: Build) -> None:
    """tests/shim/test_udp.py test_ipv4_mapped_datagrams."""
    out = seccomp.prog(static_prog("dgram"), "::ffff:127.0.0.1", "::ffff:127.0.0.1", "7804", addr="127.0.0.0/8")
    assert out.strip() == "ok"


def test_exitlisten(seccomp: Supervised, static_prog: Build) -> None:
    """tests/shim/test_socket_files.py: the socket file of a listener the program never closed
    is gone once the program has exited."""
    assert seccomp.prog(static_prog("exitlisten"), COVERED, "7105", str(seccomp.dir)).strip() == "ok"
    assert not os.path.lexists(seccomp.dir / "7105.sock")


def test_closeall(seccomp: Supervised, static_prog: Build) -> None:
    """tests/shim/test_socket_files.py: listeners closed by close_range() and closefrom() lose
    their socket files; CLOSE_RANGE_CLOEXEC closes nothing."""
    assert seccomp.prog(static_prog("closeall"), COVERED, str(seccomp.dir)).strip() == "ok"


def test_blockinet(seccomp: Supervised, static_prog: Build) -> None:
    """tests/shim/test_block_inet.py: UNSOCK_BLOCK_INET and UNSOCK_BLOCK_INET6 as exact errnos."""
    out = seccomp.prog(static_prog("blockinet"), COVERED, REAL, options=["--block-inet", "--block-inet6"])
    assert out.split() == [f"connect={errno.EACCES}", f"bind={errno.EACCES}", f"short={errno.EINVAL}",
                           f"inet6={errno.EAFNOSUPPORT}", "covered=0"]
