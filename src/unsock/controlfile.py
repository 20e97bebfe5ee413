"""Control files: the 452-byte ``struct unsock_socket_info`` of the original unsock.

A control file sits where a converted socket would be (``DIR/PORT.sock``) and says where the
socket really goes: an ``AF_VSOCK`` or ``AF_TIPC`` address, or (Firecracker) a unix socket of a
vsock multiplexer plus the vsock port to ask it for. The record is packed, in native byte order
(the test vectors are little-endian), and byte-compatible with the original's ``src/unsock.h``::

    offset size
         0    8  magicHeader   0x4b534e55
         8    8  options       bit 0: Firecracker proxy
        16    4  proxyLen      length passed to connect() with the proxy address
        20    4  destLen       length passed to bind()/connect() with the destination
        24    4  optionsCount  written as the number of parameters; the original ignores it
        28    4  reserved0
        32  128  proxy         struct sockaddr_un (Firecracker only), zero-padded
       160  128  dest          struct sockaddr_vm or struct sockaddr_tipc, zero-padded
       288  160  parameters[4] {uint32 level; uint32 option; 32-byte value}
       448    4  reserved1

:class:`ControlFile` is the typed model; :meth:`ControlFile.unpack` and :func:`read_file` accept
exactly what :meth:`ControlFile.validate` accepts and raise :class:`ControlFileError` with one
line saying what is wrong otherwise.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import struct
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from .errors import UnsockError

MAGIC = 0x4B534E55
RECORD_SIZE = 452
OPT_FIRECRACKER_PROXY = 1
KNOWN_OPTIONS = OPT_FIRECRACKER_PROXY
MAX_PARAMETERS = 4
SOCKADDR_AREA = 128
VALUE_SIZE = 32

AF_UNIX = 1
AF_TIPC = 30
AF_VSOCK = 40
FAMILY_NAMES = {AF_UNIX: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", AF_TIPC: "AF_TIPC", AF_VSOCK: "AF_VSOCK"}

SUN_PATH_MAX = 108
SOCKADDR_UN_SIZE = 2 + SUN_PATH_MAX  # 110

VMADDR_CID_HYPERVISOR = 0
VMADDR_CID_LOCAL = 1
VMADDR_CID_HOST = 2
VMADDR_CID_ANY = 0xFFFFFFFF
VMADDR_PORT_ANY = 0xFFFFFFFF
VMADDR_FLAG_TO_HOST = 0x01
CID_NAMES = {
    VMADDR_CID_HYPERVISOR: "hypervisor",
    VMADDR_CID_LOCAL: "local",
    VMADDR_CID_HOST: "host",
    VMADDR_CID_ANY: "any",
}

TIPC_ADDR_NAMESEQ = 1  # service range {type, lower, upper}
TIPC_ADDR_NAME = 2  # service address {{type, instance}, domain}
TIPC_ADDR_ID = 3  # socket id {ref, node}
TIPC_ADDRTYPE_NAMES = {TIPC_ADDR_NAMESEQ: "service range", TIPC_ADDR_NAME: "service address", TIPC_ADDR_ID: "socket id"}
TIPC_ZONE_SCOPE = 1
TIPC_CLUSTER_SCOPE = 2
TIPC_NODE_SCOPE = 3
TIPC_SCOPE_NAMES = {TIPC_ZONE_SCOPE: "zone", TIPC_CLUSTER_SCOPE: "cluster", TIPC_NODE_SCOPE: "node"}

_U32 = 0xFFFFFFFF
_HEADER = struct.Struct("=QQIIII")  # 32 bytes
_TRAILER = struct.Struct("=I")
_PARAM_HEAD = struct.Struct("=II")
_SOCKADDR_VM = struct.Struct("=HHIIB3s")  # 16 bytes
_SOCKADDR_TIPC = struct.Struct("=HBbIII")  # 16 bytes
_PROXY_AT = _HEADER.size
_DEST_AT = _PROXY_AT + SOCKADDR_AREA
_PARAMS_AT = _DEST_AT + SOCKADDR_AREA
_PARAM_SIZE = _PARAM_HEAD.size + VALUE_SIZE
_TRAILER_AT = _PARAMS_AT + MAX_PARAMETERS * _PARAM_SIZE
assert _TRAILER_AT + _TRAILER.size == RECORD_SIZE

_RECREATE = "recreate it with 'unsock control'"


class ControlFileError(UnsockError):
    """A control file (or the values for one) that is not valid; one line, what and what to do."""


def _any(value: int) -> int:
    """-1 as the "any" value of a 32-bit CID or port field (0xffffffff)."""
    return _U32 if value == -1 else value


def _u32(value: int, what: str) -> None:
    if not 0 <= value <= _U32:
        raise ControlFileError(f"{what} {value} is out of range: use a number from 0 to {_U32}")


# --------------------------------------------------------------------------- addresses


@dataclass(frozen=True)
class VsockAddress:
    """``struct sockaddr_vm``: a port and a context id (``VMADDR_CID_ANY`` = listen on any)."""

    port: int
    cid: int = VMADDR_CID_ANY
    flags: int = 0

    family: ClassVar[int] = AF_VSOCK
    SIZE: ClassVar[int] = _SOCKADDR_VM.size

    def validate(self) -> None:
        _u32(self.port, "VSOCK port")
        _u32(self.cid, "VSOCK CID")
        if self.flags & ~VMADDR_FLAG_TO_HOST & 0xFF or not 0 <= self.flags <= 0xFF:
            raise ControlFileError(f"VSOCK flags 0x{self.flags:x} are unknown: only 0x1 (VMADDR_FLAG_TO_HOST) exists")

    def pack(self) -> bytes:
        return _SOCKADDR_VM.pack(AF_VSOCK, 0, self.port, self.cid, self.flags, b"\0\0\0")

    @classmethod
    def unpack(cls, data: bytes) -> VsockAddress:
        _, reserved, port, cid, flags, zero = _SOCKADDR_VM.unpack_from(data)
        if reserved or zero != b"\0\0\0":
            raise ControlFileError(f"the VSOCK address has non-zero reserved bytes: {_RECREATE}")
        return cls(port=port, cid=cid, flags=flags)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"family": "AF_VSOCK", "cid": self.cid, "port": self.port}
        if self.cid in CID_NAMES:
            out["cid_name"] = CID_NAMES[self.cid]
        if self.flags:
            out["flags"] = self.flags
        return out

    def describe(self) -> str:
        cid = f"{self.cid} ({CID_NAMES[self.cid]})" if self.cid in CID_NAMES else str(self.cid)
        port = "any" if self.port == VMADDR_PORT_ANY else str(self.port)
        flags = " to-host" if self.flags & VMADDR_FLAG_TO_HOST else ""
        return f"AF_VSOCK cid {cid} port {port}{flags}"


@dataclass(frozen=True)
class TipcAddress:
    """``struct sockaddr_tipc``: address type, scope and the three integers of its address
    union, stored in order whatever the type (as the original does):

    - service range (1): type, lower, upper
    - service address (2): type, instance, domain
    - socket id (3): ref, node, (unused)
    """

    addrtype: int
    scope: int
    type: int
    lower: int
    upper: int = 0

    family: ClassVar[int] = AF_TIPC
    SIZE: ClassVar[int] = _SOCKADDR_TIPC.size

    def validate(self) -> None:
        if self.addrtype not in TIPC_ADDRTYPE_NAMES:
            raise ControlFileError(
                f"TIPC address type {self.addrtype} is unknown: use 1 (service range), 2 (service address) "
                "or 3 (socket id)"
            )
        if self.scope not in TIPC_SCOPE_NAMES:
            raise ControlFileError(f"TIPC scope {self.scope} is unknown: use 2 (cluster) or 3 (node)")
        for name, value in zip(self._names(), (self.type, self.lower, self.upper), strict=True):
            _u32(value, f"TIPC {name}")
        if self.addrtype == TIPC_ADDR_NAMESEQ and self.lower > self.upper:
            raise ControlFileError(
                f"TIPC service range {self.lower}..{self.upper} is empty: give an upper bound >= the lower one"
            )

    def _names(self) -> tuple[str, str, str]:
        if self.addrtype == TIPC_ADDR_NAME:
            return ("type", "instance", "domain")
        if self.addrtype == TIPC_ADDR_ID:
            return ("ref", "node", "unused")
        return ("type", "lower", "upper")

    def pack(self) -> bytes:
        return _SOCKADDR_TIPC.pack(AF_TIPC, self.addrtype, self.scope, self.type, self.lower, self.upper)

    @classmethod
    def unpack(cls, data: bytes) -> TipcAddress:
        _, addrtype, scope, a, b, c = _SOCKADDR_TIPC.unpack_from(data)
        return cls(addrtype=addrtype, scope=scope, type=a, lower=b, upper=c)

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": "AF_TIPC",
            "addrtype": self.addrtype,
            "addrtype_name": TIPC_ADDRTYPE_NAMES.get(self.addrtype, "unknown"),
            "scope": self.scope,
            "scope_name": TIPC_SCOPE_NAMES.get(self.scope, "unknown"),
            "type": self.type,
            "lower": self.lower,
            "upper": self.upper,
        }

    def describe(self) -> str:
        names = self._names()
        values = (self.type, self.lower, self.upper)
        shown = 2 if self.addrtype == TIPC_ADDR_ID else 3
        parts = " ".join(f"{n} {v}" for n, v in zip(names[:shown], values[:shown], strict=True))
        kind = TIPC_ADDRTYPE_NAMES.get(self.addrtype, f"addrtype {self.addrtype}")
        scope = TIPC_SCOPE_NAMES.get(self.scope, str(self.scope))
        return f"AF_TIPC {kind} ({self.addrtype}), {scope} scope ({self.scope}), {parts}"


@dataclass(frozen=True)
class UnixAddress:
    """``struct sockaddr_un`` with a path (the Firecracker multiplexer's socket)."""

    path: str

    family: ClassVar[int] = AF_UNIX
    SIZE: ClassVar[int] = SOCKADDR_UN_SIZE

    @property
    def raw_path(self) -> bytes:
        return os.fsencode(self.path)

    def validate(self) -> None:
        raw = self.raw_path
        if not raw:
            raise ControlFileError("the unix socket path of the proxy is empty: give the multiplexer's socket path")
        if b"\0" in raw:
            raise ControlFileError("the unix socket path of the proxy contains a NUL byte: give a plain path")
        if len(raw) > SUN_PATH_MAX:
            raise ControlFileError(
                f"the unix socket path {self.path} is {len(raw)} bytes long, at most {SUN_PATH_MAX} fit: "
                "use a shorter path"
            )

    def pack(self) -> bytes:
        return struct.pack("=H", AF_UNIX) + self.raw_path.ljust(SUN_PATH_MAX, b"\0")

    @classmethod
    def unpack(cls, data: bytes) -> UnixAddress:
        sun_path = data[2:SOCKADDR_UN_SIZE]
        raw, _, rest = sun_path.partition(b"\0")
        if rest.strip(b"\0"):
            raise ControlFileError(f"the proxy's unix socket path has bytes after its end: {_RECREATE}")
        return cls(os.fsdecode(raw))

    def to_dict(self) -> dict[str, Any]:
        return {"family": "AF_UNIX", "path": self.path}

    def describe(self) -> str:
        return f"AF_UNIX {self.path}"


Dest = VsockAddress | TipcAddress
_DEST_TYPES: dict[int, type[VsockAddress] | type[TipcAddress]] = {AF_VSOCK: VsockAddress, AF_TIPC: TipcAddress}


# --------------------------------------------------------------------------- parameters

SOL_SOCKET = 1
SOL_TCP = 6
SOL_TIPC = 271
SOL_VSOCK = 287  # the kernel also takes AF_VSOCK (40) as the level of vsock options

LEVELS: dict[str, int] = {
    "SOL_SOCKET": SOL_SOCKET,
    "SOL_TCP": SOL_TCP,
    "IPPROTO_TCP": SOL_TCP,
    "SOL_TIPC": SOL_TIPC,
    "AF_VSOCK": AF_VSOCK,
    "SOL_VSOCK": SOL_VSOCK,
}
LEVEL_NAMES = {
    SOL_SOCKET: "SOL_SOCKET",
    SOL_TCP: "SOL_TCP",
    SOL_TIPC: "SOL_TIPC",
    AF_VSOCK: "AF_VSOCK",
    SOL_VSOCK: "SOL_VSOCK",
}

_VSOCK_OPTIONS = {
    # SO_VM_SOCKETS_BUFFER_SIZE is option 0, which the original skips (it applies a parameter
    # only when level and option are both non-zero), so it cannot be stored.
    "SO_VM_SOCKETS_BUFFER_MIN_SIZE": 1,
    "SO_VM_SOCKETS_BUFFER_MAX_SIZE": 2,
    "SO_VM_SOCKETS_CONNECT_TIMEOUT": 6,
}
#: Socket option names per level (Linux values of x86_64 and aarch64).
OPTIONS: dict[int, dict[str, int]] = {
    SOL_SOCKET: {
        "SO_DEBUG": 1, "SO_REUSEADDR": 2, "SO_DONTROUTE": 5, "SO_BROADCAST": 6, "SO_SNDBUF": 7,
        "SO_RCVBUF": 8, "SO_KEEPALIVE": 9, "SO_OOBINLINE": 10, "SO_PRIORITY": 12, "SO_REUSEPORT": 15,
        "SO_PASSCRED": 16, "SO_RCVLOWAT": 18, "SO_RCVTIMEO": 20, "SO_SNDTIMEO": 21, "SO_SNDBUFFORCE": 32,
        "SO_RCVBUFFORCE": 33, "SO_MARK": 36, "SO_BUSY_POLL": 46, "SO_MAX_PACING_RATE": 47,
        "SO_INCOMING_CPU": 49, "SO_ZEROCOPY": 60,
    },
    SOL_TCP: {
        "TCP_NODELAY": 1, "TCP_MAXSEG": 2, "TCP_CORK": 3, "TCP_KEEPIDLE": 4, "TCP_KEEPINTVL": 5,
        "TCP_KEEPCNT": 6, "TCP_USER_TIMEOUT": 18, "TCP_NOTSENT_LOWAT": 25,
    },
    SOL_TIPC: {
        "TIPC_IMPORTANCE": 127, "TIPC_SRC_DROPPABLE": 128, "TIPC_DEST_DROPPABLE": 129,
        "TIPC_CONN_TIMEOUT": 130, "TIPC_MCAST_BROADCAST": 133, "TIPC_MCAST_REPLICAST": 134,
        "TIPC_GROUP_JOIN": 135, "TIPC_GROUP_LEAVE": 136, "TIPC_NODELAY": 138,
    },
    AF_VSOCK: _VSOCK_OPTIONS,
    SOL_VSOCK: _VSOCK_OPTIONS,
}  # fmt: skip

#: How a value is stored, by (level, option); anything else is an integer.
TIMEVAL_OPTIONS = {(SOL_SOCKET, 20), (SOL_SOCKET, 21), (AF_VSOCK, 6), (SOL_VSOCK, 6)}
UINT64_OPTIONS = {(lvl, opt) for lvl in (AF_VSOCK, SOL_VSOCK) for opt in (1, 2)}
GROUP_REQ_OPTIONS = {(SOL_TIPC, 135)}

_TIMEVAL = struct.Struct("=qq")  # struct timeval on 64-bit Linux
_GROUP_REQ = struct.Struct("=IIII")  # struct tipc_group_req {type, instance, scope, flags}
_I32 = struct.Struct("=i")
_I64 = struct.Struct("=q")
_U64 = struct.Struct("=Q")
_USEC = 1_000_000
_PARAM_FORM = "give LEVEL:OPTION:VALUE, e.g. SOL_SOCKET:SO_RCVTIMEO:1.5 or SOL_SOCKET:SO_RCVBUF:65536"


def _number(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise ValueError(text) from None


@dataclass(frozen=True)
class Parameter:
    """One ``setsockopt`` the shim runs on the new socket: level, option and the raw 32-byte
    value, of which :attr:`encoding` says how it is read:

    - ``timeval`` (SO_RCVTIMEO, SO_SNDTIMEO, SO_VM_SOCKETS_CONNECT_TIMEOUT): seconds, optlen 16
    - ``tipc_group_req`` (TIPC_GROUP_JOIN): type, instance, scope, flags, optlen 16
    - ``uint64`` (the vsock buffer sizes, which the kernel reads as 64-bit): optlen 8
    - ``int32``: any other option, when bytes 4..31 are zero: optlen 4
    - ``int64``: any other option whose value needs 64 bits: optlen 8
    """

    level: int
    option: int
    value: bytes

    def kind(self) -> str:
        key = (self.level, self.option)
        if key in TIMEVAL_OPTIONS:
            return "timeval"
        if key in GROUP_REQ_OPTIONS:
            return "tipc_group_req"
        if key in UINT64_OPTIONS:
            return "uint64"
        return "int"

    @property
    def name(self) -> str:
        level = LEVEL_NAMES.get(self.level, str(self.level))
        names = {v: k for k, v in OPTIONS.get(self.level, {}).items()}
        return f"{level}:{names.get(self.option, str(self.option))}"

    def decode(self) -> tuple[str, int | float | list[int], int]:
        """(encoding, value, optlen); ControlFileError if the bytes are not a value of the option."""
        v = self.value
        bad = f"parameter {self.name} "
        if len(v) != VALUE_SIZE:
            raise ControlFileError(f"{bad}has a {len(v)}-byte value, {VALUE_SIZE} expected")
        kind = self.kind()
        if kind == "timeval":
            sec, usec = _TIMEVAL.unpack_from(v)
            if v[_TIMEVAL.size :].strip(b"\0") or sec < 0 or not 0 <= usec < _USEC:
                raise ControlFileError(f"{bad}holds an invalid timeval (sec {sec}, usec {usec}): {_RECREATE}")
            seconds: float | int = sec if usec == 0 else float(Decimal(sec) + Decimal(usec) / _USEC)
            return "timeval", seconds, _TIMEVAL.size
        if kind == "tipc_group_req":
            if v[_GROUP_REQ.size :].strip(b"\0"):
                raise ControlFileError(f"{bad}has bytes after its tipc_group_req: {_RECREATE}")
            return "tipc_group_req", list(_GROUP_REQ.unpack_from(v)), _GROUP_REQ.size
        if v[8:].strip(b"\0"):
            raise ControlFileError(f"{bad}has a value longer than 8 bytes, which is not an integer: {_RECREATE}")
        if kind == "uint64":
            return "uint64", _U64.unpack_from(v)[0], 8
        if not v[4:8].strip(b"\0"):
            return "int32", _I32.unpack_from(v)[0], 4
        return "int64", _I64.unpack_from(v)[0], 8

    def validate(self) -> None:
        if self.level == 0 or self.option == 0:
            raise ControlFileError(
                f"parameter {self.name} has level or option 0, which the shim skips: "
                "only options with a non-zero level and number can be stored"
            )
        _u32(self.level, "parameter level")
        _u32(self.option, "parameter option")
        self.decode()

    def to_dict(self) -> dict[str, Any]:
        encoding, value, optlen = self.decode()
        out: dict[str, Any] = {"level": self.level, "option": self.option}
        if self.level in LEVEL_NAMES:
            out["level_name"] = LEVEL_NAMES[self.level]
        name = self.name.split(":")[1]
        if not name.isdigit():
            out["option_name"] = name
        out.update(encoding=encoding, value=value, optlen=optlen)
        return out

    def describe(self) -> str:
        encoding, value, optlen = self.decode()
        shown = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        return f"{self.name}:{shown} ({encoding}, {optlen} bytes)"

    # ---- building

    @classmethod
    def of(cls, level: int, option: int, value: int | float | str | Decimal | list[int] | tuple[int, ...]) -> Parameter:
        """A parameter with ``value`` encoded as the option wants it (see the class doc)."""
        probe = cls(level, option, bytes(VALUE_SIZE))
        kind = probe.kind()
        what = f"the value of {probe.name}"
        if kind == "timeval":
            try:
                seconds = Decimal(str(value))
            except InvalidOperation:
                raise ControlFileError(f"{what} '{value}' is not a number of seconds: give e.g. 1.5") from None
            if not seconds.is_finite() or seconds < 0 or seconds != seconds.quantize(Decimal("0.000001")):
                raise ControlFileError(
                    f"{what} '{value}' is not a timeout: give seconds >= 0 with at most 6 decimals, e.g. 1.5"
                )
            sec = int(seconds)
            usec = int((seconds - sec) * _USEC)
            if sec >= 2**63:
                raise ControlFileError(f"{what} '{value}' is too large: give fewer seconds")
            raw = _TIMEVAL.pack(sec, usec)
        elif kind == "tipc_group_req":
            parts = list(value) if isinstance(value, list | tuple) else str(value).split(",")
            try:
                ints = [v if isinstance(v, int) else _number(v.strip()) for v in parts]
            except ValueError:
                ints = []
            if len(ints) not in (3, 4) or any(not 0 <= i <= _U32 for i in ints):
                raise ControlFileError(
                    f"{what} '{value}' is not a TIPC group: give TYPE,INSTANCE,SCOPE[,FLAGS], e.g. 1000,1,2"
                )
            raw = _GROUP_REQ.pack(*ints, *([0] * (4 - len(ints))))
        else:
            try:
                n = value if isinstance(value, int) else _number(str(value))
            except ValueError:
                raise ControlFileError(f"{what} '{value}' is not an integer: give a number such as 65536") from None
            if kind == "uint64":
                if not 0 <= n < 2**64:
                    raise ControlFileError(f"{what} {n} is out of range: give a number from 0 to {2**64 - 1}")
                raw = _U64.pack(n)
            elif -(2**31) <= n < 2**31:
                raw = _I32.pack(n)
            elif -(2**63) <= n < 2**63 and not 2**31 <= n < 2**32:
                raw = _I64.pack(n)
            else:
                raise ControlFileError(
                    f"{what} {n} is out of range: give an int32 (-2147483648 to 2147483647) "
                    "or a 64-bit value beyond 4294967295"
                )
        param = cls(level, option, raw.ljust(VALUE_SIZE, b"\0"))
        param.validate()
        return param

    @classmethod
    def parse(cls, text: str) -> Parameter:
        """``LEVEL:OPTION:VALUE``, each of LEVEL and OPTION a name or a number."""
        parts = text.split(":", 2)
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise ControlFileError(f"--param '{text}' is not LEVEL:OPTION:VALUE: {_PARAM_FORM}")
        level_s, option_s, value_s = (p.strip() for p in parts)
        level = LEVELS.get(level_s.upper())
        if level is None:
            try:
                level = _number(level_s)
            except ValueError:
                raise ControlFileError(
                    f"--param '{text}': unknown level {level_s}: use one of {', '.join(LEVELS)} or a number"
                ) from None
        option = OPTIONS.get(level, {}).get(option_s.upper())
        if option is None:
            try:
                option = _number(option_s)
            except ValueError:
                known = ", ".join(OPTIONS.get(level, {})) or "none known"
                raise ControlFileError(
                    f"--param '{text}': unknown option {option_s} at level {level_s}: use a number or one of: {known}"
                ) from None
        if level == 0 or option == 0:
            raise ControlFileError(
                f"--param '{text}': level and option must both be non-zero, the shim skips a parameter with a 0"
            )
        if not (0 < level <= _U32 and 0 < option <= _U32):
            raise ControlFileError(f"--param '{text}': level and option must be numbers from 1 to {_U32}")
        return cls.of(level, option, value_s)


# --------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class ControlFile:
    """One ``struct unsock_socket_info``.

    ``proxy_len``, ``dest_len`` and ``options_count`` default (when left at -1) to what the
    original writes: ``sizeof(struct sockaddr_un)`` for a proxy (0 without), the size of the
    destination's sockaddr, and the number of parameters.
    """

    dest: Dest
    proxy: UnixAddress | None = None
    options: int = 0
    parameters: tuple[Parameter, ...] = ()
    proxy_len: int = -1
    dest_len: int = -1
    options_count: int = -1

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", tuple(self.parameters))
        if self.proxy_len == -1:
            object.__setattr__(self, "proxy_len", SOCKADDR_UN_SIZE if self.proxy is not None else 0)
        if self.dest_len == -1:
            object.__setattr__(self, "dest_len", self.dest.SIZE)
        if self.options_count == -1:
            object.__setattr__(self, "options_count", len(self.parameters))

    # ---- builders

    @classmethod
    def vsock(cls, port: int, cid: int = VMADDR_CID_ANY, parameters: tuple[Parameter, ...] = ()) -> ControlFile:
        """bind/connect through AF_VSOCK (CID any = -1/0xffffffff, host 2, local 1, or a guest's CID)."""
        record = cls(dest=VsockAddress(port=_any(port), cid=_any(cid)), parameters=parameters)
        record.validate()
        return record

    @classmethod
    def tipc(
        cls,
        type: int,
        lower: int,
        upper: int | None = None,
        addrtype: int = TIPC_ADDR_NAME,
        scope: int = TIPC_CLUSTER_SCOPE,
        parameters: tuple[Parameter, ...] = (),
    ) -> ControlFile:
        """bind/connect through AF_TIPC. ``upper`` defaults to ``lower`` for a service range and
        to 0 (the domain: look up everywhere) otherwise."""
        if upper is None:
            upper = lower if addrtype == TIPC_ADDR_NAMESEQ else 0
        record = cls(dest=TipcAddress(addrtype, scope, type, lower, upper), parameters=parameters)
        record.validate()
        return record

    @classmethod
    def firecracker(cls, uds: str, port: int, parameters: tuple[Parameter, ...] = ()) -> ControlFile:
        """connect through a Firecracker vsock multiplexer at ``uds`` (``CONNECT port``). The path
        is stored as given: resolve it first (see :func:`resolve_uds`)."""
        record = cls(
            dest=VsockAddress(port=_any(port), cid=VMADDR_CID_ANY),
            proxy=UnixAddress(uds),
            options=OPT_FIRECRACKER_PROXY,
            parameters=parameters,
        )
        record.validate()
        return record

    # ---- properties

    @property
    def is_firecracker(self) -> bool:
        return bool(self.options & OPT_FIRECRACKER_PROXY)

    @property
    def kind(self) -> str:
        if self.is_firecracker:
            return "firecracker"
        return "vsock" if isinstance(self.dest, VsockAddress) else "tipc"

    # ---- validation

    def validate(self) -> None:
        """Raise ControlFileError if the record is not one the shim can use."""
        if self.options & ~KNOWN_OPTIONS:
            raise ControlFileError(
                f"unknown option bits 0x{self.options & ~KNOWN_OPTIONS:x} are set (only bit 0, Firecracker proxy, "
                f"exists): the file comes from a newer or different tool; {_RECREATE}"
            )
        if not isinstance(self.dest, VsockAddress | TipcAddress):
            raise ControlFileError(f"the destination must be a VSOCK or TIPC address: {_RECREATE}")
        if self.is_firecracker:
            if self.proxy is None or self.proxy_len == 0:
                raise ControlFileError(
                    "the Firecracker option is set but there is no unix proxy address: "
                    "recreate it with 'unsock control firecracker'"
                )
            if not isinstance(self.dest, VsockAddress):
                raise ControlFileError(
                    "the Firecracker option is set but the destination is not a VSOCK port: "
                    "recreate it with 'unsock control firecracker'"
                )
        elif self.proxy is not None or self.proxy_len != 0:
            raise ControlFileError(
                f"a proxy address is set (proxyLen {self.proxy_len}) without the Firecracker option: {_RECREATE}"
            )
        self.dest.validate()
        if self.is_firecracker and isinstance(self.dest, VsockAddress) and self.dest.port == VMADDR_PORT_ANY:
            raise ControlFileError("a Firecracker file needs a definite VSOCK port, not 'any': give --port")
        if not self.dest.SIZE <= self.dest_len <= SOCKADDR_AREA:
            raise ControlFileError(
                f"destLen {self.dest_len} is out of range for {FAMILY_NAMES[self.dest.family]} "
                f"({self.dest.SIZE} to {SOCKADDR_AREA}): {_RECREATE}"
            )
        if self.proxy is not None:
            self.proxy.validate()
            least = 2 + len(self.proxy.raw_path)
            if not least <= self.proxy_len <= SOCKADDR_UN_SIZE:
                raise ControlFileError(
                    f"proxyLen {self.proxy_len} is out of range for the proxy path ({least} to {SOCKADDR_UN_SIZE}): "
                    f"{_RECREATE}"
                )
        if len(self.parameters) > MAX_PARAMETERS:
            raise ControlFileError(f"{len(self.parameters)} parameters given, at most {MAX_PARAMETERS} fit")
        if self.options_count not in (0, len(self.parameters)):
            raise ControlFileError(
                f"optionsCount is {self.options_count} but the file holds {len(self.parameters)} parameter(s): "
                f"{_RECREATE}"
            )
        for p in self.parameters:
            p.validate()

    # ---- bytes

    def pack(self) -> bytes:
        """The 452 bytes of the record (validated first)."""
        self.validate()
        out = bytearray(RECORD_SIZE)
        _HEADER.pack_into(out, 0, MAGIC, self.options, self.proxy_len, self.dest_len, self.options_count, 0)
        if self.proxy is not None:
            out[_PROXY_AT : _PROXY_AT + SOCKADDR_UN_SIZE] = self.proxy.pack()
        dest = self.dest.pack()
        out[_DEST_AT : _DEST_AT + len(dest)] = dest
        for i, p in enumerate(self.parameters):
            at = _PARAMS_AT + i * _PARAM_SIZE
            _PARAM_HEAD.pack_into(out, at, p.level, p.option)
            out[at + _PARAM_HEAD.size : at + _PARAM_SIZE] = p.value
        return bytes(out)

    @classmethod
    def unpack(cls, data: bytes) -> ControlFile:
        """The record in ``data``; ControlFileError (one line) if it is not a valid one."""
        n = len(data)
        if n == 0:
            raise ControlFileError(f"the file is empty, a control file has {RECORD_SIZE} bytes: {_RECREATE}")
        if n < RECORD_SIZE:
            raise ControlFileError(f"the file is truncated: {n} of {RECORD_SIZE} bytes: {_RECREATE}")
        if n > RECORD_SIZE:
            raise ControlFileError(
                f"the file has the wrong size: {n} bytes, a control file has exactly {RECORD_SIZE}: "
                "it is not an unsock control file"
            )
        magic, options, proxy_len, dest_len, options_count, reserved0 = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise ControlFileError(
                f"wrong magic 0x{magic:x} (expected 0x{MAGIC:x}): it is not an unsock control file"
            )
        (reserved1,) = _TRAILER.unpack_from(data, _TRAILER_AT)
        if reserved0 or reserved1:
            raise ControlFileError(f"the reserved fields are not zero: {_RECREATE}")
        if options & ~KNOWN_OPTIONS:
            raise ControlFileError(
                f"unknown option bits 0x{options & ~KNOWN_OPTIONS:x} are set (only bit 0, Firecracker proxy, "
                f"exists): the file comes from a newer or different tool; {_RECREATE}"
            )
        for what, length in (("proxyLen", proxy_len), ("destLen", dest_len)):
            if length > SOCKADDR_AREA:
                raise ControlFileError(f"{what} {length} is out of range (at most {SOCKADDR_AREA}): {_RECREATE}")

        dest_area = data[_DEST_AT:_PARAMS_AT]
        (family,) = struct.unpack_from("=H", dest_area)
        dest_type = _DEST_TYPES.get(family)
        if dest_type is None:
            name = FAMILY_NAMES.get(family, "unknown")
            raise ControlFileError(
                f"the destination family {family} ({name}) is not supported: a control file points to "
                f"AF_VSOCK ({AF_VSOCK}) or AF_TIPC ({AF_TIPC}); {_RECREATE}"
            )
        if dest_area[dest_type.SIZE :].strip(b"\0"):
            raise ControlFileError(f"the destination has bytes after its {dest_type.SIZE}-byte address: {_RECREATE}")
        dest = dest_type.unpack(dest_area)

        proxy_area = data[_PROXY_AT:_DEST_AT]
        proxy: UnixAddress | None = None
        if proxy_len == 0 and not options & OPT_FIRECRACKER_PROXY:
            if proxy_area.strip(b"\0"):
                raise ControlFileError(f"proxyLen is 0 but a proxy address is present: {_RECREATE}")
        elif proxy_area.strip(b"\0"):
            (pfamily,) = struct.unpack_from("=H", proxy_area)
            if pfamily != AF_UNIX:
                raise ControlFileError(
                    f"the proxy address has family {pfamily} ({FAMILY_NAMES.get(pfamily, 'unknown')}), "
                    "not AF_UNIX: recreate it with 'unsock control firecracker'"
                )
            if proxy_area[SOCKADDR_UN_SIZE:].strip(b"\0"):
                raise ControlFileError(f"the proxy has bytes after its unix address: {_RECREATE}")
            proxy = UnixAddress.unpack(proxy_area)

        params: list[Parameter] = []
        empty_seen = 0
        for i in range(MAX_PARAMETERS):
            at = _PARAMS_AT + i * _PARAM_SIZE
            slot = data[at : at + _PARAM_SIZE]
            if not slot.strip(b"\0"):
                empty_seen = empty_seen or i + 1
                continue
            if empty_seen:
                raise ControlFileError(
                    f"parameter slot {i + 1} is used but slot {empty_seen} before it is empty: {_RECREATE}"
                )
            level, option = _PARAM_HEAD.unpack_from(slot)
            params.append(Parameter(level, option, bytes(slot[_PARAM_HEAD.size :])))

        record = cls(
            dest=dest,
            proxy=proxy,
            options=options,
            parameters=tuple(params),
            proxy_len=proxy_len,
            dest_len=dest_len,
            options_count=options_count,
        )
        record.validate()
        return record

    # ---- files

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> ControlFile:
        """The validated record in the file at ``path`` (see :func:`read_file`)."""
        return read_file(path)

    def write(self, path: str | os.PathLike[str], *, force: bool = False) -> None:
        """Write the record to ``path`` (see :func:`write_file`)."""
        write_file(path, self, force=force)

    # ---- presentation

    def to_dict(self) -> dict[str, Any]:
        """The fields, as ``unsock control show --json`` prints them."""
        return {
            "kind": self.kind,
            "options": self.options,
            "proxy_len": self.proxy_len,
            "dest_len": self.dest_len,
            "options_count": self.options_count,
            "proxy": None if self.proxy is None else self.proxy.to_dict(),
            "dest": self.dest.to_dict(),
            "parameters": [p.to_dict() for p in self.parameters],
        }

    def describe(self) -> list[str]:
        """Human-readable lines."""
        titles = {"vsock": "AF_VSOCK", "tipc": "AF_TIPC", "firecracker": "Firecracker vsock proxy"}
        lines = [f"{titles[self.kind]} control file"]
        if self.proxy is not None:
            assert isinstance(self.dest, VsockAddress)
            lines.append(f"  connect: {self.proxy.describe()}, then CONNECT {self.dest.port}")
        else:
            lines.append(f"  bind/connect: {self.dest.describe()}")
        for i, p in enumerate(self.parameters, 1):
            lines.append(f"  parameter {i}: {p.describe()}")
        return lines


# --------------------------------------------------------------------------- files


def _kind_of(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "a device or other special file"


def read_file(path: str | os.PathLike[str]) -> ControlFile:
    """Read and validate the control file at ``path`` (symbolic links are followed, as by the
    shim). Never blocks: a FIFO is refused before it is opened, and it is opened non-blocking."""
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise ControlFileError(f"{name}: no such file: give the path of a control file") from None
    except OSError as e:
        raise ControlFileError(f"{name}: cannot read it: {e.strerror}") from None
    special = _kind_of(st.st_mode)
    if special is not None:
        raise ControlFileError(f"{name} is {special}, not a control file: give the path of a control file")
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except PermissionError:
        raise ControlFileError(f"{name}: cannot read it: permission denied: check its permissions") from None
    except OSError as e:
        raise ControlFileError(f"{name}: cannot read it: {e.strerror}") from None
    try:
        special = _kind_of(os.fstat(fd).st_mode)
        if special is not None:  # replaced between stat and open
            raise ControlFileError(f"{name} is {special}, not a control file: give the path of a control file")
        chunks = []
        total = 0
        while total <= RECORD_SIZE:
            chunk = os.read(fd, RECORD_SIZE + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        data = b"".join(chunks)
        if len(data) > RECORD_SIZE:  # say how large it really is
            size = max(os.fstat(fd).st_size, len(data))
            raise ControlFileError(
                f"{name}: the file has the wrong size: {size} bytes, a control file has exactly {RECORD_SIZE}: "
                "it is not an unsock control file"
            )
    except OSError as e:
        raise ControlFileError(f"{name}: cannot read it: {e.strerror}") from None
    finally:
        os.close(fd)
    try:
        return ControlFile.unpack(data)
    except ControlFileError as e:
        raise ControlFileError(f"{name}: {e}") from None


def write_file(path: str | os.PathLike[str], record: ControlFile, *, force: bool = False) -> None:
    """Write ``record`` to ``path``, mode 0644, atomically: the file appears complete or not at
    all. An existing file is refused unless ``force``; even with ``force`` only a regular file
    is replaced (the entry itself: a symbolic link, socket or directory is never replaced or
    followed)."""
    data = record.pack()
    name = os.fspath(path)
    directory = os.path.dirname(name) or "."
    try:
        st: os.stat_result | None = os.lstat(name)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise ControlFileError(f"{name}: cannot write it: {e.strerror}") from None
    if st is not None:
        special = _kind_of(st.st_mode)
        if special is not None:
            raise ControlFileError(
                f"{name} exists and is {special}: not replacing it; remove it or choose another path"
            )
        if not force:
            raise ControlFileError(f"{name} exists: pass --force to replace it")
    tmp = os.path.join(directory, f".{os.path.basename(name)}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except FileNotFoundError:
        raise ControlFileError(f"{name}: cannot write it: directory {directory} does not exist") from None
    except OSError as e:
        raise ControlFileError(f"{name}: cannot write it: {e.strerror}") from None
    try:
        try:
            os.fchmod(fd, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if force:
            os.replace(tmp, name)
        else:
            try:
                os.link(tmp, name)  # fails if anything appeared at name meanwhile
            except FileExistsError:
                raise ControlFileError(f"{name} exists: pass --force to replace it") from None
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP):
                    raise
                _write_exclusive(name, data)
    except OSError as e:
        raise ControlFileError(f"{name}: cannot write it: {e.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _write_exclusive(name: str, data: bytes) -> None:
    """Fallback where hard links are not supported: O_EXCL creation (not atomic for readers)."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        raise ControlFileError(f"{name} exists: pass --force to replace it") from None
    try:
        os.fchmod(fd, 0o644)
        os.write(fd, data)
    finally:
        os.close(fd)


def resolve_uds(path: str) -> str:
    """The Firecracker multiplexer path as the original stores it: an absolute path is kept
    (resolved if it exists); a relative one must exist and is stored resolved."""
    try:
        return os.path.realpath(path, strict=True)
    except OSError:
        if path.startswith("/"):
            return path
        raise ControlFileError(
            f"the Firecracker socket {path} does not exist: a relative --uds path must exist, or give an absolute one"
        ) from None


__all__ = [
    "MAGIC",
    "RECORD_SIZE",
    "ControlFile",
    "ControlFileError",
    "Parameter",
    "TipcAddress",
    "UnixAddress",
    "VsockAddress",
    "read_file",
    "resolve_uds",
    "write_file",
]
