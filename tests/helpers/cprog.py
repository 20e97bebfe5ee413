"""Compiling the small C programs that tests drive under the shim (and, linked
statically against musl, under the seccomp engine)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from tests.helpers.programs import require_program

CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-O1", "-g", "-pthread"]
BUILD_DIR = Path(__file__).resolve().parent.parent / ".build" / "progs"


def compile_prog(source: Path, headers: list[Path] | None = None, *, static_musl: bool = False,
                 musl: bool = False, extra: tuple[str, ...] = ()) -> Path:
    """Build source with `cc -Wall -Wextra -Werror`, cached by the hash of its
    text, its headers and the flags; returns the executable.

    static_musl=True builds with `musl-gcc -static` instead (the same flags): a
    program without an interpreter, which only the seccomp engine reaches.
    musl=True builds a dynamically linked musl program (`musl-gcc`), which the
    musl build of the shim serves. A missing musl-gcc skips the test locally
    and fails it in CI. extra: more compiler flags (e.g. -fsanitize=thread)."""
    if static_musl or musl:
        compiler = [require_program("musl-gcc"), *(["-static"] if static_musl else [])]
    else:
        compiler = [os.environ.get("CC") or shutil.which("cc") or "gcc"]
    digest = hashlib.sha256()
    for part in [source, *(headers or [])]:
        digest.update(part.read_bytes())
    digest.update(" ".join([*compiler, *CFLAGS, *extra]).encode())
    kind = "-musl" if static_musl else "-musl-dynamic" if musl else ""
    out = BUILD_DIR / f"{source.stem}{kind}-{digest.hexdigest()[:16]}"
    if out.exists():
        return out
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    p = subprocess.run([*compiler, *CFLAGS, *extra, "-I", str(source.parent), "-o", str(tmp), str(source)],
                       capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise AssertionError(f"compiling {source.name} failed:\n{p.stderr}")
    tmp.replace(out)
    return out
