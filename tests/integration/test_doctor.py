"""`unsock doctor` (issue 15) on this host: every needed check passes here; a statically
linked program makes auto pick the seccomp engine (and preload refuse it); a socket directory
its user cannot write, or too long a path, is a problem; `--user nobody` agrees with what
nobody can really reach; AF_TIPC and AF_VSOCK are reported as socket() finds them."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cprog import compile_prog
from tests.helpers.programs import IN_CI, plain_env
from unsock import doctor

STATIC_SOURCE = "int main(void) { return 0; }\n"


def unsock_doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "unsock", "doctor", *args], env=env or plain_env(),
                          capture_output=True, text=True, timeout=120, check=False)


def lines(p: subprocess.CompletedProcess[str], start: str) -> list[str]:
    return [line for line in p.stdout.splitlines() if line.startswith(start)]


def test_everything_needed_is_here() -> None:
    p = unsock_doctor()
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.endswith("everything needed is there\n")
    assert all(line.split(":")[0] in ("ok", "note") for line in p.stdout.splitlines()[:-1])
    for what in ("the shim", "seccomp user notification", "pidfd_getfd", "SECCOMP_IOCTL_NOTIF_ADDFD",
                 "ptrace", "AF_VSOCK", "AF_TIPC", "socket directory"):
        assert what in p.stdout


@pytest.fixture(scope="module")
def static_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("static") / "nothing.c"
    source.write_text(STATIC_SOURCE)
    return compile_prog(source, static_musl=True)


def test_static_program_needs_seccomp(static_program: Path) -> None:
    p = unsock_doctor("--", str(static_program))
    assert p.returncode == 0, p.stdout
    assert lines(p, "ok: engine: auto picks seccomp: ") == [
        f"ok: engine: auto picks seccomp: {static_program} is statically linked: LD_PRELOAD cannot reach it"]
    refused = unsock_doctor("--engine", "preload", "--", str(static_program))
    assert refused.returncode == 1
    assert lines(refused, "problem: engine preload cannot convert") == [
        f"problem: engine preload cannot convert {static_program}: {static_program} is statically linked: "
        "LD_PRELOAD cannot reach it: use --engine auto or --engine seccomp"]


def test_dynamic_program_and_a_missing_one() -> None:
    p = unsock_doctor("--", "python3")
    assert p.returncode == 0 and lines(p, "ok: engine: auto picks preload: ")
    missing = unsock_doctor("--", "no-such-program-here")
    assert missing.returncode == 1
    assert "problem: no-such-program-here: no such program: check the name or give its path" in missing.stdout


@pytest.fixture
def closed_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="us-dr-", dir="/tmp"))
    try:
        os.chmod(d, 0o700)
        yield d
    finally:
        os.rmdir(d)


def root_only() -> None:
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("CI runs as root")
        pytest.skip("needs root, to check for another user")


def test_socket_directory_without_rights(closed_dir: Path) -> None:
    root_only()
    p = unsock_doctor("--user", "nobody", "--dir", str(closed_dir / "socks"))
    assert p.returncode == 1
    assert lines(p, "problem: socket directory") == [
        f"problem: socket directory {closed_dir}/socks: nobody cannot create it: {closed_dir} (mode 0700) is not "
        f"writable by nobody: create it for nobody ('install -d -o nobody {closed_dir}/socks'), or pass another --dir"]
    assert lines(unsock_doctor("--dir", str(closed_dir)), "ok: socket directory") == [
        f"ok: socket directory {closed_dir} ({len(str(closed_dir))} bytes) is writable by root"]
    long = unsock_doctor("--dir", "/" + "d" * 120)
    assert long.returncode == 1
    assert lines(long, "problem: socket directory") == [
        "problem: socket directory: UNSOCK_DIR is 121 bytes long, at most 96 fit in a unix socket path: "
        "choose a shorter directory"]


def really_reaches(path: Path, bits: int) -> bool:
    """What nobody's own access(2) says."""
    flags = ("-r" if bits & 4 else "") + (" -x" if bits & 1 else "")
    test = " && ".join(f"test {f} '{path}'" for f in flags.split())
    return subprocess.run(["sh", "-c", test], user=65534, group=65534, extra_groups=[], cwd="/",
                          check=False).returncode == 0


def test_user_check_agrees_with_the_user(closed_dir: Path) -> None:
    root_only()
    p = unsock_doctor("--user", "nobody")
    for what, path, bits in doctor.unsock_paths():
        reached = really_reaches(path, bits)
        line = f"ok: nobody can reach {what} {path}"
        assert (line in p.stdout.splitlines()) == reached, (path, p.stdout)
        if not reached:
            assert f"problem: nobody cannot reach {what} {path}: " in p.stdout
            assert p.returncode == 1
    # A library under a 0700 directory, as a CLI under /root would be.
    lib = closed_dir / "libunsock.so"
    lib.write_bytes(b"")
    try:
        os.chmod(lib, 0o644)
        why = doctor.unreachable(doctor.User.named("nobody"), lib, 4)
        assert why == f"{closed_dir} (mode 0700, owner root) is not searchable by nobody"
        assert not really_reaches(lib, 4)
        os.chmod(closed_dir, 0o711)
        assert doctor.unreachable(doctor.User.named("nobody"), lib, 4) is None and really_reaches(lib, 4)
        os.chmod(lib, 0o600)
        assert doctor.unreachable(doctor.User.named("nobody"), lib, 4) == f"{lib} (mode 0600) is not readable by nobody"
        assert not really_reaches(lib, 4)
    finally:
        lib.unlink()


def family_available(family: int, kind: int) -> bool:
    try:
        socket.socket(family, kind).close()
    except OSError as e:
        assert e.errno in (errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT), e
        return False
    return True


@pytest.mark.parametrize(("name", "family", "kind", "module"), [
    ("AF_VSOCK", 40, socket.SOCK_STREAM, "vsock"), ("AF_TIPC", 30, socket.SOCK_RDM, "tipc")])
def test_families_as_socket_finds_them(name: str, family: int, kind: int, module: str) -> None:
    p = unsock_doctor()
    if family_available(family, kind):
        assert f"ok: {name} is available" in p.stdout.splitlines()
    else:
        assert (f"note: {name}: this kernel has no {module} support (only {module}= rules need it): "
                f"load it with 'modprobe {module}' (on the host, for a container)") in p.stdout.splitlines()
        rules = {"vsock": "in,port=80,vsock=2:5000", "tipc": "in,port=80,tipc=1000:80"}[module]
        compiled = subprocess.run([sys.executable, "-m", "unsock", "rules", "-r", rules, "--compiled"],
                                  env=plain_env(), capture_output=True, text=True, check=True).stdout.strip()
        needed = unsock_doctor(env=plain_env(UNSOCK_RULES=compiled))
        assert needed.returncode == 1
        said = f"missing: {name}: this kernel has no {module} support: load it with 'modprobe {module}'"
        assert said in needed.stdout
