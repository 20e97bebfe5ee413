"""Smoke tests of the VM harness: one guest boot runs a host Python script doing an
AF_VSOCK loopback echo and an AF_TIPC echo; a second, cut short, proves the timeout.
Each boot costs about 7 s, so the checks share one run."""

from __future__ import annotations

import gzip
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.vm.harness import Guest, GuestTimeout, Result

GUEST_SCRIPT = Path(__file__).with_name("guest_sockets.py")


@pytest.fixture(scope="module")
def share(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vmshare")


@pytest.fixture(scope="module")
def sockets_run(guest: Guest, share: Path) -> Result:
    """The one guest boot: the host's venv python runs guest_sockets.py, then the script
    exits 42 so that the exit status is seen to come back."""
    script = f'{shlex.quote(sys.executable)} {shlex.quote(str(GUEST_SCRIPT))}\necho "python exited $?" >&2\nexit 42\n'
    return guest.run(script, timeout=120, env={"UNSOCK_VM_PROBE": "it's passed"}, share=share)


@pytest.fixture(scope="module")
def report(sockets_run: Result) -> dict[str, Any]:
    lines = sockets_run.stdout.splitlines()
    assert lines, f"no output; stderr: {sockets_run.stderr!r}"
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def test_status_and_streams_come_back(sockets_run: Result) -> None:
    assert sockets_run.returncode == 42
    assert "guest stderr works" in sockets_run.stderr
    assert "python exited 0" in sockets_run.stderr, sockets_run.stderr


def test_guest_runs_the_host_venv_in_the_guest_kernel(report: dict[str, Any], guest: Guest) -> None:
    assert report["python"] == sys.executable
    assert report["kernel"] == guest.version
    assert report["cwd"] == str(Path.cwd())
    assert report["env"] == "it's passed"


def test_vsock_loopback_echo(report: dict[str, Any]) -> None:
    assert report["vsock"]["ok"], report["vsock"]
    assert report["vsock"]["peer"][0] == 1  # VMADDR_CID_LOCAL
    assert report["vsock_nobody"] == "ECONNRESET"


def test_tipc_echo(report: dict[str, Any]) -> None:
    assert report["tipc"]["ok"], report["tipc"]
    assert report["tipc_nobody"] == "EHOSTUNREACH"


def test_shared_directory_is_writable_and_left_clean(sockets_run: Result, share: Path) -> None:
    assert (share / "from-guest.txt").read_text() == "written in the guest\n"
    assert sorted(p.name for p in share.iterdir()) == ["from-guest.txt"]  # the harness's files are gone


def test_initramfs_holds_init_busybox_and_modules(guest: Guest) -> None:
    listing = (
        subprocess.run(
            ["busybox", "cpio", "-t"],
            input=gzip.decompress(guest.initramfs.read_bytes()),
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split()
    )
    order = [line.strip() for line in (guest.kernel.parent / "modules" / "order").read_text().splitlines()]
    assert {"init", "bin/busybox", "dev/console", "modules/order"} <= set(listing)
    assert {"vsock_loopback", "tipc", "9p", "overlay"} <= set(order)
    assert order.index("vsock") < order.index("vsock_loopback")
    assert order.index("udp_tunnel") < order.index("tipc")
    assert {f"modules/{name}.ko" for name in order} <= set(listing)


def test_timeout_kills_qemu_and_cleans_up(guest: Guest) -> None:
    before = set(Path(tempfile.gettempdir()).glob("unsock-vm-*"))
    started = time.monotonic()
    with pytest.raises(GuestTimeout):
        guest.run("sleep 600", timeout=2)
    assert time.monotonic() - started < 10
    assert set(Path(tempfile.gettempdir()).glob("unsock-vm-*")) == before
