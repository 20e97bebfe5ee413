"""Loading the shared test vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).parent


def env_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((VECTORS / "env.json").read_text())["cases"]
    return cases


def case_id(case: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in case["env"].items())[:60] or "empty"
