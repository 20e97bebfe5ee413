"""The rules as a table (``unsock rules --print``)."""

from __future__ import annotations

import errno as errno_module
from collections.abc import Sequence

from ..config import Range
from ..names import CID_NAMES, VMADDR_PORT_ANY
from .model import (
    AbstractAction,
    Action,
    FirecrackerAction,
    PathAction,
    RejectAction,
    Rule,
    SystemdAction,
    TipcAction,
    VsockAction,
)


def describe_action(action: Action) -> str:
    if isinstance(action, PathAction):
        return f"path {action.path}"
    if isinstance(action, AbstractAction):
        return f"abstract @{action.name}"
    if isinstance(action, RejectAction):
        name = errno_module.errorcode.get(action.errno)
        return f"reject {name} ({action.errno})" if name else f"reject {action.errno}"
    if isinstance(action, SystemdAction):
        return "systemd" if action.fdname is None else f"systemd {action.fdname}"
    if isinstance(action, VsockAction):
        port = "any" if action.port == VMADDR_PORT_ANY else action.port
        return f"vsock {CID_NAMES.get(action.cid, str(action.cid))}:{port}"
    if isinstance(action, TipcAction):
        return f"tipc {action.type}:{action.lower}:{action.upper}@{action.scope}"
    if isinstance(action, FirecrackerAction):
        return f"firecracker {action.uds} port {action.port}"
    return action.canonical()


def _shown_range(r: Range) -> str:
    """IPv6 compressed for people (the compiled form spells it in full)."""
    return f"{r.address.compressed}/{r.prefix}"


def format_table(rules: Sequence[Rule]) -> str:
    """The rules as an aligned table, one row each (numbered from 1, as the shim's log numbers them)."""
    if not rules:
        return "no rules: every socket stays as it is\n"
    header = ("#", "direction", "type", "address", "port", "match", "action", "options")
    rows = [header]
    for i, r in enumerate(rules, 1):
        port = "any" if r.port is None else r.canonical_port()
        if r.from_unix is not None:
            source = f"unix {r.from_unix}"
        elif r.from_abstract is not None:
            source = f"abstract @{r.from_abstract}"
        else:
            source = "ip"
        options = [f"mode={r.mode:04o}"] if r.mode is not None else []
        if r.noremove:
            options.append("noremove")
        rows.append((
            str(i),
            r.direction or "both",
            r.sock_type or "any",
            "-" if r.unix_source else (_shown_range(r.addr) if r.addr is not None else "any"),
            "-" if r.unix_source else port,
            source,
            describe_action(r.action),
            " ".join(options) or "-",
        ))
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines) + "\n"
