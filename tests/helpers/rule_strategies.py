"""Hypothesis strategies for rules, shared by the unit tests of unsock.rules
and the shared-vector tests of the shim's rule reader."""

from __future__ import annotations

import ipaddress
import os
import re

from hypothesis import assume
from hypothesis import strategies as st

from unsock.config import Range
from unsock.rules import (
    PATH_MAX,
    AbstractAction,
    Action,
    BlackholeAction,
    FirecrackerAction,
    IgnoreAction,
    PathAction,
    RejectAction,
    Rule,
    SystemdAction,
    TipcAction,
    VsockAction,
)

U32 = st.integers(0, 0xFFFFFFFF)
TEXT_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f%")
LITERAL = st.text(TEXT_CHARS, min_size=1, max_size=12)


def templates(ip: bool) -> st.SearchStrategy[str]:
    holders = ["%p", "%a", "%t", "%%"] if ip else ["%t", "%%"]
    return st.lists(st.one_of(LITERAL, st.sampled_from(holders)), min_size=1, max_size=6).map("".join)


def min_len(template: str) -> int:
    short = {"%p": "0", "%a": "::", "%t": "tcp", "%%": "%"}
    return len(os.fsencode(re.sub(r"%.", lambda m: short[m.group()], template)))


def port_refs(ip: bool) -> st.SearchStrategy[int | str]:
    return st.one_of(U32, st.just("%p")) if ip else U32


@st.composite
def actions(draw: st.DrawFn, ip: bool) -> Action:
    kinds = ["path", "abstract", "reject", "blackhole", "ignore", "systemd"]
    kind = draw(st.sampled_from([*kinds, "vsock", "tipc", "firecracker"] if ip else kinds))
    if kind == "path":
        path = "/" + draw(templates(ip))
        assume(min_len(path) <= PATH_MAX)
        return PathAction(path)
    if kind == "abstract":
        name = draw(templates(ip))
        assume(min_len(name) <= PATH_MAX)
        return AbstractAction(name)
    if kind == "reject":
        return RejectAction(draw(st.integers(1, 4095)))
    if kind == "blackhole":
        return BlackholeAction()
    if kind == "ignore":
        return IgnoreAction()
    if kind == "systemd":
        name = draw(st.none() | st.text(TEXT_CHARS.filter(lambda c: c != ":"), min_size=1, max_size=20))
        return SystemdAction(name)
    if kind == "vsock":
        return VsockAction(draw(U32), draw(port_refs(ip)))  # type: ignore[arg-type]
    if kind == "tipc":
        lower, upper = draw(port_refs(ip)), draw(port_refs(ip))
        if isinstance(lower, int) and isinstance(upper, int) and upper < lower:
            lower, upper = upper, lower
        return TipcAction(draw(U32), lower, upper, draw(st.sampled_from(["cluster", "node"])))  # type: ignore[arg-type]
    uds = "/" + draw(st.text(TEXT_CHARS | st.just("%"), max_size=30))
    assume(len(os.fsencode(uds)) <= PATH_MAX)
    return FirecrackerAction(uds, draw(port_refs(ip)))  # type: ignore[arg-type]


ADDRS = st.one_of(
    st.builds(lambda a, p: Range(ipaddress.IPv4Address(a), p), st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.builds(lambda a, p: Range(ipaddress.IPv6Address(a), p), st.integers(0, 2**128 - 1), st.integers(0, 128)),
)
PORTS = st.tuples(st.integers(0, 65535), st.integers(0, 65535)).map(lambda t: (min(t), max(t)))


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    source = draw(st.sampled_from(["ip", "unix", "abstract"]))
    ip = source == "ip"
    action = draw(actions(ip))
    direction = draw(st.sampled_from([None, "in", "out"]))
    sock_type = draw(st.sampled_from([None, "stream", "dgram"]))
    if isinstance(action, BlackholeAction | SystemdAction):
        direction = "in"
    if isinstance(action, FirecrackerAction):
        direction = "out"
        sock_type = draw(st.sampled_from([None, "stream"]))
    glob = draw(st.text(TEXT_CHARS | st.just("%"), min_size=1, max_size=20))
    path = isinstance(action, PathAction)
    return Rule(
        action=action,
        direction=direction,  # type: ignore[arg-type]
        sock_type=sock_type,  # type: ignore[arg-type]
        addr=draw(st.none() | ADDRS) if ip else None,
        port=draw(st.none() | PORTS) if ip else None,
        from_unix=glob if source == "unix" else None,
        from_abstract=glob if source == "abstract" else None,
        mode=draw(st.none() | st.integers(0, 0o777)) if path else None,
        noremove=draw(st.booleans()) if path else False,
    )


WORDS = st.sampled_from(
    ["in", "out", "tcp", "udp", "stream", "dgram", "reject", "blackhole", "ignore", "systemd", "noremove", "addr=",
     "port=", "from-unix=", "from-abstract=", "path=", "abstract=", "reject=", "systemd=", "vsock=", "tipc=",
     "firecracker=", "mode=", ",", "\\", "%", "%p", ":", "@", "-", "/", "1", "0", "any", "::1", "10.0.0.0/8", "x"]
)


