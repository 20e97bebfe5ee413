"""The glob of ``from-unix=`` and ``from-abstract=`` rules (docs/rules.md), with
ip2unix's meaning.

Patterns and names are compared byte by byte (their UTF-8/filesystem
encoding), as the shim compares them:

- a pattern without ``/`` is matched against the name's last component
  (``*.sock`` matches ``/run/app.sock``);
- ``?`` matches one byte but ``/``; ``*`` any run of bytes without ``/``;
- ``**`` alone between slashes or at an end of the pattern matches zero or
  more whole components (``a/**/z`` matches ``a/z`` and ``a/b/c/z``), at the
  end one or more (``a/**`` matches ``a/`` and ``a/b/c``, not ``a``); any other
  run of stars (``a**``, ``***``) is ``*``;
- ``[...]`` matches one byte in the class, ``[!...]`` one byte not in it; a
  ``]`` right after ``[`` or ``[!`` is a member, ``a-z`` is a range (empty if
  reversed), a ``-`` first or last is a member, ``\\X`` in a class is the
  member X; a ``[`` whose ``]`` does not come before the next ``/`` is an
  ordinary byte (``foo[a/b]`` matches itself);
- ``\\X`` matches the byte X (``\\/`` is a ``/``); a backslash at the very end
  matches a backslash;
- anything else matches itself.

``tests/vectors/globs.json`` holds the cases the shim and this module agree on,
ip2unix's own among them.
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


# A token of a component: a literal byte (int), "?", "*" or a class.
_Token = int | str | _Class
# A component: its tokens, or GLOBSTAR for a `**` component.
GLOBSTAR = "**"
_Component = tuple[_Token, ...] | str


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


def _split(pat: bytes) -> list[bytes]:
    """The pattern's components: its bytes between ``/`` and ``\\/``."""
    parts: list[bytes] = []
    start = i = 0
    while i < len(pat):
        if pat[i] == _SLASH:
            parts.append(pat[start:i])
            start = i = i + 1
        elif pat[i] == _BACKSLASH and i + 1 < len(pat):
            if pat[i + 1] == _SLASH:
                parts.append(pat[start:i])
                start = i + 2
            i += 2
        else:
            i += 1
    parts.append(pat[start:])
    return parts


def _tokens(comp: bytes) -> tuple[_Token, ...]:
    tokens: list[_Token] = []
    i = 0
    while i < len(comp):
        c = comp[i]
        if c == _STAR:
            while i < len(comp) and comp[i] == _STAR:
                i += 1
            tokens.append("*")
        elif c == ord("?"):
            tokens.append("?")
            i += 1
        elif c == ord("[") and (got := _parse_class(comp, i)) is not None:
            tokens.append(got[0])
            i = got[1]
        elif c == _BACKSLASH and i + 1 < len(comp):
            tokens.append(comp[i + 1])
            i += 2
        else:
            tokens.append(c)
            i += 1
    return tuple(tokens)


def compile_glob(pattern: str | bytes) -> tuple[_Component, ...]:
    """The pattern's components, each its tokens or :data:`GLOBSTAR`."""
    return tuple(GLOBSTAR if part == b"**" else _tokens(part) for part in _split(os.fsencode(pattern)))


def _component_matches(tokens: tuple[_Token, ...], name: bytes) -> bool:
    n = len(name)
    # after[j]: whether the tokens after the one at hand match name[j:].
    after = [False] * n + [True]
    for tok in reversed(tokens):
        here = [False] * (n + 1)
        for j in range(n, -1, -1):
            if tok == "*":
                here[j] = after[j] or (j < n and here[j + 1])
            elif j == n:
                here[j] = False
            elif tok == "?":
                here[j] = after[j + 1]
            elif isinstance(tok, _Class):
                here[j] = tok.matches(name[j]) and after[j + 1]
            else:
                here[j] = name[j] == tok and after[j + 1]
        after = here
    return after[0]


def globmatch(pattern: str | bytes, name: str | bytes) -> bool:
    """Whether the whole of ``name`` matches ``pattern``."""
    comps = compile_glob(pattern)
    path = os.fsencode(name)
    if b"/" not in os.fsencode(pattern):
        path = path.rpartition(b"/")[2]
    names = path.split(b"/")
    n = len(names)
    # after[j]: whether the components after the one at hand match names[j:].
    after = [False] * n + [True]
    for i in range(len(comps) - 1, -1, -1):
        comp = comps[i]
        last = i == len(comps) - 1
        here = [False] * (n + 1)
        for j in range(n, -1, -1):
            if isinstance(comp, str):  # GLOBSTAR
                here[j] = j < n if last else after[j] or (j < n and here[j + 1])
            else:
                here[j] = j < n and after[j + 1] and _component_matches(comp, names[j])
        after = here
    return after[0]
