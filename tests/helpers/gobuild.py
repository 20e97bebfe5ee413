"""Building the tests' statically linked Go program with Debian's Go (CGO_ENABLED=0), once."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from tests.helpers.programs import require_program

SOURCE = Path(__file__).resolve().parent.parent / "integration" / "go" / "probe.go"
BUILD_DIR = Path(__file__).resolve().parent.parent / ".build" / "go"


def go_probe() -> Path:
    """tests/integration/go/probe.go built static; cached by the hash of its text."""
    go = require_program("go")
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    out = BUILD_DIR / f"probe-{digest}"
    if out.exists():
        return out
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOCACHE": str(BUILD_DIR / "cache"), "GOPATH": str(BUILD_DIR / "path"),
           "GOFLAGS": "-mod=mod", "GO111MODULE": "off"}
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    p = subprocess.run([go, "build", "-o", str(tmp), str(SOURCE)], env=env, capture_output=True, text=True,
                       timeout=600, check=False)
    if p.returncode != 0:
        raise AssertionError(f"building {SOURCE.name} failed:\n{p.stderr}")
    tmp.replace(out)
    return out
