"""Sanitizer builds of the shim (issue 13): src/core/*.c and src/preload/*.c compiled in one go
with AddressSanitizer + UndefinedBehaviorSanitizer, or with ThreadSanitizer, cached by the hash of
the sources and flags under tests/.build/sanitize.

A report must never go unnoticed, even inside a program whose exit status a test does not check:
every finding aborts the program (halt_on_error, abort_on_error, -fno-sanitize-recover) and is
written to a file under a log directory (log_path), which the caller checks is empty afterwards."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Literal

Kind = Literal["asan", "tsan"]

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
DEATH = Path(__file__).resolve().parent / "sanitizer_death.c"
BUILD_DIR = ROOT / "tests" / ".build" / "sanitize"

# As src/*/meson.build builds the shim, asserts left on; no -Werror: gcc warns that it cannot
# instrument atomic_thread_fence under -fsanitize=thread (-Wtsan), which is not a finding.
BASE = ["-std=c11", "-D_DEFAULT_SOURCE", "-D_FILE_OFFSET_BITS=64", "-fPIC", "-shared", "-O1", "-g",
        "-fno-omit-frame-pointer", "-Wall", "-Wextra", "-fvisibility=hidden", "-pthread"]
SANITIZE: dict[Kind, list[str]] = {
    "asan": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"],
    "tsan": ["-fsanitize=thread"],
}
RUNTIME: dict[Kind, str] = {"asan": "libasan.so", "tsan": "libtsan.so"}


def compiler() -> str:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise AssertionError("unsock: no C compiler found: install build-essential or set CC")
    return cc


def runtime(kind: Kind) -> Path:
    """The sanitizer's runtime library, which must come first in LD_PRELOAD."""
    out = subprocess.run([compiler(), f"-print-file-name={RUNTIME[kind]}"], capture_output=True, text=True,
                         check=False).stdout.strip()
    path = Path(out)
    if not path.is_absolute() or not path.exists():
        raise AssertionError(f"unsock: the compiler has no {RUNTIME[kind]}: install the gcc sanitizer runtimes "
                             f"(Debian: libasan8, libubsan1, libtsan2, which build-essential's gcc brings)")
    return path.resolve()


def sources() -> list[Path]:
    return [*sorted(SRC.glob("core/*.c")), *sorted(SRC.glob("preload/*.c")), DEATH]


def build_shim(kind: Kind) -> Path:
    """libunsock.so built with the sanitizer of kind; rebuilt only when a source changes."""
    cc = compiler()
    flags = [*BASE, *SANITIZE[kind], f"-I{SRC / 'core'}", f"-I{SRC / 'preload'}"]
    digest = hashlib.sha256(" ".join([cc, *flags]).encode())
    for part in sorted([*SRC.glob("core/*.[ch]"), *SRC.glob("preload/*.[ch]"), DEATH]):
        digest.update(part.name.encode() + part.read_bytes())
    out = BUILD_DIR / f"libunsock-{kind}-{digest.hexdigest()[:16]}.so"
    if out.exists():
        return out
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    p = subprocess.run([cc, *flags, "-o", str(tmp), *map(str, sources()), "-ldl"], capture_output=True, text=True,
                       check=False)
    if p.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise AssertionError(f"unsock: building the {kind} shim failed:\n{p.stderr}")
    tmp.replace(out)
    return out


def preload(kind: Kind) -> str:
    """LD_PRELOAD for the sanitizer build: its runtime first, then the shim."""
    return f"{runtime(kind)} {build_shim(kind)}"


def options(kind: Kind, logdir: Path) -> dict[str, str]:
    """Environment that makes every finding abort the program and leave a file in logdir: the
    report (ASan, TSan) and died.PID (sanitizer_death.c; UBSan's report is on stderr)."""
    common = f"halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path={logdir / kind}"
    env = {"UNSOCK_SANITIZER_DIR": str(logdir)}
    if kind == "asan":
        # No leak check: the programs under test (python, nginx...) leak on purpose at exit.
        return {**env, "ASAN_OPTIONS": f"detect_leaks=0:{common}", "UBSAN_OPTIONS": common}
    return {**env, "TSAN_OPTIONS": f"{common}:second_deadlock_stack=1"}


def reports(logdir: Path) -> list[str]:
    """Every sanitizer report written under logdir, and the programs a finding ended."""
    found = []
    for p in sorted(logdir.glob("*")):
        text = p.read_text(errors="replace").strip()
        found.append(f"{p.name}: {text}" if text else f"{p.name}: a sanitizer ended process {p.suffix[1:]} "
                     "(UBSan: its report is in that program's stderr)")
    return found
