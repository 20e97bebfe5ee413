"""Issue 13: many threads doing socket/bind/connect/accept/close/dup2/fork on converted sockets at
once (tests/shim/progs/stress.c), a few seconds each: under ThreadSanitizer (the shim and the
program built with it), under ASan+UBSan, and with the installed shim. No race or memory report,
no deadlock, no token on the wrong socket, no descriptor or socket file left. Minutes of the same:
`python -m benchmarks.stress`."""

from __future__ import annotations

import pytest

from tests.helpers.stress import StressKind, run_stress

SECONDS: dict[StressKind, float] = {"tsan": 5, "asan": 3, "plain": 3}


@pytest.mark.parametrize("kind", ["tsan", "asan", "plain"])
def test_threads_stress(kind: StressKind) -> None:
    r = run_stress(kind, SECONDS[kind], threads=8)
    assert r["rounds"] >= 8 and r["forks"] >= 1, r
