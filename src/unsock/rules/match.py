"""The reference matcher, which the shim agrees with (``tests/vectors/rules.json``)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator, Sequence
from typing import Literal

from ..unixglob import globmatch
from .model import (
    AbstractAction,
    Direction,
    FirecrackerAction,
    PathAction,
    PortRef,
    Rule,
    SockType,
    TipcAction,
    VsockAction,
)

IpAddress = tuple[str, int]
UnixAddress = tuple[Literal["unix", "abstract"], str]


def matches(rule: Rule, direction: Direction, sock_type: SockType, address: IpAddress | UnixAddress) -> bool:
    if rule.direction not in (None, direction) or rule.sock_type not in (None, sock_type):
        return False
    kind, where = address
    if isinstance(where, str):  # a unix socket
        if kind == "unix" and rule.from_unix is not None:
            return globmatch(rule.from_unix, where)
        if kind == "abstract" and rule.from_abstract is not None:
            return globmatch(rule.from_abstract, where)
        return False
    if rule.unix_source:
        return False
    if rule.addr is not None and not rule.addr.covers(kind):
        return False
    return rule.port is None or rule.port[0] <= where <= rule.port[1]


def match(rules: Sequence[Rule], direction: Direction, sock_type: SockType,
          address: IpAddress | UnixAddress) -> int | None:
    """The index of the first rule that matches, or None. ``address`` is
    ``(IP, PORT)`` for IP sockets, ``("unix", PATH)`` or ``("abstract", NAME)``."""
    for i, rule in enumerate(rules):
        if matches(rule, direction, sock_type, address):
            return i
    return None


def _ntop(ip: str) -> str:
    addr = ipaddress.ip_address(ip)
    return socket.inet_ntop(socket.AF_INET if addr.version == 4 else socket.AF_INET6, addr.packed)


def template_pieces(template: str) -> Iterator[tuple[str, bool]]:
    """A ``path=``/``abstract=`` template in order: ``(letter, True)`` for each ``%X``, and
    ``(character, False)`` for the rest (a ``%`` last is a character)."""
    i = 0
    while i < len(template):
        if template[i] == "%" and i + 1 < len(template):
            yield template[i + 1], True
            i += 2
        else:
            yield template[i], False
            i += 1


def _expand_text(template: str, sock_type: SockType, ip: str | None, port: int | None) -> str:
    out: list[str] = []
    for piece, placeholder in template_pieces(template):
        if placeholder and piece == "p":
            if port is None:
                raise ValueError("%p without a port")
            out.append(str(port))
        elif placeholder and piece == "a":
            if ip is None:
                raise ValueError("%a without an address")
            out.append(_ntop(ip))
        elif placeholder and piece == "t":
            out.append("tcp" if sock_type == "stream" else "udp")
        else:
            out.append(piece)
    return "".join(out)


def _ref(ref: PortRef, port: int | None) -> int:
    if ref != "%p":
        return ref
    if port is None:
        raise ValueError("%p without a port")
    return port


def expand(rule: Rule, sock_type: SockType, ip: str | None = None, port: int | None = None) -> str:
    """Where the socket goes, placeholders expanded: the path of ``path=``, the
    name of ``abstract=``, ``CID:PORT`` of ``vsock=``, ``TYPE:LOWER:UPPER@SCOPE`` of
    ``tipc=``, ``UDS:PORT`` of ``firecracker=``. ValueError for other actions."""
    a = rule.action
    if isinstance(a, PathAction):
        return _expand_text(a.path, sock_type, ip, port)
    if isinstance(a, AbstractAction):
        return _expand_text(a.name, sock_type, ip, port)
    if isinstance(a, VsockAction):
        return f"{a.cid}:{_ref(a.port, port)}"
    if isinstance(a, TipcAction):
        return f"{a.type}:{_ref(a.lower, port)}:{_ref(a.upper, port)}@{a.scope}"
    if isinstance(a, FirecrackerAction):
        return f"{a.uds}:{_ref(a.port, port)}"
    raise ValueError(f"{a.canonical()} has no target")
