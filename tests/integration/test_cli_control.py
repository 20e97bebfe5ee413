"""The installed `unsock control` writes a control file and reads it back (every case of the
command: tests/unit/test_cli_control.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.helpers.output import unsock_cli


def test_write_and_show(tmp_path: Path) -> None:
    path = tmp_path / "8080.sock"
    p = subprocess.run([*unsock_cli(), "control", "vsock", str(path), "--port", "5678", "--cid", "host"],
                       capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"wrote {path}: AF_VSOCK control file")
    p = subprocess.run([*unsock_cli(), "control", "show", "--json", str(path)], capture_output=True, text=True,
                       timeout=60, check=False)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["dest"] == {"family": "AF_VSOCK", "cid": 2, "cid_name": "host", "port": 5678}
