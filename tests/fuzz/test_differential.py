"""The differential check on generated inputs: the C readers (fuzz/replay.c) and the Python ones
accept and reject the same UNSOCK_* variables, UNSOCK_RULES texts and control files and, where
both accept, read them to the same configuration and rules (or the same kind of record). The
fuzz targets' corpora go through the same check (tests/fuzz/test_fuzz_pass.py, `make fuzz`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzz.differential import disagreements
from fuzz.run import REGRESSIONS, build_replay
from fuzz.seeds import ENV_NAMES, encode_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.rule_strategies import WORDS, rules
from tests.vectors.cases import VECTORS
from unsock.rules import Rule, compile_rules

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def replay() -> Path:
    return build_replay(os.environ.get("CC") or shutil.which("cc") or "gcc")


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="unsock-diff-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def check(replay: Path, scratch: Path, kind: str, data: bytes) -> None:
    path = scratch / kind
    path.write_bytes(data)
    assert disagreements(replay, kind, [path]) == [], data


# Pieces of the values the readers see: numbers at and past their limits, addresses in several
# spellings, paths; joined by the strategy into nearby values.
PIECES = st.sampled_from(["", "0", "1", "-1", "-", "7", "8", "00", "0777", "1000", "65535", "65536", "99999",
                          "/", "//", "/tmp/u", "%", "%p", "a", ",", ".", ":", "::", "::1", "127.0.0.1",
                          "127.0.0.0/8", "/32", "/33", "/128", "/129", "ffff", "::ffff:1.2.3.4", "%eth0",
                          " ", "\t", "\n", "é", "\u0663", "/" + "d" * 90])  # fmt: skip
VALUES = st.lists(PIECES, max_size=5).map("".join)
READ_BY_BOTH = [n for n in ENV_NAMES if n not in ("UNSOCK_RULES", "UNSOCK_LOG_FILE")]


@given(st.dictionaries(st.sampled_from(READ_BY_BOTH), VALUES, max_size=6))
@SETTINGS
def test_env(replay: Path, scratch: Path, env: dict[str, str]) -> None:
    check(replay, scratch, "env", encode_env(env))


def mutated(text: str, at: int, what: str, delete: bool) -> str:
    at = at % (len(text) + 1)
    return text[:at] + what + text[at + delete:]


RULE_TEXTS = st.one_of(
    st.lists(rules(), min_size=1, max_size=3).map(lambda rs: compile_rules(list[Rule](rs))),
    st.builds(mutated, st.lists(rules(), min_size=1, max_size=2).map(compile_rules), st.integers(0, 400),
              st.sampled_from(["", ",", "\\", "%", "=", "\n", "::", "0", "a", "é"]), st.booleans()),
    st.lists(WORDS, max_size=10).map("".join),
)


@given(RULE_TEXTS)
@SETTINGS
def test_rules(replay: Path, scratch: Path, text: str) -> None:
    check(replay, scratch, "rules", text.encode("utf-8", "surrogateescape"))


GOOD_RECORDS = sorted(p.read_bytes() for p in (VECTORS / "controlfiles").glob("*.bin") if len(p.read_bytes()) == 452)


@given(st.sampled_from(GOOD_RECORDS),
       st.lists(st.tuples(st.integers(0, 451), st.sampled_from([0, 1, 2, 0x7F, 0x80, 0xFF])), max_size=3))
@SETTINGS
def test_controlfile(replay: Path, scratch: Path, record: bytes, patches: list[tuple[int, int]]) -> None:
    data = bytearray(record)
    for at, byte in patches:
        data[at] = byte
    check(replay, scratch, "controlfile", bytes(data))


@pytest.mark.parametrize("kind", ["rules"])
def test_regressions(replay: Path, kind: str) -> None:
    """The inputs the fuzzers found the two sides reading differently."""
    files = sorted((REGRESSIONS / kind).glob("*"))
    assert files and disagreements(replay, kind, files) == []
