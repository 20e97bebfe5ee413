"""Finding the real programs the tests drive, and small checks on what they did."""

from __future__ import annotations

import errno
import os
import shutil
import socket
from pathlib import Path

import pytest

IN_CI = bool(os.environ.get("CI"))

SBIN_DIRS = (Path("/usr/sbin"), Path("/sbin"))


def require_program(name: str) -> str:
    """Path of a real program the test needs. Missing: skip locally, fail in CI."""
    path = shutil.which(name) or next((str(p) for p in (d / name for d in SBIN_DIRS) if p.exists()), None)
    if path is None:
        msg = f"'{name}' is not installed (.ci/run installs it)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def require_path(pattern: str, what: str) -> Path:
    """The last (highest sorting) file matching a glob, e.g. a versioned
    PostgreSQL binary. Missing: skip locally, fail in CI."""
    found = sorted(Path("/").glob(pattern.lstrip("/")))
    if not found:
        msg = f"{what} ({pattern}) is not installed (.ci/run installs it)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return found[-1]


def proc_net_ports(proto: str, state: str | None = None) -> set[int]:
    """Local ports of the real sockets of a protocol ("tcp", "udp") in this network
    namespace, IPv4 and IPv6, optionally only those in one state (hex, "0A" = LISTEN)."""
    ports: set[int] = set()
    for table in (f"/proc/net/{proto}", f"/proc/net/{proto}6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and (state is None or fields[3] == state):
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def tcp_listening_ports() -> set[int]:
    """Ports of every TCP socket in LISTEN state in this network namespace (v4 and v6)."""
    return proc_net_ports("tcp", "0A")


def assert_no_tcp_listener(port: int, host: str = "127.0.0.1") -> None:
    """Nothing listens on host:port over real TCP: the program's socket became a unix socket."""
    assert port not in tcp_listening_ports(), f"a real TCP socket listens on port {port}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        code = s.connect_ex((host, port))
    assert code == errno.ECONNREFUSED, f"TCP connect to {host}:{port} gave {errno.errorcode.get(code, code)}"


def unix_socket_alive(path: Path) -> bool:
    """A server accepts connections on the unix socket at path."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        return s.connect_ex(str(path)) == 0


# Set for a whole test pass (Makefile: UNSOCK_IP_AT_SOCKET=1), so it reaches every program run
# under the shim, `unsock run` included.
PASS_SWITCHES = ("UNSOCK_IP_AT_SOCKET",)


def pass_switches() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in PASS_SWITCHES}


def plain_env(**extra: str) -> dict[str, str]:
    """os.environ without the shim or any UNSOCK_* variable (but the test pass's switches): for
    programs that must run natively, and for `unsock run`."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("UNSOCK_")}
    env.update(pass_switches())
    env.update(extra)
    return env
