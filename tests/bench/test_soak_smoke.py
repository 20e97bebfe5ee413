"""`python -m benchmarks.soak` keeps working: a --quick run (a few thousand connections through
nginx and redis under unsock) ends without errors and reports every phase and process. The real
soak (a million connections or more) is run by hand; see its --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.programs import require_program

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.program("nginx")
def test_quick_soak(tmp_path: Path) -> None:
    for name in ("nginx", "wrk", "redis-server", "redis-benchmark"):
        require_program(name)
    out = tmp_path / "soak.json"
    p = subprocess.run([sys.executable, "-m", "benchmarks.soak", "--quick", "--json", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, f"soak failed:\n{p.stderr}\n{p.stdout}"
    data = json.loads(out.read_text())
    assert data["errors"] == 0
    assert [r["name"].split(",")[0] for r in data["rows"]] == ["nginx", "nginx", "redis", "redis"]
    assert sum(r["connections"] for r in data["rows"]) >= 2000
    who = [f["who"] for f in data["processes"]]
    assert who[:2] == ["nginx (master and workers)", "redis-server"], who
    for f in data["processes"][:2]:
        assert f["ok"] and f["before"]["fds"] > 0 and f["after"]["fds"] <= f["before"]["fds"], f
    assert "connections" in p.stdout and "fds before" in p.stdout
