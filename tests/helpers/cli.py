"""unsock's main() called in the test's own process, for commands that neither load the shim nor
run a program (the unit tier runs from a bare checkout, without the installed command)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from unsock.cli import main


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


Cli = Callable[..., Result]

#: Options with invalid values and the message each is refused with.
INVALID_OPTIONS = [
    (["--dir", "relative/dir"], "UNSOCK_DIR='relative/dir' is not an absolute path"),
    (["--dir", "/" + "d" * 120], "UNSOCK_DIR is 121 bytes long, at most 96 fit"),
    (["--addr", "127.0.0.1/40"], "UNSOCK_ADDR='127.0.0.1/40' is not a list of IP addresses or ranges"),
    (["--addr", "example.org"], "UNSOCK_ADDR='example.org' is not a list of IP addresses or ranges"),
    (["--port", "65536"], "UNSOCK_PORT='65536' is not a port"),
    (["--port", "http"], "UNSOCK_PORT='http' is not a port"),
    (["--mode", "800"], "UNSOCK_MODE='800' is not a file mode"),
]


def in_process_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``cli("rules", "-r", RULE, env={...}, cwd=PATH)``: the exit status and output of the
    command, run with no UNSOCK_* variable or LD_PRELOAD but those in ``env``."""

    def call(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Result:
        capsys.readouterr()
        with monkeypatch.context() as m:
            for name in list(os.environ):
                if name.startswith("UNSOCK_") or name == "LD_PRELOAD":
                    m.delenv(name)
            for name, value in (env or {}).items():
                m.setenv(name, value)
            if cwd is not None:
                m.chdir(cwd)
            try:
                status = main(list(args))
            except SystemExit as e:
                status = e.code if isinstance(e.code, int) else 1
        out = capsys.readouterr()
        return Result(status, out.out, out.err)

    return call
