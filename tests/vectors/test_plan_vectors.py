"""tests/vectors/plans.json: the decision core (src/core/plan.c, through rules_driver.c) and the
Python reference (unsock.rules.plan) make the same plan for every socket call."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cprog import compile_prog
from tests.vectors.cases import VECTORS
from tests.vectors.make_plans import CTL, RULES, place_control_file, run_driver
from tests.vectors.test_rules_vectors import CORE_SOURCES
from unsock.rules import parse_rule
from unsock.rules.plan import Query, plan

DOC: dict[str, Any] = json.loads((VECTORS / "plans.json").read_text())
CASES: list[dict[str, Any]] = DOC["cases"]
IDS = [f"{c['rules']}-{c['call']}-{c['type']}-{c['address']}{'-converted' if c['converted'] else ''}"
       f"{'-' + c['control_file'] if c['control_file'] else ''}" for c in CASES]


@pytest.fixture(scope="module")
def driver() -> Path:
    return compile_prog(Path(__file__).with_name("rules_driver.c"), CORE_SOURCES)


def test_the_vectors_are_the_generator_s() -> None:
    assert DOC["rule_lists"] == RULES
    assert len(CASES) >= 60
    kinds = {c["plan"].split(" -> ", 1)[1].split(" ", 1)[0] for c in CASES}
    assert {"path", "abstract", "left", "reject", "refused:", "blackhole", "systemd", "vsock", "tipc",
            "firecracker", "control", "unreachable:", "the"} <= kinds, kinds
    assert {c["call"] for c in CASES} == {"bind", "connect", "send", "fastopen"}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_core(driver: Path, tmp_path: Path, case: dict[str, Any]) -> None:
    place_control_file(tmp_path, case)
    text, err = run_driver(driver, RULES[case["rules"]], case, str(tmp_path))
    assert text == case["plan"]
    assert (errno.errorcode[err] if err else None) == case["errno"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_python_reference(tmp_path: Path, case: dict[str, Any]) -> None:
    place_control_file(tmp_path, case)
    rules = [parse_rule(text.replace(CTL, str(tmp_path)), cwd="/") for text in RULES[case["rules"]]]
    got = plan(rules, Query(case["call"], case["domain"], case["type"], case["address"], case["converted"],
                            case["peer"], case["connecting"]))
    text = got.describe().replace(str(tmp_path), CTL)
    if text.endswith(": not usable"):  # the reasons are worded by each reader
        assert case["plan"].startswith(text + ": ")
    else:
        assert text == case["plan"]
    assert (errno.errorcode[got.errno] if got.errno else None) == case["errno"]
