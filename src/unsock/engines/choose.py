"""Which engine runs a program under ``--engine auto``: the preload engine for dynamically linked
programs that call libc's socket functions, the seccomp engine for statically linked programs
and Go programs (Go issues its socket system calls itself, static or not). Decided from the
program's ELF file: its interpreter (PT_INTERP) and Go's build information, never its name."""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ..errors import UnsockError
from ..library import library_path, system_libc

Engine = Literal["preload", "seccomp"]
ENGINES = ("auto", "preload", "seccomp")

_PT_INTERP = 3
_GO_SECTIONS = (b".go.buildinfo", b".note.go.buildid")


@dataclass(frozen=True)
class Choice:
    engine: Engine
    why: str


@dataclass(frozen=True)
class Binary:
    """What the ELF file says: its interpreter (None: statically linked) and whether Go built it."""

    interpreter: str | None
    go: bool


def read_elf(path: str) -> Binary | None:
    """The ELF facts of path, or None if it is not a little-endian ELF file (x86_64, aarch64)."""
    try:
        with open(path, "rb") as f:

            def at(offset: int, size: int) -> bytes:
                f.seek(offset)
                data = f.read(size)
                if len(data) != size:
                    raise ValueError("truncated")
                return data

            head = at(0, 64)
            if head[:4] != b"\x7fELF" or head[5] != 1:
                return None
            wide = head[4] == 2
            word = "<Q" if wide else "<I"
            phoff, shoff = struct.unpack_from("<QQ" if wide else "<II", head, 0x20 if wide else 0x1C)
            phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", head, 0x36 if wide else 0x2A)
            interpreter = None
            for i in range(phnum):
                ph = at(phoff + i * phentsize, phentsize)
                if struct.unpack_from("<I", ph)[0] == _PT_INTERP:
                    off = struct.unpack_from(word, ph, 8 if wide else 4)[0]
                    size = struct.unpack_from(word, ph, 32 if wide else 16)[0]
                    interpreter = at(off, min(size, 4096)).rstrip(b"\0").decode(errors="replace")
            go = False
            if shnum > 0 and shstrndx < shnum:
                strtab = at(shoff + shstrndx * shentsize, shentsize)
                names_off = struct.unpack_from(word, strtab, 24 if wide else 16)[0]
                names_size = struct.unpack_from(word, strtab, 32 if wide else 20)[0]
                names = at(names_off, min(names_size, 1 << 20))
                for i in range(shnum):
                    name_off = struct.unpack_from("<I", at(shoff + i * shentsize, 4))[0]
                    go = go or names[name_off:names.find(b"\0", name_off)] in _GO_SECTIONS
            return Binary(interpreter, go)
    except (OSError, struct.error, ValueError):
        return None


def resolve(program: str, env: Mapping[str, str]) -> str | None:
    """The file exec would run for program (a path, or a name looked up in PATH)."""
    if "/" in program:
        return program if os.path.isfile(program) else None
    return shutil.which(program, path=env.get("PATH", os.defpath))


def choose(program: str, env: Mapping[str, str]) -> Choice:
    """The engine --engine auto picks for program, and why."""
    path = resolve(program, env)
    binary = read_elf(path) if path is not None else None
    if binary is None:
        return Choice("preload", f"{program} is not an ELF program (a script, or not found): the preload engine "
                                 "serves what it runs")
    if binary.go:
        return Choice("seccomp", f"{path} is a Go program, which makes its socket calls itself")
    if binary.interpreter is None:
        return Choice("seccomp", f"{path} is statically linked: LD_PRELOAD cannot reach it")
    libc = libc_of(binary.interpreter)
    if libc != system_libc():
        try:
            library_path(libc)
        except UnsockError:
            return Choice("seccomp", f"{path} is linked against {libc}, for which unsock has no shim")
    return Choice("preload", f"{path} is dynamically linked ({binary.interpreter})")


def libc_of(interpreter: str) -> str:
    """The C library whose loader interpreter is."""
    return "musl" if "/ld-musl-" in interpreter else "glibc"


def program_libc(program: str, env: Mapping[str, str]) -> str:
    """The C library program is linked against (the system's if it cannot be told)."""
    path = resolve(program, env)
    binary = read_elf(path) if path is not None else None
    return libc_of(binary.interpreter) if binary is not None and binary.interpreter else system_libc()
