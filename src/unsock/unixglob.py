"""The glob of ``from-unix=`` and ``from-abstract=`` rules (docs/rules.md).

Patterns and names are compared byte by byte (their UTF-8/filesystem
encoding), as the shim compares them:

- ``?`` matches one byte but ``/``;
- ``*`` matches any run of bytes without ``/``; ``**`` (two or more stars)
  any run of bytes, ``/`` included;
- ``[...]`` matches one byte in the class, ``[!...]`` one byte not in it,
  neither ever matches ``/`` (as ``*``, ``?`` and classes only match within a
  path component: ``[/]`` and ``[!a]`` never match ``/``); a
  ``]`` right after ``[`` or ``[!`` is a member, ``a-z`` is a range (empty if
  reversed), a ``-`` first or last is a member, ``\\X`` in a class is the
  member X; a ``[`` with no closing ``]`` is an ordinary byte;
- ``\\X`` matches the byte X; a backslash at the very end matches a backslash;
- anything else matches itself.

``tests/vectors/globs.json`` holds the cases the shim and this module agree on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

_SLASH = ord("/")
_STAR = ord("*")
_BACKSLASH = ord("\\")


@dataclass(frozen=True)
class _Class:
    negate: bool
    ranges: tuple[tuple[int, int], ...]

    def matches(self, byte: int) -> bool:
        return any(lo <= byte <= hi for lo, hi in self.ranges) != self.negate


# A token: a literal byte (int), "?", "*", "**" or a class.
_Token = int | str | _Class


def _parse_class(pat: bytes, start: int) -> tuple[_Class, int] | None:
    """The class opening at ``pat[start] == '['`` and the index after its
    closing ``]``, or None if it is never closed."""
    i = start + 1
    negate = i < len(pat) and pat[i] == ord("!")
    if negate:
        i += 1
    members: list[tuple[int, int]] = []
    first = True

    def member(j: int) -> tuple[int, int] | None:
        """The (escaped) byte at j and the index after it."""
        if j >= len(pat):
            return None
        if pat[j] == _BACKSLASH and j + 1 < len(pat):
            return pat[j + 1], j + 2
        return pat[j], j + 1

    while i < len(pat):
        if pat[i] == ord("]") and not first:
            return _Class(negate, tuple(members)), i + 1
        first = False
        got = member(i)
        if got is None:
            return None
        lo, i = got
        if i + 1 < len(pat) and pat[i] == ord("-") and pat[i + 1] != ord("]"):
            end = member(i + 1)
            if end is None:
                return None
            hi, i = end
            members.append((lo, hi))
        else:
            members.append((lo, lo))
    return None


def compile_glob(pattern: str | bytes) -> tuple[_Token, ...]:
    pat = os.fsencode(pattern)
    tokens: list[_Token] = []
    i = 0
    while i < len(pat):
        c = pat[i]
        if c == _STAR:
            j = i
            while j < len(pat) and pat[j] == _STAR:
                j += 1
            tokens.append("**" if j - i >= 2 else "*")
            i = j
        elif c == ord("?"):
            tokens.append("?")
            i += 1
        elif c == ord("["):
            got = _parse_class(pat, i)
            if got is None:
                tokens.append(c)
                i += 1
            else:
                tokens.append(got[0])
                i = got[1]
        elif c == _BACKSLASH and i + 1 < len(pat):
            tokens.append(pat[i + 1])
            i += 2
        else:
            tokens.append(c)
            i += 1
    return tuple(tokens)


def globmatch(pattern: str | bytes, name: str | bytes) -> bool:
    """Whether the whole of ``name`` matches ``pattern``."""
    tokens = compile_glob(pattern)
    path = os.fsencode(name)
    n = len(path)
    # after[j]: whether tokens[i+1:] match path[j:], for the token i at hand.
    after = [False] * n + [True]
    for tok in reversed(tokens):
        here = [False] * (n + 1)
        for j in range(n, -1, -1):
            if tok == "*":
                here[j] = after[j] or (j < n and path[j] != _SLASH and here[j + 1])
            elif tok == "**":
                here[j] = after[j] or (j < n and here[j + 1])
            elif j == n:
                here[j] = False
            elif tok == "?":
                here[j] = path[j] != _SLASH and after[j + 1]
            elif isinstance(tok, _Class):
                here[j] = path[j] != _SLASH and tok.matches(path[j]) and after[j + 1]
            else:
                here[j] = path[j] == tok and after[j + 1]
        after = here
    return after[0]
