"""Control files end to end in the guest: python http.server under the shim
bound to 127.0.0.1:PORT whose socket file is a control file naming AF_VSOCK
(or AF_TIPC), and curl under the shim reaching it through a second
directory whose control file connects there — real traffic over the guest
kernel's vsock loopback and TIPC. The same with musl programs under the musl
build, whose control files its own control-file tool writes (the library run
as a program, as the original's). One guest boot runs every case."""

from __future__ import annotations

import json
import shlex
import shutil
import struct
import sys
from pathlib import Path

import pytest

from tests.helpers.cprog import compile_prog
from tests.helpers.programs import require_program
from tests.helpers.shim import PROGS
from tests.vm.harness import Guest, Result
from unsock import library_path

AF_VSOCK, AF_TIPC = 40, 30
VMADDR_CID_ANY, VMADDR_CID_LOCAL = 0xFFFFFFFF, 1
TIPC_ADDR_NAME, TIPC_CLUSTER_SCOPE = 2, 2
MAGIC = 0x4B534E55


def control_record(dest: bytes) -> bytes:
    """The original unsock's 452-byte record with no proxy and no parameters."""
    head = struct.pack("=QQIIII", MAGIC, 0, 0, len(dest), 0, 0)
    return head + bytes(128) + dest.ljust(128, b"\0") + bytes(4 * 40) + bytes(4)


def vsock(cid: int, port: int) -> bytes:
    return struct.pack("=HHII4x", AF_VSOCK, 0, port, cid)  # struct sockaddr_vm, 16 bytes


def tipc_name(type_: int, instance: int) -> bytes:
    return struct.pack("=HBbIII", AF_TIPC, TIPC_ADDR_NAME, TIPC_CLUSTER_SCOPE, type_, instance, 0)


CASES = {
    "vsock": (vsock(VMADDR_CID_ANY, 5000), vsock(VMADDR_CID_LOCAL, 5000)),
    "tipc": (tipc_name(1000, 99), tipc_name(1000, 99)),
}


