"""The shared rule and glob vectors, checked against unsock.rules (the shim checks them too)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.cprog import CFLAGS, compile_prog
from tests.helpers.rule_strategies import WORDS, rules
from tests.vectors.cases import VECTORS
from unsock.rules import Rule, compile_rules, expand, match, parse_compiled, parse_rule
from unsock.unixglob import globmatch

GLOBS: list[dict[str, Any]] = json.loads((VECTORS / "globs.json").read_text())["cases"]
RULES: list[dict[str, Any]] = json.loads((VECTORS / "rules.json").read_text())["cases"]
CORE = Path(__file__).resolve().parents[2] / "src" / "core"
CORE_SOURCES = sorted(CORE.glob("*.[ch]"))


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
    assert sum(1 for c in GLOBS if c.get("source") == "ip2unix tests/unit/globpath.cc") == 187, "all of ip2unix's"


@pytest.fixture(scope="module")
def driver() -> Path:
    """The decision core's rule reader, matcher, glob and plans compiled into a small program."""
    return compile_prog(Path(__file__).with_name("rules_driver.c"), CORE_SOURCES)


@pytest.mark.parametrize("case", GLOBS, ids=[f"{c['pattern']!r}~{c['path']!r}" for c in GLOBS])
def test_shim_glob(driver: Path, case: dict[str, Any]) -> None:
    p = subprocess.run([driver, "glob", case["pattern"], case["path"]], timeout=10, check=False)
    assert p.returncode == (0 if case["match"] else 1)


@pytest.mark.parametrize("case", RULES, ids=[f"{i}" for i in range(len(RULES))])
def test_shim_rules(driver: Path, case: dict[str, Any]) -> None:
    q = case["query"]
    argv = [driver, "match", "\n".join(case["rules"]), q["direction"], q["type"], q["family"], q["address"],
            str(q["port"] or 0)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    assert p.returncode == 0, p.stderr
    index, _, target = p.stdout.rstrip("\n").partition(" ")
    assert index == ("-" if case["match"] is None else str(case["match"]))
    assert target == ("-" if case["target"] is None else case["target"])


@pytest.fixture(scope="module")
def sanitized_driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The driver under ASan and UBSan: the shim must survive any UNSOCK_RULES."""
    out = tmp_path_factory.mktemp("asan") / "rules_driver"
    source = Path(__file__).with_name("rules_driver.c")
    subprocess.run(["cc", *CFLAGS, "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-o", str(out),
                    str(source)], check=True, timeout=120)
    return out


def shim_format(driver: Path, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([driver, "format", text], capture_output=True, text=True, timeout=10, check=False)


@given(st.lists(rules(), min_size=1, max_size=4))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_shim_reads_back_what_python_compiles(driver: Path, rule_list: list[Rule]) -> None:
    text = compile_rules(rule_list)
    p = shim_format(driver, text)
    assert p.returncode == 0, p.stderr
    assert p.stdout == text + "\n"


ANY_TEXT = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40),
    st.lists(WORDS, max_size=14).map("".join),
    st.lists(st.lists(WORDS, max_size=8).map("".join), min_size=2, max_size=3).map("\n".join),
)


@given(ANY_TEXT)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_shim_reader_survives_anything_and_accepts_only_the_compiled_form(sanitized_driver: Path, text: str) -> None:
    p = shim_format(sanitized_driver, text)
    assert p.returncode in (0, 2) and "Sanitizer" not in p.stderr and "runtime error" not in p.stderr, p.stderr
    if p.returncode == 0:
        assert compile_rules(parse_compiled(text)) == text == p.stdout.rstrip("\n")


GLOB_PIECES = st.sampled_from(["a", "b", "/", "*", "**", "?", "[", "]", "!", "-", "\\", "é"])


@given(st.lists(GLOB_PIECES, max_size=12).map("".join), st.lists(GLOB_PIECES, max_size=10).map("".join))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_shim_glob_agrees_with_python_on_any_glob(sanitized_driver: Path, pattern: str, name: str) -> None:
    p = subprocess.run([sanitized_driver, "glob", pattern, name], capture_output=True, text=True, timeout=10,
                       check=False)
    assert p.returncode in (0, 1) and not p.stderr, p.stderr
    assert (p.returncode == 0) is globmatch(pattern, name), (pattern, name)
