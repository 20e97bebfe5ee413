"""Running the thread stress program (tests/shim/progs/stress.c) under the shim: a few seconds in
tests/stress, minutes from `python -m benchmarks.stress`.

kind "tsan": the program and the shim built with ThreadSanitizer, its runtime first in
LD_PRELOAD; "asan": the shim built with ASan+UBSan; "plain": the installed libunsock.so. Any
sanitizer report, a deadlock (no end within the time allowed), a token answered on the wrong
socket, a descriptor left open or a socket file left behind fails the run."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

from tests.helpers.cprog import compile_prog
from tests.helpers.sanitizers import options, preload, reports
from tests.helpers.shim import PROGS
from unsock import library_path

StressKind = Literal["tsan", "asan", "plain"]

COVERED = "127.0.0.2"
PROGRAM_FLAGS: dict[StressKind, tuple[str, ...]] = {"tsan": ("-fsanitize=thread",), "asan": (), "plain": ()}
# Beyond the run's own length: building, starting, and the last round of every thread.
SLACK = 60.0


def stress_env(kind: StressKind, sockdir: Path, logdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("UNSOCK_")}
    env.update(UNSOCK_DIR=str(sockdir), UNSOCK_ADDR=f"{COVERED}/32")
    if kind == "plain":
        env["LD_PRELOAD"] = str(library_path())
    else:
        env["LD_PRELOAD"] = preload(kind)
        env.update(options(kind, logdir))
    return env


def no_aslr(kind: StressKind) -> list[str]:
    """gcc 12's TSan dies ("unexpected memory mapping") where the kernel randomizes more address
    bits than it knows (vm.mmap_rnd_bits > 28 on newer kernels): its program runs without."""
    setarch = shutil.which("setarch")
    return [setarch, platform.machine(), "-R"] if kind == "tsan" and setarch else []


def run_stress(kind: StressKind, seconds: float, threads: int = 8) -> dict[str, float]:
    """Run the stress program for seconds with threads workers; what it counted (rounds,
    connections, forks, seconds, files_owed), or AssertionError saying what went wrong."""
    prog = compile_prog(PROGS / "stress.c", [PROGS / "probe.h"], extra=PROGRAM_FLAGS[kind])
    sockdir = Path(tempfile.mkdtemp(prefix="us-", dir="/tmp"))
    logdir = Path(tempfile.mkdtemp(prefix="unsock-stress-"))
    try:
        env = stress_env(kind, sockdir, logdir)
        try:
            p = subprocess.run([*no_aslr(kind), str(prog), COVERED, str(sockdir), str(seconds), str(threads)], env=env,
                               capture_output=True, text=True, timeout=seconds + SLACK, check=False)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"the {kind} stress run did not end {SLACK:.0f} s after its {seconds} s: "
                                 "a deadlock in the shim?") from e
        found = reports(logdir)
        if found:
            raise AssertionError("sanitizer reports:\n" + "\n".join(found) + f"\nstderr: {p.stderr[-4000:]}")
        if p.returncode != 0:
            raise AssertionError(f"the {kind} stress run exited {p.returncode}: {p.stderr[-4000:]}")
        left = sorted(os.listdir(sockdir))
        if left:
            raise AssertionError(f"{len(left)} socket files left in {sockdir} after the program ended: {left[:5]}")
        result = json.loads(p.stdout.strip().splitlines()[-1])
        assert isinstance(result, dict)
        return {k: float(v) for k, v in result.items()}
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)
        shutil.rmtree(logdir, ignore_errors=True)