@pytest.fixture(scope="module")
def share(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ctl")


@pytest.fixture(scope="module")
def run(guest: Guest, share: Path) -> Result:
    lines = ["set -u"]
    lib = shlex.quote(str(library_path()))
    for n, (name, (server_dest, client_dest)) in enumerate(CASES.items()):
        port = 8000 + n
        server_dir, client_dir, site = share / f"{name}-server", share / f"{name}-client", share / f"{name}-site"
        for d in (server_dir, client_dir, site):
            d.mkdir()
        (server_dir / f"{port}.sock").write_bytes(control_record(server_dest))
        (client_dir / f"{port}.sock").write_bytes(control_record(client_dest))
        (site / "index.html").write_text(f"hello over {name}\n")
        env = f"LD_PRELOAD={lib} UNSOCK_ADDR=127.0.0.1/8"
        lines += [
            f"{env} UNSOCK_DIR={server_dir} {shlex.quote(sys.executable)} -m http.server --bind 127.0.0.1 {port}"
            f" --directory {site} >{share}/{name}.server.log 2>&1 &",
            "server=$!",
            # the server is ready when its bind went through the control file
            f"for i in $(seq 100); do {env} UNSOCK_DIR={client_dir} curl -s -o /dev/null"
            f" http://127.0.0.1:{port}/ && break; sleep 0.1; done",
            f"echo {name}: $({env} UNSOCK_DIR={client_dir} curl -sS http://127.0.0.1:{port}/index.html 2>&1)",
            f"echo {name} plain: $(curl -sS -m 2 http://127.0.0.1:{port}/ 2>&1 | head -c 60)",
            "kill $server; wait $server 2>/dev/null",
            f"echo {name} files: $(ls {server_dir} {client_dir} | tr '\\n' ' ')",
        ]
    if shutil.which("musl-gcc"):
        lines += musl_cases(share)
    lines += two_tipc_instances(share, lib)
    probe = Path(__file__).with_name("guest_accept_convert.py")
    for switch in ("UNSOCK_ACCEPT_CONVERT_VSOCK", "UNSOCK_ACCEPT_CONVERT_ALL"):
        lines.append(
            f"echo {switch}: $(LD_PRELOAD={lib} UNSOCK_DIR={share} {switch}=1 {shlex.quote(sys.executable)}"
            f" {shlex.quote(str(probe))} 2>&1)"
        )
    return guest.run("\n".join(lines) + "\n", timeout=150, share=share)


# name: (TCP port, the control-file tool's variables for the server's file, for the client's)
MUSL_CASES = {
    "vsock-musl": (8010, "UNSOCK_VSOCK_PORT=5010", "UNSOCK_VSOCK_PORT=5010 UNSOCK_VSOCK_CID=1"),
    "tipc-musl": (8011, "UNSOCK_TIPC_TYPE=1010 UNSOCK_TIPC_LOWER=99", "UNSOCK_TIPC_TYPE=1010 UNSOCK_TIPC_LOWER=99"),
}


def musl_cases(share: Path) -> list[str]:
    """A musl HTTP server (sdserve) and a musl client (fetch) under the musl build; their
    control files written in the guest by libunsock-musl.so run as a program."""
    lib = shlex.quote(str(library_path("musl")))
    server = compile_prog(PROGS / "sdserve.c", [PROGS / "probe.h"], musl=True)
    fetch = compile_prog(Path(__file__).parent.parent / "musl" / "progs" / "fetch.c", [PROGS / "probe.h"], musl=True)
    lines = []
    for name, (port, server_vars, client_vars) in MUSL_CASES.items():
        server_dir, client_dir = share / f"{name}-server", share / f"{name}-client"
        server_dir.mkdir()
        client_dir.mkdir()
        env = f"LD_PRELOAD={lib} UNSOCK_ADDR=127.0.0.1/8"
        get = f"{env} UNSOCK_DIR={client_dir} {fetch} 127.0.0.1 {port}"
        lines += [
            f"echo {name} tool: $(UNSOCK_FILE={server_dir}/{port}.sock {server_vars} {lib} 2>&1)"
            f" $(UNSOCK_FILE={client_dir}/{port}.sock {client_vars} {lib} 2>&1)",
            f"{env} UNSOCK_DIR={server_dir} {server} none 127.0.0.1 {port} 2 >{share}/{name}.server.log 2>&1 &",
            "server=$!",
            f"for i in $(seq 100); do {get} >/dev/null 2>&1 && break; sleep 0.1; done",
            f"echo {name}: $({get} 2>&1 | tr '\n' ' ')",
            f"echo {name} plain: $(curl -sS -m 2 http://127.0.0.1:{port}/ 2>&1 | head -c 60)",
            "wait $server",
            f"echo {name} files: $(ls {server_dir} {client_dir} | tr '\n' ' ')",
        ]
    return lines


@pytest.mark.parametrize("name", list(MUSL_CASES))
def test_musl_programs_over_control_files_the_musl_tool_wrote(run: Result, share: Path, name: str) -> None:
    require_program("musl-gcc")
    port = MUSL_CASES[name][0]
    out = next((ln for ln in run.stdout.splitlines() if ln.startswith(f"{name}: ")), "")
    assert out.startswith(f"{name}: hello from sdserve listener inet 127.0.0.1 {port} "), \
        run.stdout + run.stderr + (share / f"{name}.server.log").read_text()
    assert (f"{name} tool: unsock: wrote control file {share}/{name}-server/{port}.sock"
            f" unsock: wrote control file {share}/{name}-client/{port}.sock\n") in run.stdout, run.stdout
    plain = next(ln for ln in run.stdout.splitlines() if ln.startswith(f"{name} plain:"))
    assert "Connection refused" in plain or "Failed to connect" in plain, plain
    files = next(ln for ln in run.stdout.splitlines() if ln.startswith(f"{name} files:"))
    assert files.count(".sock") == 2, files


def two_tipc_instances(share: Path, lib: str) -> list[str]:
    """Two servers on one TIPC service type, instances 1 and 2, each behind its own
    TCP port of the client: every request reaches the instance its file names."""
    lines = []
    for instance in (1, 2):
        server_dir, site = share / f"tipc{instance}-server", share / f"tipc{instance}-site"
        server_dir.mkdir()
        site.mkdir()
        (server_dir / "8100.sock").write_bytes(control_record(tipc_name(2000, instance)))
        (site / "index.html").write_text(f"instance {instance}\n")
        lines.append(
            f"LD_PRELOAD={lib} UNSOCK_ADDR=127.0.0.1/8 UNSOCK_DIR={server_dir} {shlex.quote(sys.executable)}"
            f" -m http.server --bind 127.0.0.1 8100 --directory {site} >/dev/null 2>&1 &"
        )
        lines.append("servers=\"${servers:-} $!\"")
    client_dir = share / "tipc-instances-client"
    client_dir.mkdir()
    for instance, port in ((1, 8101), (2, 8102)):
        (client_dir / f"{port}.sock").write_bytes(control_record(tipc_name(2000, instance)))
    env = f"LD_PRELOAD={lib} UNSOCK_ADDR=127.0.0.1/8 UNSOCK_DIR={client_dir}"
    for port in (8101, 8102):
        lines.append(
            f"echo port {port}: $({env} curl -s --retry 20 --retry-all-errors --retry-delay 1"
            f" http://127.0.0.1:{port}/ 2>&1)"
        )
    lines.append("kill $servers; wait $servers 2>/dev/null")
    return lines


@pytest.mark.parametrize("name", list(CASES))
def test_http_over_control_file(run: Result, name: str) -> None:
    assert f"{name}: hello over {name}" in run.stdout, run.stdout + run.stderr


def accept_report(run: Result, switch: str) -> dict[str, dict[str, object]]:
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith(f"{switch}: "))
    report: dict[str, dict[str, object]] = json.loads(line.split(": ", 1)[1])
    return report


