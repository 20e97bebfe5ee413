"""The unit tier runs from a bare checkout (``PYTHONPATH=src``): nothing here may need the
installed command or ``libunsock.so``."""

from __future__ import annotations

import pytest

from tests.helpers.cli import Cli, in_process_cli


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """unsock's main() in this process (tests.helpers.cli)."""
    return in_process_cli(monkeypatch, capsys)
