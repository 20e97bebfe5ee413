"""libunsock.so run as a program writes the same control files as the
original's tool and as unsock.controlfile: byte for byte the shared vectors
(tests/vectors/controlfiles) that name an original_env."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.programs import require_program
from unsock import library_path

VECTORS = Path(__file__).with_name("controlfiles")
CASES = [c for c in json.loads((VECTORS / "index.json").read_text())["cases"] if c.get("original_env")]


def run_tool(env: dict[str, str], libc: str | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("UNSOCK_") and k != "LD_PRELOAD"}
    return subprocess.run([str(library_path(libc))], env={**base, **env}, capture_output=True, text=True,
                          timeout=30)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_tool_writes_the_vector(case: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "9000.sock"
    p = run_tool({**case["original_env"], "UNSOCK_FILE": str(out)})
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == (VECTORS / case["file"]).read_bytes()
    assert (out.stat().st_mode & 0o777) == 0o644


@pytest.mark.program("musl-gcc")
@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_the_musl_build_writes_the_vector(case: dict[str, Any], tmp_path: Path) -> None:
    """The control-file tool of libunsock-musl.so, run as the original's is on musl."""
    require_program("musl-gcc")
    out = tmp_path / "9000.sock"
    p = run_tool({**case["original_env"], "UNSOCK_FILE": str(out)}, libc="musl")
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == (VECTORS / case["file"]).read_bytes()
    assert (out.stat().st_mode & 0o777) == 0o644


def test_an_existing_file_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "9000.sock"
    out.write_bytes(b"mine")
    p = run_tool({"UNSOCK_FILE": str(out), "UNSOCK_VSOCK_PORT": "1"})
    assert p.returncode == 1
    assert p.stderr.startswith("unsock: cannot create") and "never replaced" in p.stderr
    assert out.read_bytes() == b"mine"


def test_without_variables_it_prints_help() -> None:
    p = run_tool({})
    assert p.returncode == 0
    assert "UNSOCK_VSOCK_PORT" in p.stderr and "UNSOCK_FC_SOCK" in p.stderr and "UNSOCK_TIPC_TYPE" in p.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"UNSOCK_VSOCK_PORT": "port"}, "unsock: UNSOCK_VSOCK_PORT='port' is not a number"),
        ({"UNSOCK_VSOCK_PORT": "1", "UNSOCK_VSOCK_CID": "-2"}, "unsock: UNSOCK_VSOCK_CID='-2' is not a number"),
        ({"UNSOCK_VSOCK_PORT": "1", "UNSOCK_FC_SOCK": "relative/missing"}, "unsock: UNSOCK_FC_SOCK 'relative/missing'"),
        ({"UNSOCK_TIPC_TYPE": "128"}, "unsock: UNSOCK_TIPC_LOWER is not set"),
        ({"UNSOCK_TIPC_TYPE": "128", "UNSOCK_TIPC_LOWER": "1", "UNSOCK_TIPC_SCOPE": "9"},
         "unsock: UNSOCK_TIPC_SCOPE='9' is not a number from 1 to 3"),
    ],
)
def test_bad_values_get_one_clear_line(env: dict[str, str], message: str, tmp_path: Path) -> None:
    out = tmp_path / "9000.sock"
    p = run_tool({**env, "UNSOCK_FILE": str(out)})
    assert p.returncode != 0
    assert p.stderr.startswith(message), p.stderr
    assert p.stderr.count("\n") == 1
    assert not out.exists()