def test_accept_convert_vsock_reports_vsock_peers_as_ipv4(run: Result) -> None:
    """UNSOCK_ACCEPT_CONVERT_VSOCK=1: a VSOCK peer looks like UNSOCK_ADDR (the
    default 127.175.0.0), port 0, as in the original; TIPC peers stay TIPC."""
    report = accept_report(run, "UNSOCK_ACCEPT_CONVERT_VSOCK")
    assert report["vsock"]["accept"] == ["127.175.0.0", 0]
    assert report["tipc"]["accept"][0] == 3  # TIPC_ADDR_ID: a TIPC address, unchanged


def test_accept_convert_all_reports_tipc_peers_as_ipv4(run: Result) -> None:
    report = accept_report(run, "UNSOCK_ACCEPT_CONVERT_ALL")
    assert report["vsock"]["accept"] == ["127.175.0.0", 0]
    assert report["tipc"]["accept"] == ["127.175.0.0", 0]
    assert report["tipc"]["getpeername"] == ["127.175.0.0", 0]


def test_two_tipc_instances_each_reached_by_name(run: Result) -> None:
    assert "port 8101: instance 1" in run.stdout, run.stdout + run.stderr
    assert "port 8102: instance 2" in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize("name", list(CASES))
def test_nothing_on_tcp_and_control_files_kept(run: Result, name: str) -> None:
    plain = next(line for line in run.stdout.splitlines() if line.startswith(f"{name} plain:"))
    assert "Connection refused" in plain or "Failed to connect" in plain, plain
    files = next(line for line in run.stdout.splitlines() if line.startswith(f"{name} files:"))
    assert files.count(".sock") == 2, files
