"""The socket addresses a control file holds: ``struct sockaddr_vm`` and ``struct sockaddr_tipc`` as
the destination, ``struct sockaddr_un`` as the Firecracker multiplexer's socket; each packed,
unpacked and validated."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import ClassVar

from ..names import (
    AF_TIPC,
    AF_UNIX,
    AF_VSOCK,
    TIPC_ADDR_ID,
    TIPC_ADDR_NAME,
    TIPC_ADDR_NAMESEQ,
    TIPC_ADDRTYPE_NAMES,
    TIPC_SCOPE_NAMES,
    VMADDR_CID_ANY,
    VMADDR_FLAG_TO_HOST,
)
from .errors import RECREATE, ControlFileError, check_u32

SUN_PATH_MAX = 108
SOCKADDR_UN_SIZE = 2 + SUN_PATH_MAX  # 110

_SOCKADDR_VM = struct.Struct("=HHIIB3s")  # 16 bytes
_SOCKADDR_TIPC = struct.Struct("=HBbIII")  # 16 bytes


@dataclass(frozen=True)
class VsockAddress:
    """``struct sockaddr_vm``: a port and a context id (``VMADDR_CID_ANY`` = listen on any)."""

    port: int
    cid: int = VMADDR_CID_ANY
    flags: int = 0

    family: ClassVar[int] = AF_VSOCK
    SIZE: ClassVar[int] = _SOCKADDR_VM.size

    def validate(self) -> None:
        check_u32(self.port, "VSOCK port")
        check_u32(self.cid, "VSOCK CID")
        if self.flags & ~VMADDR_FLAG_TO_HOST & 0xFF or not 0 <= self.flags <= 0xFF:
            raise ControlFileError(f"VSOCK flags 0x{self.flags:x} are unknown: only 0x1 (VMADDR_FLAG_TO_HOST) exists")

    def pack(self) -> bytes:
        return _SOCKADDR_VM.pack(AF_VSOCK, 0, self.port, self.cid, self.flags, b"\0\0\0")

    @classmethod
    def unpack(cls, data: bytes) -> VsockAddress:
        _, reserved, port, cid, flags, zero = _SOCKADDR_VM.unpack_from(data)
        if reserved or zero != b"\0\0\0":
            raise ControlFileError(f"the VSOCK address has non-zero reserved bytes: {RECREATE}")
        return cls(port=port, cid=cid, flags=flags)


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
        for name, value in zip(self.field_names(), (self.type, self.lower, self.upper), strict=True):
            check_u32(value, f"TIPC {name}")
        if self.addrtype == TIPC_ADDR_NAMESEQ and self.lower > self.upper:
            raise ControlFileError(
                f"TIPC service range {self.lower}..{self.upper} is empty: give an upper bound >= the lower one"
            )

    def field_names(self) -> tuple[str, str, str]:
        """What ``type``, ``lower`` and ``upper`` mean for this address type."""
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
            raise ControlFileError(f"the proxy's unix socket path has bytes after its end: {RECREATE}")
        return cls(os.fsdecode(raw))


Dest = VsockAddress | TipcAddress
#: The destination's class by its family.
DEST_TYPES: dict[int, type[VsockAddress] | type[TipcAddress]] = {AF_VSOCK: VsockAddress, AF_TIPC: TipcAddress}
