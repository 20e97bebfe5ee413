"""The build on a musl system (Alpine), where the native compiler is musl's: here musl-gcc
stands in for it, with the kernel's headers made visible as Alpine's linux-headers package does.
meson's own build then makes libunsock.so as the musl build (and no libunsock-musl.so beside
it) and the supervisor as a musl program; the shim serves musl programs, runs as the
control-file tool, and refuses a glibc program exec'd under it with one line."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cprog import compile_prog
from tests.helpers.programs import plain_env, require_program
from tests.helpers.shim import PROGS
from unsock import library_path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
COVERED = "127.0.0.2"


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    musl_gcc = require_program("musl-gcc")
    work = tmp_path_factory.mktemp("alpine")
    headers = work / "include"
    headers.mkdir()
    for name, target in (("linux", "/usr/include/linux"), ("asm-generic", "/usr/include/asm-generic"),
                         ("asm", f"/usr/include/{platform.machine()}-linux-gnu/asm")):
        (headers / name).symlink_to(target)
    venv = Path(sys.executable).parent  # meson and ninja come with the test extras
    meson = venv / "meson"
    env = {**os.environ, "CC": musl_gcc, "PATH": f"{venv}{os.pathsep}{os.environ.get('PATH', os.defpath)}"}
    setup = subprocess.run([str(meson), "setup", str(work / "build"), str(ROOT), f"-Dc_args=-isystem {headers}"],
                           env=env, capture_output=True, text=True, timeout=300, check=False)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    ninja = subprocess.run([str(meson), "compile", "-C", str(work / "build")], env=env, capture_output=True,
                           text=True, timeout=600, check=False)
    assert ninja.returncode == 0, ninja.stdout + ninja.stderr
    return work / "build"


def interpreter(path: Path) -> str:
    out = subprocess.run(["readelf", "-l", str(path)], capture_output=True, text=True, check=True).stdout
    return out.split("[Requesting program interpreter: ", 1)[1].split("]", 1)[0]


def test_one_build_and_it_is_musl(build: Path) -> None:
    shims = sorted(p.name for p in (build / "src" / "preload").iterdir() if p.name.endswith(".so"))
    assert shims == ["libunsock.so"]
    assert interpreter(build / "src" / "preload" / "libunsock.so").startswith("/lib/ld-musl-")
    assert interpreter(build / "src" / "seccomp" / "unsock-supervisor").startswith("/lib/ld-musl-")


def test_musl_program_converted(build: Path, sockdir: Path) -> None:
    lib = build / "src" / "preload" / "libunsock.so"
    probe = compile_prog(PROGS / "fdleak.c", [PROGS / "probe.h"], musl=True)
    env = plain_env(LD_PRELOAD=str(lib), UNSOCK_DIR=str(sockdir), UNSOCK_ADDR=f"{COVERED}/32", UNSOCK_DEBUG="1")
    p = subprocess.run([str(probe), COVERED], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr
    assert p.stderr.startswith(f"unsock: engine: preload, {lib} (musl)\n"), p.stderr


def test_control_file_tool(build: Path, tmp_path: Path) -> None:
    """The library run as a program writes the same record as this system's build's tool."""
    records = []
    for n, lib in enumerate((build / "src" / "preload" / "libunsock.so", library_path())):
        target = tmp_path / f"{n}.sock"
        env = plain_env(UNSOCK_FILE=str(target), UNSOCK_VSOCK_PORT="5000", UNSOCK_VSOCK_CID="3")
        p = subprocess.run([str(lib)], env=env, capture_output=True, text=True, timeout=30, check=False)
        assert p.returncode == 0 and p.stderr == f"unsock: wrote control file {target}\n", p.stderr
        records.append(target.read_bytes())
    assert records[0] == records[1] and len(records[0]) == 452


def test_glibc_program_refused_with_one_line(build: Path, sockdir: Path) -> None:
    lib = build / "src" / "preload" / "libunsock.so"
    launch = compile_prog(HERE / "progs" / "launch.c", musl=True)
    env = plain_env(LD_PRELOAD=str(lib), UNSOCK_DIR=str(sockdir), UNSOCK_ADDR=f"{COVERED}/32")
    p = subprocess.run([str(launch), "/bin/true"], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert p.returncode == 127
    assert p.stderr.splitlines()[0] == ("unsock: exec /bin/true: a glibc program, and unsock has no glibc build of "
                                        "its shim on this musl system: run it with --engine seccomp"), p.stderr


def test_supervisor_serves_a_static_program(build: Path, sockdir: Path) -> None:
    supervisor = build / "src" / "seccomp" / "unsock-supervisor"
    probe = compile_prog(PROGS / "fdleak.c", [PROGS / "probe.h"], static_musl=True)
    env = plain_env(UNSOCK_DIR=str(sockdir), UNSOCK_ADDR=f"{COVERED}/32", PROBE_GRACE_MS="2000")
    p = subprocess.run([str(supervisor), "--", str(probe), COVERED], env=env, capture_output=True, text=True,
                       timeout=60, check=False)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr
