"""The examples of docs/*.md that run on this host (tests/integration/test_docs_examples.py).

A page marks what is run:

- ``<!-- tested-here: NAME -->`` before a ```` ```sh ```` block: run as written, with
  ``sh``, in an empty directory;
- ``<!-- output: NAME -->`` before a ```` ```text ```` block: what block NAME prints;
- ``<!-- unit: FILE -->`` before a systemd unit, ``<!-- nginx: PART -->`` before a part of
  the nginx set-up: extracted and run with paths moved into a temporary directory.

(``<!-- tested: NAME -->`` blocks are the VM's: tests/vm/test_docs.py.)"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from tests.helpers.daemons import adopting_orphans
from tests.helpers.programs import plain_env

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
TESTED_HERE = re.compile(r"<!-- tested-here: (\w+) -->\s*```sh\n(.*?)```", re.S)
OUTPUT = re.compile(r"<!-- output: (\w+) -->\s*```text\n(.*?)```", re.S)


def pages() -> list[Path]:
    """The pages whose examples are looked at: README.md and docs/*.md."""
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def _collect(pattern: re.Pattern[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for page in pages():
        for name, body in pattern.findall(page.read_text()):
            assert name not in found, f"{page.name}: a second block named {name!r}"
            found[name] = body
    return found


def blocks_tested_here() -> dict[str, str]:
    """Every ``tested-here`` shell block of docs/*.md, by name."""
    return _collect(TESTED_HERE)


def shown_outputs() -> dict[str, str]:
    """Every ``output`` block of docs/*.md: what the block of that name prints."""
    return _collect(OUTPUT)


def marked_blocks(kind: str) -> dict[str, str]:
    """The fenced blocks marked ``<!-- KIND: NAME -->``, by NAME."""
    return _collect(re.compile(rf"<!-- {re.escape(kind)}: ([\w.-]+) -->\s*```\w*\n(.*?)```", re.S))


def rules_on_page(text: str) -> list[str]:
    """Every `-r RULE` of an `unsock run`/`unsock rules` command line of a page
    (lines continued with a backslash joined; RULE itself, a placeholder, and rules
    built from shell variables left out)."""
    found = []
    for line in text.replace("\\\n", " ").splitlines():
        if "unsock run" not in line and "unsock rules" not in line:
            continue
        for quoted, bare in re.findall(r"(?:^|[\s(])-r\s+(?:'([^']*)'|([^\s`|]+))", line):
            rule = quoted or bare
            if rule not in ("RULE", "RULE...") and "$" not in rule:
                found.append(rule)
    return found


def venv_bin() -> Path:
    """The directory of the installed ``unsock`` command (the running interpreter's)."""
    return Path(sys.executable).parent


def block_env(**extra: str) -> dict[str, str]:
    """The environment a reader has: no shim, no UNSOCK_*, the virtual environment
    first on PATH."""
    return plain_env(PATH=f"{venv_bin()}:{os.environ.get('PATH', '/usr/bin:/bin')}", **extra)


def normalize(text: str) -> str:
    """Output as compared with a page: descriptor numbers left out (``fd N``),
    trailing blanks and blank lines dropped."""
    text = re.sub(r"\bfd \d+", "fd N", text)
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


def rewrite(text: str, mapping: Mapping[str, str]) -> str:
    """text with each key of mapping replaced by its value, in order."""
    for old, new in mapping.items():
        text = text.replace(old, new)
    return text


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: section -> key -> values (a key may repeat);
    comments and blank lines skipped."""
    units: dict[str, dict[str, list[str]]] = {}
    section: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = units.setdefault(line[1:-1], {})
            continue
        assert section is not None and "=" in line, f"not a unit file line: {raw!r}"
        key, value = line.split("=", 1)
        section.setdefault(key.strip(), []).append(value.strip())
    return units


def one(unit: Mapping[str, Mapping[str, list[str]]], section: str, key: str) -> str:
    """The only value of [section] key=."""
    values = unit.get(section, {}).get(key, [])
    assert len(values) == 1, f"[{section}] {key}= should be set once, not {values}"
    return values[0]


def _group_members(pgid: int) -> list[tuple[int, bool]]:
    """(pid, alive) of every process of the process group, zombies included."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            found.append((int(entry.name), fields[0] not in ("Z", "X")))
    return found


def end_group(pgid: int, timeout: float = 10) -> None:
    """SIGTERM a process group (a block's background servers), SIGKILL what is
    left after timeout, and reap those that are our children."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + wait
        while any(alive for _, alive in _group_members(pgid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not any(alive for _, alive in _group_members(pgid)):
            break
    for pid, _ in _group_members(pgid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


class Background:
    """A command in a session of its own, its output in a file; end() stops
    it and everything it started."""

    def __init__(self, args: list[str], cwd: Path, env: Mapping[str, str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                args, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def end(self) -> None:
        end_group(self.proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)


def run_block(body: str, cwd: Path, log: Path, timeout: float = 60, env: Mapping[str, str] | None = None,
              ) -> tuple[int | None, str]:
    """Run a shell block as written with sh in cwd; its background programs are
    stopped once it ends. (exit status or None on timeout, stdout and stderr)."""
    with adopting_orphans():  # a server the block left running becomes ours to reap
        run = Background(["sh", "-c", body], cwd, env if env is not None else block_env(), log)
        try:
            status: int | None = run.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            run.end()
    return status, run.output()
