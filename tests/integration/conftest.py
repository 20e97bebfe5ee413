"""Modules marked both_engines run each test under `--engine preload` and `--engine seccomp`
(dynamically linked programs keep the shim under the seccomp engine too, so the supervisor must
leave alone what the shim converted, and take over where it cannot reach)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import rules


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_engines") is not None:
        metafunc.parametrize("unsock_engine", ["preload", "seccomp"], indirect=True)


@pytest.fixture(autouse=True)
def unsock_engine(request: pytest.FixtureRequest) -> Iterator[str | None]:
    engine: str | None = getattr(request, "param", None)
    rules.ENGINE = engine
    try:
        yield engine
    finally:
        rules.ENGINE = None
