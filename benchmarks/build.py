"""Compiling the benchmark's C programs (cc -O2) into the build directory, each also linked
statically (NAME-static) for the seccomp engine, which is for programs LD_PRELOAD cannot reach;
and the floor shim (floorshim.so), the yardstick of benchmarks.costs --cpu."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

SOURCES = Path(__file__).resolve().parent / "c"
PROGRAMS = ("bulk", "connrate", "pingpong", "httpreq", "callcost")
FLOOR_SHIM = "floorshim.so"


class BuildError(Exception):
    pass


def build(bins: Path) -> Path:
    """Compile what is missing or older than its sources; return bins."""
    cc = shlex.split(os.environ.get("CC", "cc"))
    if shutil.which(cc[0]) is None:
        raise BuildError(f"C compiler '{cc[0]}' not found: install build-essential or set CC")
    bins.mkdir(parents=True, exist_ok=True)
    header = SOURCES / "bench.h"
    targets = [(f"{n}.c", n + "".join(link), link) for n in PROGRAMS for link in ([], ["-static"])]
    targets.append(("floorshim.c", FLOOR_SHIM, ["-shared", "-fPIC"]))
    for source, name, flags in targets:
        src = SOURCES / source
        out = bins / name
        newest = max(src.stat().st_mtime, header.stat().st_mtime)
        if out.exists() and out.stat().st_mtime >= newest:
            continue
        tmp = bins / f".{out.name}.{os.getpid()}"
        cmd = [*cc, "-O2", "-Wall", "-Wextra", *flags, "-o", str(tmp), str(src)]
        p = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if p.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise BuildError(f"compiling {src.name} failed:\n{p.stderr.strip()}")
        tmp.replace(out)  # atomic: concurrent runs never see half a binary
    return bins
