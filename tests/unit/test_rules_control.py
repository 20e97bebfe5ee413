"""Control files as rule targets: every good control-file vector and the rule action it
stands for (docs/rules.md), which must be a valid rule target itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.vectors.cases import VECTORS
from unsock.controlfile import ControlFile
from unsock.rules import parse_rule
from unsock.rules.control import control_action

CASES: list[dict[str, Any]] = [
    c for c in json.loads((VECTORS / "controlfiles" / "index.json").read_text())["cases"] if "fields" in c
]

EXPECTED: dict[str, tuple[str | None, str]] = {
    "vsock-cid-any": ("vsock=4294967295:5678", ""),
    "vsock-cid-any-explicit": ("vsock=4294967295:1024", ""),
    "vsock-cid-host": ("vsock=2:1234", ""),
    "vsock-cid-local": ("vsock=1:80", ""),
    "vsock-cid-explicit": ("vsock=42:8080", ""),
    "tipc-service-address": ("tipc=128:99:99@cluster", ""),
    "tipc-service-range": ("tipc=1000:10:20@node", ""),
    "tipc-socket-id": (None, "a TIPC socket id has no rule form"),
    "firecracker": ("firecracker=/run/firecracker/v.sock:52", ""),
    "vsock-1-param": ("vsock=2:5000", "its 1 socket option (no rule sets options)"),
    "tipc-2-params": ("tipc=128:7:7@cluster", "its 2 socket options (no rule sets options)"),
    "vsock-3-params": ("vsock=4294967295:6000", "its 3 socket options (no rule sets options)"),
    "firecracker-4-params": ("firecracker=/tmp/fc.sock:1024", "its 4 socket options (no rule sets options)"),
    "tipc-group-join": ("tipc=2000:5:5@cluster", "its 1 socket option (no rule sets options)"),
}


def test_every_good_vector_is_listed() -> None:
    assert {c["name"] for c in CASES} == set(EXPECTED)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_control_file_as_rule_target(case: dict[str, Any]) -> None:
    record = ControlFile.read(VECTORS / "controlfiles" / case["file"])
    action, left_out = control_action(record)
    target, expected_left_out = EXPECTED[case["name"]]
    assert (action.canonical() if action else None, left_out) == (target, expected_left_out)
    if target is not None:
        rule = parse_rule(f"out,{target}", cwd="/")
        assert rule.action == action
        assert rule.canonical() == f"out,{target}"
