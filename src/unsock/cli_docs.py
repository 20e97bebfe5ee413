"""``unsock man`` and ``unsock completion``: the manual page unsock(1) and the shell completion,
both made at build time from the command's own parser (build-aux/gen_cli_docs.py, with
argparse-manpage and shtab) and installed in the package under ``share/``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from .errors import UnsockError

COMMANDS = ("man", "completion")

SHARE = Path(__file__).resolve().with_name("share")
MAN_PAGE = SHARE / "man" / "man1" / "unsock.1"
COMPLETIONS = {"bash": SHARE / "bash-completion" / "completions" / "unsock.bash"}


def add_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    man = sub.add_parser("man", help="show the manual page unsock(1)",
                         description="Show the manual page unsock(1) with man(1), installed with the package.")
    man.add_argument("--path", action="store_true", help="only print the manual page's path")
    completion = sub.add_parser(
        "completion",
        help="print the completion script for a shell",
        description="Print the completion script for a shell, e.g. source <(unsock completion bash) in ~/.bashrc.",
    )
    completion.add_argument("shell", choices=tuple(COMPLETIONS), help="the shell")


def installed(path: Path) -> Path:
    """path, which the build installs; missing only from a source tree that was never built."""
    if not path.is_file():
        raise UnsockError(f"{path.name} is missing from {path.parent}: reinstall unsock with pip, which makes it")
    return path


def run(args: argparse.Namespace) -> int:
    if args.command == "completion":
        sys.stdout.write(installed(COMPLETIONS[args.shell]).read_text())
        return 0
    page = installed(MAN_PAGE)
    man = shutil.which("man")
    if args.path:
        print(page)
        return 0
    if man is None:
        raise UnsockError(f"man is not installed: the manual page is {page}")
    sys.stdout.flush()
    os.execv(man, [man, "-l", str(page)])
