"""A short pass of every libFuzzer target (fuzz/, `make fuzz` runs them longer): the inputs that
once found something run clean, a few seconds of fuzzing from the seeds of tests/vectors find
nothing, and C and Python read every input the env, rules and controlfile targets keep alike.
Without clang and libFuzzer's runtime this skips locally and fails in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fuzz.run import TARGETS, FuzzError, build, clang, differential, replay_regressions, run

from tests.helpers.programs import IN_CI

SECONDS = int(os.environ.get("UNSOCK_FUZZ_SECONDS", "10"))


@pytest.fixture(scope="module")
def binaries() -> dict[str, Path]:
    cc = clang()
    if cc is None:
        msg = "clang with libFuzzer's runtime is not installed (.ci/run installs clang and libclang-rt-14-dev)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return build(cc)


@pytest.mark.timeout(SECONDS + 170)
@pytest.mark.parametrize("target", TARGETS)
def test_short_pass_finds_nothing(binaries: dict[str, Path], target: str) -> None:
    try:
        replay_regressions(binaries[target], target)
        result = run(binaries[target], target, SECONDS)
        differential(binaries["replay"], target)
    except FuzzError as e:
        pytest.fail(str(e), pytrace=False)
    assert result.executions > 1000, f"{target} ran only {result.executions} inputs in {SECONDS} s"
