"""Building the libFuzzer targets, seeding their corpora, running them for a set time and
replaying what they found through the differential check."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fuzz.differential import KINDS, disagreements
from fuzz.seeds import ROOT, SEEDS

HERE = Path(__file__).resolve().parent
CORE = ROOT / "src" / "core"
BUILD = ROOT / "build" / "fuzz"
TARGETS = tuple(SEEDS)
REGRESSIONS = HERE / "regressions"

COMMON = ["-std=c11", "-D_DEFAULT_SOURCE", "-Wall", "-Wextra", "-Werror", "-g", "-O1", f"-I{CORE}"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]


class FuzzError(Exception):
    """A finding or a failure to build or run: one line for people."""


def clang() -> str | None:
    """The clang with libFuzzer's runtime, if installed."""
    for name in ("clang", "clang-14", "clang-15", "clang-16"):
        path = shutil.which(name)
        if path is None:
            continue
        runtime = subprocess.run([path, "--print-file-name=libclang_rt.fuzzer-x86_64.a"], capture_output=True,
                                 text=True, check=False).stdout.strip()
        if runtime and Path(runtime).is_absolute() and Path(runtime).exists():
            return path
    return None


def _digest(paths: list[Path], flags: list[str]) -> str:
    h = hashlib.sha256(" ".join(flags).encode())
    for p in paths:
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:16]


def _compile(cmd: list[str], what: str) -> None:
    p = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
    if p.returncode != 0:
        raise FuzzError(f"fuzz: building {what} failed: {p.stderr.strip()}")


def build(cc: str, build_dir: Path = BUILD) -> dict[str, Path]:
    """Every target and the replay driver, built once per version of the sources."""
    sources = sorted(CORE.glob("*.c"))
    headers = sorted(CORE.glob("*.h")) + sorted(HERE.glob("*.h"))
    flags = [cc, *COMMON, *SANITIZE]
    out = build_dir / "bin" / _digest([*sources, *headers, *sorted(HERE.glob("*.c"))], flags)
    out.mkdir(parents=True, exist_ok=True)
    objects = []
    for src in sources:  # instrumented for libFuzzer's coverage, linked into every target
        obj = out / f"{src.stem}.o"
        if not obj.exists():
            _compile([*flags, "-fsanitize=fuzzer-no-link", "-c", "-o", str(obj), str(src)], src.name)
        objects.append(str(obj))
    binaries = {}
    for target in TARGETS:
        exe = out / target
        if not exe.exists():
            _compile([*flags, "-fsanitize=fuzzer", "-o", str(exe), str(HERE / f"{target}.c"), *objects], target)
        binaries[target] = exe
    binaries["replay"] = build_replay(cc, build_dir)
    return binaries


def build_replay(cc: str, build_dir: Path = BUILD) -> Path:
    """The differential check's C half (any C compiler), built once per version of the sources."""
    sources = sorted(CORE.glob("*.c"))
    inputs = [*sources, *sorted(CORE.glob("*.h")), HERE / "input.h", HERE / "replay.c"]
    replay = build_dir / "bin" / f"replay-{_digest(inputs, [cc, *COMMON])}"
    if not replay.exists():
        replay.parent.mkdir(parents=True, exist_ok=True)
        tmp = replay.with_name(f"{replay.name}.{os.getpid()}")
        _compile([cc, *COMMON, "-o", str(tmp), str(HERE / "replay.c"), *map(str, sources)], "replay")
        tmp.replace(replay)
    return replay


def seed(target: str, corpus: Path) -> None:
    """The target's seeds and regression inputs into its corpus (named by content)."""
    corpus.mkdir(parents=True, exist_ok=True)
    inputs = list(SEEDS[target]())
    inputs += [p.read_bytes() for p in sorted((REGRESSIONS / target).glob("*"))]
    for data in inputs:
        path = corpus / hashlib.sha1(data).hexdigest()
        if not path.exists():
            path.write_bytes(data)


@dataclass
class Result:
    target: str
    executions: int
    corpus_size: int
    seconds: int


def replay_regressions(binary: Path, target: str) -> None:
    """Every input that once found something runs clean."""
    files = sorted((REGRESSIONS / target).glob("*"))
    if not files:
        return
    p = subprocess.run([str(binary), *map(str, files)], capture_output=True, text=True, check=False, timeout=300)
    if p.returncode != 0:
        failed = re.findall(r"Running: (\S+)", p.stderr)
        raise FuzzError(f"fuzz: {target}: regression input {failed[-1] if failed else files[0]} fails again "
                        f"(reproduce: {binary} FILE)")


def run(binary: Path, target: str, seconds: int, build_dir: Path = BUILD) -> Result:
    """Fuzz one target for `seconds`; FuzzError naming the crash file on any finding."""
    corpus = build_dir / "corpus" / target
    artifacts = build_dir / "findings" / target
    seed(target, corpus)
    artifacts.mkdir(parents=True, exist_ok=True)
    log = build_dir / f"{target}.log"
    cmd = [str(binary), f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048", "-max_len=4096",
           "-print_final_stats=1", f"-artifact_prefix={artifacts}/", str(corpus)]
    with log.open("w") as out:
        p = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False, timeout=seconds + 300,
                           env={**os.environ, "ASAN_OPTIONS": "detect_leaks=1", "UBSAN_OPTIONS": "print_stacktrace=1"})
    text = log.read_text(errors="replace")
    if p.returncode != 0:
        crash = re.findall(r"Test unit written to (\S+)", text)
        where = crash[-1] if crash else f"no input saved, see {log}"
        raise FuzzError(f"fuzz: {target} found a crash: {where} (reproduce: {binary} {where}; log {log})")
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", text)
    return Result(target, int(runs.group(1)) if runs else 0, len(list(corpus.iterdir())), seconds)


def differential(replay: Path, target: str, build_dir: Path = BUILD) -> int:
    """The target's corpus and regressions read alike by C and Python; how many inputs."""
    if target not in KINDS:
        return 0
    files = sorted((build_dir / "corpus" / target).glob("*")) + sorted((REGRESSIONS / target).glob("*"))
    found = disagreements(replay, target, files)
    if found:
        raise FuzzError(f"fuzz: {target}: C and Python read {len(found)} inputs differently, first {found[0]}")
    return len(files)
