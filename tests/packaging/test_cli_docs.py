"""The installed command's --version, and the manual page and bash completion the build makes from
its parser (meson.build, build-aux/gen_cli_docs.py): every subcommand and option is in both,
whatever subcommands the parser has."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.helpers.programs import require_program
from unsock import __version__
from unsock.cli import build_parser
from unsock.cli_docs import COMPLETIONS, MAN_PAGE

UNSOCK = str(Path(sys.executable).with_name("unsock"))
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([UNSOCK, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("unsock",)) -> Iterator[
        tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the command line with the words that reach it: ("unsock",), ("unsock", "run"), ..."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


def options(parser: argparse.ArgumentParser) -> list[str]:
    return [s for action in parser._actions for s in action.option_strings]


def subcommands(parser: argparse.ArgumentParser) -> list[str]:
    return [name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices]


def man_sections() -> dict[str, str]:
    """The page's text (roff escapes and font changes removed) by command: "unsock" for the
    sections of the top level, "unsock run" for those headed 'unsock run', and so on."""
    text = MAN_PAGE.read_text().replace("\\-", "-")
    text = re.sub(r"\\f[BIR]|\\[,/]", "", text)
    sections: dict[str, str] = {}
    for chunk in re.split(r"^(?=\.SH\b)", text, flags=re.MULTILINE):
        heading = re.match(r"\.SH [^\n']*'(unsock[^']*)'$", chunk, flags=re.MULTILINE)
        name = heading[1] if heading else "unsock"
        sections[name] = sections.get(name, "") + chunk
    return sections


def test_version_is_the_package_version() -> None:
    p = run("--version")
    assert (p.returncode, p.stdout, p.stderr) == (0, f"unsock {__version__}\n", "")
    assert __version__ == (ROOT / "src" / "unsock" / "VERSION").read_text().strip()
    assert version("unsock") == __version__  # the wheel's metadata, which meson.build read from VERSION
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_man_page_has_every_command_and_option() -> None:
    sections = man_sections()
    assert f"unsock {__version__}" in sections["unsock"].splitlines()[0]  # .TH ... "unsock X.Y.Z"
    walked = list(commands(build_parser()))
    assert {" ".join(path) for path, _ in walked} == set(sections)
    for path, parser in walked:
        body = sections[" ".join(path)]
        for action in parser._actions:
            found = [re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", body) for o in action.option_strings]
            # -h/--help is in the usage line as -h only; every other option is there by each of its names
            ok = any(found) if isinstance(action, argparse._HelpAction) else all(found)
            assert ok, f"{action.option_strings} of {' '.join(path)}"
    assert {"run", "env", "rules", "lib", "control", "man", "completion"} <= set(subcommands(build_parser()))


def test_man_path_is_the_installed_page() -> None:
    p = run("man", "--path")
    assert (p.returncode, p.stderr) == (0, "")
    assert Path(p.stdout.strip()) == MAN_PAGE
    assert MAN_PAGE.read_text().startswith(".TH UNSOCK \"1\"")


def test_man_shows_the_page() -> None:
    require_program("man")
    p = run("man", env={"MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "100"})
    assert p.returncode == 0, p.stderr
    assert "unsock - run unmodified programs on Unix domain sockets" in p.stdout.replace("\u2010", "-")
    for name in subcommands(build_parser()):
        assert f"unsock {name}" in p.stdout


def bash(script: str) -> subprocess.CompletedProcess[str]:
    require_program("bash")
    return subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "UNSOCK": UNSOCK})


def complete(*words: str) -> list[str]:
    """What the completion offers for the command line `unsock WORDS...` (the last word completed)."""
    line = " ".join(("unsock", *words))
    script = f"""
        source <("$UNSOCK" completion bash) || exit 9
        COMP_WORDS=(unsock {" ".join(f"'{w}'" for w in words)}); COMP_CWORD={len(words)}
        COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
        _shtab_unsock unsock '{words[-1]}' '{words[-2] if len(words) > 1 else "unsock"}'
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    p = bash(script)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    return sorted(filter(None, p.stdout.splitlines()))


def test_completion_script_is_the_installed_one() -> None:
    p = run("completion", "bash")
    assert (p.returncode, p.stderr) == (0, "")
    assert p.stdout == COMPLETIONS["bash"].read_text()


def test_completion_registers_for_unsock() -> None:
    p = bash('source <("$UNSOCK" completion bash) && complete -p unsock')
    assert (p.returncode, p.stderr) == (0, "")
    assert re.fullmatch(r"complete .*-F _shtab_unsock .*unsock\n", p.stdout), p.stdout


def test_completion_of_subcommands() -> None:
    parser = build_parser()
    assert complete("") == sorted(subcommands(parser))
    assert complete("co") == sorted(n for n in subcommands(parser) if n.startswith("co"))
    control = dict(commands(parser))[("unsock", "control")]
    assert complete("control", "") == sorted(subcommands(control))


@pytest.mark.parametrize("command", ["run", "rules"])
def test_completion_of_options(command: str) -> None:
    parser = dict(commands(build_parser()))[("unsock", command)]
    assert complete(command, "--bl") == sorted(o for o in options(parser) if o.startswith("--bl"))
    assert set(complete(command, "--")) == {o for o in options(parser) if o.startswith("--")}


def test_completion_of_choices() -> None:
    assert complete("completion", "") == sorted(COMPLETIONS)


def test_missing_files_and_missing_man_are_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    """A source tree never built has neither file; a system without man(1) is told where the page is."""
    from unsock import cli_docs
    from unsock.cli import main

    monkeypatch.setattr(cli_docs, "COMPLETIONS", {"bash": tmp_path / "unsock.bash"})
    monkeypatch.setattr(cli_docs, "MAN_PAGE", tmp_path / "unsock.1")
    assert main(["completion", "bash"]) == 2
    assert capsys.readouterr().err == (f"unsock: unsock.bash is missing from {tmp_path}: reinstall unsock with pip, "
                                       "which makes it\n")
    (tmp_path / "unsock.1").write_text(".TH UNSOCK 1\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["man"]) == 2
    assert capsys.readouterr().err == f"unsock: man is not installed: the manual page is {tmp_path / 'unsock.1'}\n"
