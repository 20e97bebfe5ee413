"""The unsock command line without the shim: usage errors, validation of the options."""

from __future__ import annotations

import pytest

from tests.helpers.cli import Cli


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
    [
        (["--dir", "relative/dir"], "UNSOCK_DIR='relative/dir' is not an absolute path"),
        (["--dir", "/" + "d" * 120], "UNSOCK_DIR is 121 bytes long, at most 96 fit"),
        (["--addr", "127.0.0.1/40"], "UNSOCK_ADDR='127.0.0.1/40' is not a list of IP addresses or ranges"),
        (["--addr", "example.org"], "UNSOCK_ADDR='example.org' is not a list of IP addresses or ranges"),
        (["--port", "65536"], "UNSOCK_PORT='65536' is not a port"),
        (["--port", "http"], "UNSOCK_PORT='http' is not a port"),
        (["--mode", "800"], "UNSOCK_MODE='800' is not a file mode"),
    ],
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
