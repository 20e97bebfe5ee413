"""A control file for people: the lines of ``unsock control show`` and the fields of its ``--json``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..names import CID_NAMES, TIPC_ADDR_ID, TIPC_ADDRTYPE_NAMES, TIPC_SCOPE_NAMES, VMADDR_FLAG_TO_HOST, VMADDR_PORT_ANY
from .addresses import TipcAddress, UnixAddress, VsockAddress
from .params import LEVEL_NAMES, Parameter

if TYPE_CHECKING:
    from .record import ControlFile

_TITLES = {"vsock": "AF_VSOCK", "tipc": "AF_TIPC", "firecracker": "Firecracker vsock proxy"}


def record_dict(record: ControlFile) -> dict[str, Any]:
    """The fields, as ``unsock control show --json`` prints them."""
    return {
        "kind": record.kind,
        "options": record.options,
        "proxy_len": record.proxy_len,
        "dest_len": record.dest_len,
        "options_count": record.options_count,
        "proxy": None if record.proxy is None else address_dict(record.proxy),
        "dest": address_dict(record.dest),
        "parameters": [parameter_dict(p) for p in record.parameters],
    }


def describe_record(record: ControlFile) -> list[str]:
    """Human-readable lines."""
    lines = [f"{_TITLES[record.kind]} control file"]
    if record.proxy is not None:
        assert isinstance(record.dest, VsockAddress)
        lines.append(f"  connect: {describe_address(record.proxy)}, then CONNECT {record.dest.port}")
    else:
        lines.append(f"  bind/connect: {describe_address(record.dest)}")
    for i, p in enumerate(record.parameters, 1):
        lines.append(f"  parameter {i}: {describe_parameter(p)}")
    return lines


def address_dict(address: VsockAddress | TipcAddress | UnixAddress) -> dict[str, Any]:
    if isinstance(address, VsockAddress):
        out: dict[str, Any] = {"family": "AF_VSOCK", "cid": address.cid, "port": address.port}
        if address.cid in CID_NAMES:
            out["cid_name"] = CID_NAMES[address.cid]
        if address.flags:
            out["flags"] = address.flags
        return out
    if isinstance(address, TipcAddress):
        return {
            "family": "AF_TIPC",
            "addrtype": address.addrtype,
            "addrtype_name": TIPC_ADDRTYPE_NAMES.get(address.addrtype, "unknown"),
            "scope": address.scope,
            "scope_name": TIPC_SCOPE_NAMES.get(address.scope, "unknown"),
            "type": address.type,
            "lower": address.lower,
            "upper": address.upper,
        }
    return {"family": "AF_UNIX", "path": address.path}


def describe_address(address: VsockAddress | TipcAddress | UnixAddress) -> str:
    if isinstance(address, VsockAddress):
        cid = f"{address.cid} ({CID_NAMES[address.cid]})" if address.cid in CID_NAMES else str(address.cid)
        port = "any" if address.port == VMADDR_PORT_ANY else str(address.port)
        flags = " to-host" if address.flags & VMADDR_FLAG_TO_HOST else ""
        return f"AF_VSOCK cid {cid} port {port}{flags}"
    if isinstance(address, TipcAddress):
        names = address.field_names()
        values = (address.type, address.lower, address.upper)
        shown = 2 if address.addrtype == TIPC_ADDR_ID else 3
        parts = " ".join(f"{n} {v}" for n, v in zip(names[:shown], values[:shown], strict=True))
        kind = TIPC_ADDRTYPE_NAMES.get(address.addrtype, f"addrtype {address.addrtype}")
        scope = TIPC_SCOPE_NAMES.get(address.scope, str(address.scope))
        return f"AF_TIPC {kind} ({address.addrtype}), {scope} scope ({address.scope}), {parts}"
    return f"AF_UNIX {address.path}"


def parameter_dict(param: Parameter) -> dict[str, Any]:
    encoding, value, optlen = param.decode()
    out: dict[str, Any] = {"level": param.level, "option": param.option}
    if param.level in LEVEL_NAMES:
        out["level_name"] = LEVEL_NAMES[param.level]
    name = param.name.split(":")[1]
    if not name.isdigit():
        out["option_name"] = name
    out.update(encoding=encoding, value=value, optlen=optlen)
    return out


def describe_parameter(param: Parameter) -> str:
    encoding, value, optlen = param.decode()
    shown = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"{param.name}:{shown} ({encoding}, {optlen} bytes)"
