"""The wheel and the sdist `python -m build` makes (README "Building a wheel"): the wheel is a
platform wheel holding the compiled shim and supervisor, and, installed into a fresh venv, works
where no compiler is on PATH; the sdist holds what the build needs. One build for the module."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.helpers.programs import require_program
from unsock import __version__

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os, socket, stat, sys
d, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket()
srv.bind(("127.0.0.1", port))
srv.listen()
print("files", *sorted(n for n in os.listdir(d) if stat.S_ISSOCK(os.stat(os.path.join(d, n)).st_mode)))
cli = socket.create_connection(("127.0.0.1", port))
conn, _ = srv.accept()
cli.sendall(b"ping")
print("got", conn.recv(4).decode())
"""


def build(kind: str, out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "build", f"--{kind}", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=900)
    (made,) = out.glob("*.whl" if kind == "wheel" else "*.tar.gz")
    return made


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build("wheel", tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed from the file alone (no index, no dependency)."""
    path = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True, timeout=300)
    subprocess.run([str(path / "bin" / "python"), "-m", "pip", "install", "--no-index", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return path


@pytest.fixture(scope="module")
def bare_path(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH of only the venv's unsock and a few tools: no compiler, no linker."""
    bindir = tmp_path_factory.mktemp("bin")
    for name in ("sh", "bash"):
        (bindir / name).symlink_to(require_program(name))
    (bindir / "python3").symlink_to(Path(sys.executable).resolve())  # the interpreter itself, not a wrapper
    (bindir / "unsock").symlink_to(venv / "bin" / "unsock")
    path = str(bindir)
    for tool in ("cc", "gcc", "clang", "ld", "musl-gcc", "meson", "ninja"):
        assert shutil.which(tool, path=path) is None
    return path


def run(args: list[str], path: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UNSOCK_", "PYTHON")) and k != "LD_PRELOAD"}
    env["PATH"] = path
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def test_wheel_is_a_platform_wheel_with_the_compiled_parts(wheel: Path) -> None:
    name, ver, *_, platform = wheel.name.removesuffix(".whl").split("-")
    assert (name, ver) == ("unsock", __version__)
    assert re.fullmatch(r"(many)?linux_?\w*_x86_64|linux_\w+", platform), platform
    with zipfile.ZipFile(wheel) as z:
        infos = {i.filename: i for i in z.infolist()}
        for part in ("libunsock.so", "unsock-supervisor", "cli.py", "VERSION", "share/man/man1/unsock.1",
                     "share/bash-completion/completions/unsock.bash"):
            assert f"unsock/{part}" in infos, part
        assert z.read("unsock/libunsock.so")[:4] == b"\x7fELF"
        assert (infos["unsock/unsock-supervisor"].external_attr >> 16) & stat.S_IXUSR
        metadata = z.read(f"unsock-{__version__}.dist-info/METADATA").decode()
        assert f"\nVersion: {__version__}\n" in metadata
        requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
        assert all("extra ==" in line for line in requires), requires  # nothing to install but the wheel


def test_installed_wheel_works_without_a_compiler(venv: Path, bare_path: str, tmp_path: Path) -> None:
    p = run(["sh", "-c", "command -v cc || command -v gcc || command -v ld"], bare_path, tmp_path)
    assert p.returncode != 0 and p.stdout == ""
    package = next((venv / "lib").glob("python3*/site-packages/unsock"))

    p = run(["unsock", "--version"], bare_path, tmp_path)
    assert (p.returncode, p.stdout) == (0, f"unsock {__version__}\n"), p.stderr
    p = run(["unsock", "lib"], bare_path, tmp_path)
    assert (p.returncode, p.stdout) == (0, f"{package / 'libunsock.so'}\n"), p.stderr

    sockets, log, port = tmp_path / "s", tmp_path / "decisions.log", 47123
    p = run(["unsock", "run", "-v", "--dir", str(sockets), "--addr", "127.0.0.1/32", "--log", str(log), "--",
             "python3", "-c", PROBE, str(sockets), str(port)], bare_path, tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"files {port}.sock\ngot ping\n"
    assert f"unsock: shim {package / 'libunsock.so'}\n" in p.stderr  # the wheel's, not the checkout's
    decisions = log.read_text()
    assert re.search(rf"bind fd \d+ 127\.0\.0\.1:{port} stream: .*-> path {sockets}/{port}\.sock", decisions)
    assert re.search(rf"connect fd \d+ 127\.0\.0\.1:{port} stream: .*-> path {sockets}/{port}\.sock", decisions)

    p = run(["unsock", "man", "--path"], bare_path, tmp_path)
    assert p.stdout == f"{package / 'share/man/man1/unsock.1'}\n"
    assert Path(p.stdout.strip()).read_text().startswith('.TH UNSOCK "1"')
    p = run(["bash", "--norc", "-c", "source <(unsock completion bash) && complete -p unsock"], bare_path, tmp_path)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    assert "_shtab_unsock" in p.stdout


def test_sdist_has_the_sources(tmp_path: Path) -> None:
    sdist = build("sdist", tmp_path)
    assert sdist.name == f"unsock-{__version__}.tar.gz"
    with tarfile.open(sdist) as t:
        names = {n.removeprefix(f"unsock-{__version__}/") for n in t.getnames()}
    for part in ("pyproject.toml", "meson.build", "README.md", "src/unsock/VERSION", "src/unsock/cli.py",
                 "build-aux/gen_cli_docs.py", "build-aux/musl_shim.py", "src/core/meson.build",
                 "src/preload/meson.build", "src/seccomp/meson.build", "PKG-INFO"):
        assert part in names, part
    for d in ("src/core/", "src/preload/", "src/seccomp/"):
        assert any(n.startswith(d) and n.endswith(".c") for n in names), d
