"""The unsock command line without the shim: usage errors, validation of the options."""

from __future__ import annotations

import pytest

from tests.helpers.cli import INVALID_OPTIONS, Cli


def test_no_program(cli: Cli) -> None:
    p = cli("run", "--dir", "/tmp")
    assert p.returncode == 2
    assert p.stderr == "unsock: no program given: use 'unsock run [OPTIONS] -- PROGRAM [ARGS...]'\n"


def test_unknown_option_is_one_line_with_status_2(cli: Cli) -> None:
    p = cli("run", "--frobnicate", "--", "true")
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("unsock: ")


@pytest.mark.parametrize(
    ("option", "message"),
    INVALID_OPTIONS,
)
def test_invalid_values_are_one_line_with_status_2(cli: Cli, option: list[str], message: str) -> None:
    p = cli("rules", *option)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1
    assert p.stderr.startswith(f"unsock: {message}")


def test_invalid_environment_is_refused(cli: Cli) -> None:
    p = cli("rules", "--dir", "/tmp", env={"UNSOCK_MODE": "rw"})
    assert p.returncode == 2
    assert p.stderr == "unsock: UNSOCK_MODE='rw' is not a file mode: use octal permission bits such as 660 or 0700\n"
