"""Writes unsock's manual page and bash completion from the command's own argparse definitions:
`gen_cli_docs.py SRC_DIR VERSION MAN_OUTPUT BASH_OUTPUT`, run by meson.build at build time
(argparse-manpage and shtab are build requirements, pyproject.toml), so that every subcommand and
option the parser has is in both, whatever they are.

The parser is imported from the source tree (SRC_DIR/unsock/cli.py), which needs nothing built."""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    src, version, man_out, bash_out = sys.argv[1:]
    sys.path.insert(0, src)
    sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree

    import shtab
    from argparse_manpage.manpage import Manpage

    from unsock.cli import build_parser

    parser = build_parser()
    page = Manpage(parser)
    page.description = "run unmodified programs on Unix domain sockets instead of TCP"
    page.source = f"unsock {version}"
    page.manual = "unsock manual"
    Path(man_out).write_text(str(page))
    Path(bash_out).write_text(shtab.complete(parser, shell="bash"))


if __name__ == "__main__":
    main()
