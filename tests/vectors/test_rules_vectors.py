"""The shared rule and glob vectors, checked against unsock.rules (the shim checks them too)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.vectors.cases import VECTORS
from unsock.rules import expand, match, parse_rule
from unsock.unixglob import globmatch

GLOBS: list[dict[str, Any]] = json.loads((VECTORS / "globs.json").read_text())["cases"]
RULES: list[dict[str, Any]] = json.loads((VECTORS / "rules.json").read_text())["cases"]


@pytest.mark.parametrize("case", GLOBS, ids=[f"{c['pattern']!r}~{c['path']!r}" for c in GLOBS])
def test_glob(case: dict[str, Any]) -> None:
    assert globmatch(case["pattern"], case["path"]) is case["match"]


@pytest.mark.parametrize("case", RULES, ids=[f"{i}" for i in range(len(RULES))])
def test_rules(case: dict[str, Any]) -> None:
    rules = [parse_rule(text, cwd="/") for text in case["rules"]]
    assert [r.canonical() for r in rules] == case["rules"], "vectors hold the compiled form only"
    q = case["query"]
    if q["family"] == "ip":
        found = match(rules, q["direction"], q["type"], (q["address"], q["port"]))
    else:
        found = match(rules, q["direction"], q["type"], (q["family"], q["address"]))
    assert found == case["match"]
    if case["target"] is not None:
        assert found is not None
        ip = q["address"] if q["family"] == "ip" else None
        assert expand(rules[found], q["type"], ip, q["port"]) == case["target"]
    elif found is not None:
        with pytest.raises(ValueError):
            expand(rules[found], q["type"], q["address"], q["port"])


def test_enough_vectors() -> None:
    assert len(GLOBS) >= 60 and len(RULES) >= 40
