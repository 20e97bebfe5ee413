"""Control files as rule targets: the action a control file at a ``path=`` target stands for
(docs/rules.md, "Control files are rules too")."""

from __future__ import annotations

from ..controlfile import ControlFile, TipcAddress, VsockAddress
from ..names import RULE_SCOPE_NAMES, TIPC_ADDR_ID, TIPC_ADDR_NAME
from .model import Action, FirecrackerAction, TipcAction, VsockAction


def control_action(record: ControlFile) -> tuple[Action | None, str]:
    """The rule action that does what ``record`` does, and what it leaves out ("" if nothing);
    ``None`` with the reason when no rule can say it."""
    dest = record.dest
    left_out = ""
    if record.parameters:
        n = len(record.parameters)
        left_out = f"its {n} socket option{'' if n == 1 else 's'} (no rule sets options)"
    if isinstance(dest, VsockAddress):
        if dest.flags:
            return None, "VSOCK flags have no rule form"
        if record.proxy is not None:
            return FirecrackerAction(record.proxy.path, dest.port), left_out
        return VsockAction(dest.cid, dest.port), left_out
    assert isinstance(dest, TipcAddress)
    if dest.addrtype == TIPC_ADDR_ID:
        return None, "a TIPC socket id has no rule form"
    if dest.scope not in RULE_SCOPE_NAMES:
        return None, f"TIPC scope {dest.scope} has no rule form (cluster or node)"
    if dest.addrtype == TIPC_ADDR_NAME:
        if dest.upper:
            return None, "a TIPC lookup domain has no rule form"
        return TipcAction(dest.type, dest.lower, dest.lower, RULE_SCOPE_NAMES[dest.scope]), left_out
    return TipcAction(dest.type, dest.lower, dest.upper, RULE_SCOPE_NAMES[dest.scope]), left_out
