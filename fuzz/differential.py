"""The differential check: the C readers (fuzz/replay.c) and the Python ones (unsock.config,
unsock.rules, unsock.controlfile) accept and reject the same inputs and, where both accept,
read them to the same configuration and the same rules (or the same kind of control file)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from fuzz.seeds import decode_env
from unsock.config import Config
from unsock.controlfile import ControlFile
from unsock.errors import ConfigError, UnsockError
from unsock.rules import RulesError, compile_rules, parse_compiled, rules_from_config

#: The targets whose inputs replay.c reads too.
KINDS = ("env", "rules", "controlfile")


def python_env(data: bytes) -> tuple[bool, str]:
    env = {k: v for k, v in decode_env(data).items() if k not in ("UNSOCK_RULES", "UNSOCK_LOG_FILE")}
    try:
        config = Config.from_env(env)
    except ConfigError as e:
        return False, str(e)
    return True, "\n".join([config.canonical(), *(r.canonical() for r in rules_from_config(config))])


def python_rules(data: bytes) -> tuple[bool, str]:
    text = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")  # a C string of the input
    try:
        return True, compile_rules(parse_compiled(text))
    except RulesError:
        return False, ""


def python_controlfile(data: bytes) -> tuple[bool, str]:
    try:
        record = ControlFile.unpack(data)
    except UnsockError:
        return False, ""
    return True, "firecracker" if record.is_firecracker else "socket"


PYTHON = {"env": python_env, "rules": python_rules, "controlfile": python_controlfile}


def c_results(replay: Path, kind: str, files: Sequence[Path]) -> list[tuple[bool, str]]:
    """What replay.c reads each file as."""
    out: list[tuple[bool, str]] = []
    for at in range(0, len(files), 500):  # command lines of a bounded length
        p = subprocess.run([str(replay), kind, *map(str, files[at:at + 500])], capture_output=True, check=True,
                           timeout=300)
        for line in p.stdout.decode().splitlines():
            status, _, text = line.partition(" ")
            out.append((status == "ok", bytes.fromhex(text).decode("utf-8", "surrogateescape")))
    return out


def disagreements(replay: Path, kind: str, files: Sequence[Path]) -> list[str]:
    """One line per file the two sides read differently."""
    found = []
    for path, c in zip(files, c_results(replay, kind, files), strict=True):
        py = PYTHON[kind](path.read_bytes())
        if c != py:
            found.append(f"{path}: C {'accepts' if c[0] else 'rejects'} {c[1]!r}, "
                         f"Python {'accepts' if py[0] else 'rejects'} {py[1]!r}")
    return found
