"""The reference of the decision core's ``unsock_plan()`` (``src/core/plan.c``): what an engine
does with one socket call. Both agree on every case of ``tests/vectors/plans.json``, compared
in the decision log's wording (:meth:`Plan.describe`)."""

from __future__ import annotations

import errno
import ipaddress
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..controlfile import ControlFile, ControlFileError, TipcAddress, VsockAddress, read_file
from ..names import TIPC_ADDR_NAME, TIPC_ADDR_NAMESEQ, TIPC_CLUSTER_SCOPE, TIPC_NODE_SCOPE
from .match import expand, match
from .model import (
    PATH_MAX,
    AbstractAction,
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

#: "fastopen": a send with MSG_FASTOPEN on a stream socket not connected yet (TCP Fast Open).
Call = Literal["bind", "connect", "send", "fastopen"]
Domain = Literal["inet", "inet6", "unix"]
PlanKind = Literal["native", "reject", "unix", "blackhole", "record", "systemd"]


@dataclass(frozen=True)
class Query:
    """One socket call: the socket's family and type as the program knows them, whether unsock
    made it a unix socket already, and the address: ``127.0.0.1:80``, ``[::1]:80``, ``/path``
    or ``@name``. ``peer`` is the unix address of a sender a converted datagram socket has seen
    at that IP address (``/path`` or ``@name``)."""

    call: Call
    domain: Domain
    sock_type: str
    address: str
    converted: bool = False
    peer: str | None = None
    connecting: bool = False  # a converted socket whose connect is still under way


@dataclass(frozen=True)
class Plan:
    kind: PlanKind
    rule: int | None = None  # 0-based index of the deciding rule
    errno: int = 0  # of a reject
    outcome: str = "left alone"  # the decision log's words after "->"

    def describe(self) -> str:
        """``rule N -> OUTCOME`` or ``no rule -> OUTCOME``, as the decision log writes it."""
        return f"{'no rule' if self.rule is None else f'rule {self.rule + 1}'} -> {self.outcome}"


@dataclass(frozen=True)
class _Address:
    ip: str | None
    port: int
    unix: tuple[Literal["unix", "abstract"], str] | None


def _address(text: str) -> _Address:
    if text.startswith("/"):
        return _Address(None, 0, ("unix", text))
    if text.startswith("@"):
        return _Address(None, 0, ("abstract", text[1:]))
    host, _, port = text.rpartition(":")
    return _Address(host.strip("[]"), int(port), None)


def _family(ip: str) -> Domain:
    return "inet" if ipaddress.ip_address(ip).version == 4 else "inet6"


def _record_words(record: ControlFile) -> str:
    dest = record.dest
    if isinstance(dest, VsockAddress):
        if record.is_firecracker and record.proxy is not None:
            return f"firecracker {record.proxy.path}:{dest.port}"
        return f"vsock {dest.cid}:{dest.port}"
    assert isinstance(dest, TipcAddress)
    scope = {TIPC_NODE_SCOPE: "node", TIPC_CLUSTER_SCOPE: "cluster"}.get(dest.scope, "zone")
    if dest.addrtype == TIPC_ADDR_NAMESEQ:
        return f"tipc {dest.type}:{dest.lower}:{dest.upper}@{scope}"
    if dest.addrtype == TIPC_ADDR_NAME:
        return f"tipc {dest.type}:{dest.lower}@{scope}"
    return f"tipc socket {dest.lower}:{dest.type}"


def _rule_record_words(rule: Rule, call: Call, port: int) -> str:
    a = rule.action
    if isinstance(a, VsockAction):
        return f"vsock {a.cid}:{port if a.port == '%p' else a.port}"
    if isinstance(a, FirecrackerAction):
        return f"firecracker {a.uds}:{port if a.port == '%p' else a.port}"
    assert isinstance(a, TipcAction)
    lower = port if a.lower == "%p" else a.lower
    if call != "bind":
        return f"tipc {a.type}:{lower}@{a.scope}"
    return f"tipc {a.type}:{lower}:{port if a.upper == '%p' else a.upper}@{a.scope}"


def _unix_words(rule: Rule, sock_type: str, ip: str | None, port: int) -> tuple[str, bool]:
    """``path P`` or ``abstract @N``, and whether it fits in a unix socket address."""
    text = expand(rule, _template_type(sock_type), ip, port)
    fits = len(os.fsencode(text)) <= PATH_MAX
    return (f"path {text}" if isinstance(rule.action, PathAction) else f"abstract @{text}"), fits


def _template_type(sock_type: str) -> Literal["stream", "dgram"]:
    return "dgram" if sock_type == "dgram" else "stream"


def _has_port(rule: Rule) -> bool:
    a = rule.action
    template = a.path if isinstance(a, PathAction) else a.name if isinstance(a, AbstractAction) else ""
    return "%p" in template.replace("%%", "")


def _unix(index: int, rule: Rule, q: Query, ip: str | None, port: int) -> Plan:
    words, fits = _unix_words(rule, q.sock_type, ip, port)
    if not fits:
        return Plan("reject", index, errno.ENAMETOOLONG, "the target is too long for a unix socket address")
    return Plan("unix", index, 0, words)


def _control_file(plan: Plan, q: Query, rule: Rule) -> Plan:
    """A control file at a path target's path says where the socket goes instead."""
    path = plan.outcome.removeprefix("path ")
    try:
        st = os.stat(path)
    except OSError:
        return plan
    if stat.S_ISSOCK(st.st_mode):
        return plan
    err = errno.EADDRINUSE if q.call == "bind" else errno.ECONNREFUSED
    try:
        record = read_file(path)
    except ControlFileError:
        return Plan("reject", plan.rule, err, f"control file {path}: not usable")
    if record.is_firecracker and q.call == "bind":
        return Plan("reject", plan.rule, errno.EINVAL,
                    f"control file {path}: a Firecracker multiplexer only connects")
    return Plan("record", plan.rule, 0, f"control file {path}: {_record_words(record)}")


def _send(index: int, rule: Rule, q: Query, addr: _Address) -> Plan:
    if not isinstance(rule.action, PathAction | AbstractAction):
        return Plan("reject", index, errno.ENETUNREACH,
                    "unreachable: datagrams go to unix addresses only, connect() first")
    if addr.ip is None:
        return _unix(index, rule, q, None, 0)
    if not q.converted and (q.sock_type != "dgram" or _family(addr.ip) != q.domain):
        return Plan("native", index)
    if q.sock_type == "dgram":
        return _unix(index, rule, q, addr.ip, addr.port)
    return Plan("unix", index, 0, "the connected peer (the address is not used)")


def _bind_connect(index: int, rule: Rule, q: Query, addr: _Address) -> Plan:
    assert addr.ip is not None
    a = rule.action
    if isinstance(a, VsockAction | TipcAction | FirecrackerAction):
        return Plan("record", index, 0, _rule_record_words(rule, q.call, addr.port))
    if isinstance(a, BlackholeAction):
        return Plan("blackhole", index, 0, "blackhole")
    if q.call == "bind" and addr.port == 0 and _has_port(rule):
        template = a.path if isinstance(a, PathAction) else f"@{a.name}" if isinstance(a, AbstractAction) else ""
        return Plan("unix", index, 0, f"{'path ' if isinstance(a, PathAction) else 'abstract '}{template}, a free port")
    plan = _unix(index, rule, q, addr.ip, addr.port)
    control = isinstance(a, PathAction) and (q.call == "bind" or q.sock_type == "stream")
    return _control_file(plan, q, rule) if control and plan.kind == "unix" else plan


def _reply(rules: Sequence[Rule], q: Query, addr: _Address) -> Plan:
    """A converted datagram socket sending where no out rule goes: to where an in rule that
    covers the address puts that port."""
    assert addr.ip is not None
    index = match(rules, "in", q.sock_type, (addr.ip, addr.port))  # type: ignore[arg-type]
    if index is None or not isinstance(rules[index].action, PathAction | AbstractAction):
        return Plan("reject", None, errno.ENETUNREACH,
                    "unreachable: a converted socket cannot send to an address no rule converts")
    return _unix(index, rules[index], q, addr.ip, addr.port)


def plan(rules: Sequence[Rule], q: Query) -> Plan:
    """What an engine does with the call ``q`` under ``rules`` (``unsock_plan()``), a control
    file at a path target's path taken into account (``unsock_plan_control_file()``)."""
    if q.call == "fastopen" and (q.converted or q.sock_type != "stream"):
        q = Query("send", q.domain, q.sock_type, q.address, q.converted, q.peer, q.connecting)
    addr = _address(q.address)
    direction: Literal["in", "out"] = "in" if q.call == "bind" else "out"
    where = addr.unix if addr.unix is not None else (addr.ip or "", addr.port)
    index = match(rules, direction, q.sock_type, where)  # type: ignore[arg-type]
    if addr.ip is not None and q.peer is not None and q.call in ("send", "connect"):
        shown = f"abstract {q.peer}" if q.peer.startswith("@") else f"path {q.peer}"
        return Plan("unix", None, 0, f"{shown}, a sender seen before")
    if index is None:
        if addr.ip is not None and q.converted and q.sock_type == "dgram" and q.call in ("send", "connect"):
            return _reply(rules, q, addr)
        if addr.ip is not None and q.converted and q.call == "send":
            return Plan("reject", None, errno.ENETUNREACH,
                        "unreachable: a converted socket cannot send to an address no rule converts")
        return Plan("native")
    rule = rules[index]
    a = rule.action
    if isinstance(a, IgnoreAction):
        return Plan("native", index)
    if isinstance(a, RejectAction):
        return Plan("reject", index, a.errno, f"reject {os.strerror(a.errno)}")
    if isinstance(a, SystemdAction):
        return Plan("systemd", index, 0, "systemd socket" + (f" {a.fdname}" if a.fdname else ""))
    if q.call == "send":
        return _send(index, rule, q, addr)
    if addr.ip is None:
        if isinstance(a, BlackholeAction) and q.call == "bind":
            return Plan("blackhole", index, 0, "blackhole")
        if not isinstance(a, PathAction | AbstractAction):
            return Plan("reject", index, errno.EAFNOSUPPORT, "refused: a unix socket takes unix addresses only")
        return _unix(index, rule, q, None, 0)
    if q.converted:
        if q.call == "bind":
            return Plan("reject", index, errno.EINVAL, "refused: the socket is bound or connected already")
        if q.connecting:
            return Plan("reject", index, errno.EALREADY, "refused: its connect is under way")
        if not isinstance(a, PathAction | AbstractAction):
            return Plan("reject", index, errno.EINVAL, "refused: the socket is already a unix socket")
        return _unix(index, rule, q, addr.ip, addr.port)
    if _family(addr.ip) != q.domain or q.sock_type not in ("stream", "dgram"):
        return Plan("native", index, 0, "left alone: not a socket unsock converts")
    return _bind_connect(index, rule, q, addr)
