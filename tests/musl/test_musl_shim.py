"""`unsock run` and musl programs: it reads a program's interpreter (ld-musl) and preloads the
musl build of the shim (libunsock-musl.so beside libunsock.so), and the shim swaps builds at
the exec of a program of the other C library, so one tree may mix them. (The shim's C probes
run as musl programs under the musl build in tests/shim, through its `cprog` fixture.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers.cprog import compile_prog
from tests.helpers.output import unsock_cli
from tests.helpers.programs import plain_env, require_program
from tests.helpers.shim import PROGS
from unsock import library_path

pytestmark = pytest.mark.program("musl-gcc")

COVERED = "127.0.0.2"
HERE = Path(__file__).resolve().parent


def musl_prog(source: Path) -> Path:
    return compile_prog(source, [PROGS / "probe.h"], musl=True)


def run(sockdir: Path, cmd: list[str], *options: str) -> subprocess.CompletedProcess[str]:
    args = [*unsock_cli(), "run", "-v", "--dir", str(sockdir), "--addr", f"{COVERED}/32", *options, "--", *cmd]
    return subprocess.run(args, env=plain_env(), capture_output=True, text=True, timeout=120, check=False)


def test_unsock_lib_names_either_build() -> None:
    def lib(*args: str) -> Path:
        p = subprocess.run([*unsock_cli(), "lib", *args], capture_output=True, text=True, check=True)
        return Path(p.stdout.strip())

    musl = lib("--libc", "musl")
    assert musl.name == "libunsock-musl.so" and musl.is_file()
    assert b"/lib/ld-musl-" in musl.read_bytes()  # its interpreter: the control-file tool runs on musl too
    assert lib("--libc", "glibc") == lib() and lib().name == "libunsock.so"


def test_unsock_rules_names_the_build() -> None:
    p = subprocess.run([*unsock_cli(), "rules", "--addr", f"{COVERED}/32", str(musl_prog(PROGS / "fdleak.c"))],
                       capture_output=True, text=True, check=True)
    assert "engine preload: " in p.stdout and "ld-musl" in p.stdout, p.stdout
    assert p.stdout.splitlines()[-1].endswith("/libunsock-musl.so")


def test_unsock_run_preloads_the_musl_build(sockdir: Path) -> None:
    p = run(sockdir, [str(musl_prog(PROGS / "fdleak.c")), COVERED])
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr
    assert "unsock: engine preload: " in p.stderr and "ld-musl" in p.stderr
    assert "unsock: shim " in p.stderr and "libunsock-musl.so" in p.stderr, p.stderr
    # the process's own decision log names the build it loaded
    assert any(ln.startswith("unsock: engine: preload, /") and ln.endswith("/libunsock-musl.so (musl)")
               for ln in p.stderr.splitlines()), p.stderr


@pytest.mark.parametrize("top", ["glibc-shell", "musl-launcher"])
def test_a_tree_mixing_both_libraries(sockdir: Path, top: str) -> None:
    """A glibc shell starts a musl HTTP server (which runs glibc's env for each request) and glibc's
    curl as its client; all of them converted. Under the musl launcher the shell itself is a glibc
    program exec'd by a musl one."""
    port = 7821
    server = musl_prog(PROGS / "sdserve.c")
    script = (f"{server} none {COVERED} {port} 1 & "
              f"until [ -S {sockdir}/{port}.sock ]; do sleep 0.05; done; "
              f"{require_program('curl')} -sS --max-time 20 http://{COVERED}:{port}/ && wait $!")
    cmd = ["sh", "-c", script]
    if top == "musl-launcher":
        cmd = [str(musl_prog(HERE / "progs" / "launch.c")), *cmd]
    p = run(sockdir, cmd)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == f"listening fd 3 inet {COVERED} {port}" and "hello from sdserve" in lines, lines
    assert "done" in lines and f"listener inet {COVERED} {port}" in lines, lines
    assert any(ln.startswith("peer inet 127.") for ln in lines), lines  # curl's address, as on TCP
    builds = {ln.rsplit(" ", 1)[1] for ln in p.stderr.splitlines() if ln.startswith("unsock: engine: preload, ")}
    assert builds == {"(glibc)", "(musl)"}, p.stderr
    log = p.stderr.splitlines()
    assert any(ln.startswith("unsock: bind fd 3 ") and ln.endswith(f"-> path {sockdir}/{port}.sock") for ln in log), log
    assert any(ln.startswith("unsock: connect fd ") and f"-> path {sockdir}/{port}.sock" in ln for ln in log), log


@pytest.mark.parametrize("how", ["execveat", "execveat-fd", "fexecve", "posix_spawn", "posix_spawnp"])
def test_a_glibc_launcher_runs_a_musl_program(sockdir: Path, how: str) -> None:
    """execveat, fexecve and posix_spawn(p) swap builds for a program of the other C library as
    execve does: the musl server a glibc launcher runs is converted."""
    port = 7822
    launcher = compile_prog(PROGS / "sdlaunch.c", [PROGS / "probe.h"])
    server = musl_prog(PROGS / "sdserve.c")
    script = (f"{launcher} {how} {server} none {COVERED} {port} 1 & "
              f"until [ -S {sockdir}/{port}.sock ]; do sleep 0.05; done; "
              f"{require_program('curl')} -sS --max-time 20 http://{COVERED}:{port}/ && wait $!")
    p = run(sockdir, ["sh", "-c", script])
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"listener inet {COVERED} {port}" in p.stdout.splitlines(), p.stdout
    assert f"another C library, with {library_path().parent}/libunsock-musl.so" in p.stderr, p.stderr


def test_a_musl_program_without_a_musl_build_is_refused(tmp_path: Path, sockdir: Path) -> None:
    """A glibc build with no musl build beside it does not let a musl program run unconverted:
    its exec fails and one line says what to do."""
    shim = tmp_path / "libunsock.so"
    shim.write_bytes(library_path().read_bytes())
    probe = musl_prog(PROGS / "fdleak.c")
    env = plain_env(LD_PRELOAD=str(shim), UNSOCK_DIR=str(sockdir), UNSOCK_ADDR=f"{COVERED}/32")
    p = subprocess.run(["sh", "-c", f"exec {probe} {COVERED}"], env=env, capture_output=True, text=True, timeout=30,
                       check=False)
    assert p.returncode != 0 and p.stdout == ""
    assert p.stderr.splitlines()[0] == (
        f"unsock: exec {probe}: a musl program, and there is no musl build of the shim ({tmp_path}/libunsock-musl.so):"
        " install musl-tools (apt-get install musl-tools) and reinstall unsock, or run it with --engine seccomp"), \
        p.stderr
