"""Python reads and writes the shared control-file vectors (tests/vectors/controlfiles/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.vectors.make_controlfiles import HERE, build_all, cases
from unsock.controlfile import RECORD_SIZE, ControlFile, ControlFileError

CASES = cases()
GOOD = [c for c in CASES if "fields" in c]
BAD = [c for c in CASES if "fields" not in c]


def test_index_covers_what_the_issue_asks() -> None:
    names = {c["name"] for c in CASES}
    for name in ("vsock-cid-any", "vsock-cid-host", "vsock-cid-local", "vsock-cid-explicit", "tipc-service-address",
                 "tipc-service-range", "tipc-socket-id", "firecracker", "empty", "truncated", "wrong-magic",
                 "garbage", "oversized"):  # fmt: skip
        assert name in names
    assert {len(c["fields"]["parameters"]) for c in GOOD} >= {0, 1, 2, 3, 4}


def test_committed_files_match_the_generator() -> None:
    built = build_all()
    for case in CASES:
        assert (HERE / case["file"]).read_bytes() == built[case["name"]], f"regenerate: {case['name']}"


@pytest.mark.parametrize("case", GOOD, ids=[c["name"] for c in GOOD])
def test_good_vector_reads_to_fields_and_writes_back(case: dict[str, Any], tmp_path: Path) -> None:
    path = HERE / case["file"]
    data = path.read_bytes()
    assert len(data) == RECORD_SIZE
    record = ControlFile.read(path)
    assert record.to_dict() == case["fields"]
    assert record.pack() == data
    out = tmp_path / "out.sock"
    record.write(out)
    assert out.read_bytes() == data


@pytest.mark.parametrize("case", GOOD, ids=[c["name"] for c in GOOD])
def test_cli_writes_the_same_bytes(case: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out.sock"
    cli = list(case["cli"])
    cli.insert(1, str(out))
    p = subprocess.run([sys.executable, "-m", "unsock", "control", *cli], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == (HERE / case["file"]).read_bytes()
    shown = subprocess.run([sys.executable, "-m", "unsock", "control", "show", "--json", str(out)],
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert json.loads(shown.stdout) == {"file": str(out), **case["fields"]}


@pytest.mark.parametrize("case", BAD, ids=[c["name"] for c in BAD])
def test_bad_vector_is_rejected_with_its_reason(case: dict[str, Any]) -> None:
    path = HERE / case["file"]
    with pytest.raises(ControlFileError) as e:
        ControlFile.unpack(path.read_bytes())
    assert str(e.value) == case["error"]
    with pytest.raises(ControlFileError) as e:
        ControlFile.read(path)
    assert str(e.value) == f"{path}: {case['error']}"
    assert "\n" not in str(e.value)
