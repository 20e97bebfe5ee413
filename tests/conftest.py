"""Fixtures shared by every tier: the installed shim, short socket
directories, and real programs that must exist in CI."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.activate import Activator
from tests.helpers.proc import Unsock
from tests.helpers.programs import IN_CI, require_program

__all__ = ["IN_CI", "require_program"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """In CI nothing may be skipped: a skip is reported as a failure."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run everything: {report.longrepr}"


@pytest.fixture
def sockdir() -> Iterator[Path]:
    """A fresh socket directory with a short path (sun_path holds 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="us-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def unsock(sockdir: Path) -> Iterator[Unsock]:
    """Runs programs under the installed shim with UNSOCK_DIR=sockdir and
    UNSOCK_ADDR=127.0.0.1/8; background programs are stopped afterwards."""
    u = Unsock(sockdir)
    try:
        yield u
    finally:
        u.stop_all()


@pytest.fixture
def activator() -> Iterator[Activator]:
    """Programs behind systemd-socket-activate, stopped at the end of the test."""
    a = Activator()
    try:
        yield a
    finally:
        a.stop_all()
