"""The record of a control file: the 452-byte ``struct unsock_socket_info`` of the original unsock.

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

import os
import struct
from dataclasses import dataclass
from typing import Any

from ..names import (
    AF_TIPC,
    AF_UNIX,
    AF_VSOCK,
    FAMILY_NAMES,
    TIPC_ADDR_NAME,
    TIPC_ADDR_NAMESEQ,
    TIPC_CLUSTER_SCOPE,
    U32_MAX,
    VMADDR_CID_ANY,
    VMADDR_PORT_ANY,
)
from .addresses import DEST_TYPES, SOCKADDR_UN_SIZE, Dest, TipcAddress, UnixAddress, VsockAddress
from .display import describe_record, record_dict
from .errors import RECREATE, ControlFileError
from .fileio import read_bytes, write_bytes
from .params import MAX_PARAMETERS, VALUE_SIZE, Parameter

MAGIC = 0x4B534E55
RECORD_SIZE = 452
OPT_FIRECRACKER_PROXY = 1
KNOWN_OPTIONS = OPT_FIRECRACKER_PROXY
SOCKADDR_AREA = 128

_HEADER = struct.Struct("=QQIIII")  # 32 bytes
_TRAILER = struct.Struct("=I")
_PARAM_HEAD = struct.Struct("=II")
_PROXY_AT = _HEADER.size
_DEST_AT = _PROXY_AT + SOCKADDR_AREA
_PARAMS_AT = _DEST_AT + SOCKADDR_AREA
_PARAM_SIZE = _PARAM_HEAD.size + VALUE_SIZE
_TRAILER_AT = _PARAMS_AT + MAX_PARAMETERS * _PARAM_SIZE
assert _TRAILER_AT + _TRAILER.size == RECORD_SIZE


def _any(value: int) -> int:
    """-1 as the "any" value of a 32-bit CID or port field (0xffffffff)."""
    return U32_MAX if value == -1 else value


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
                f"exists): the file comes from a newer or different tool; {RECREATE}"
            )
        if not isinstance(self.dest, VsockAddress | TipcAddress):
            raise ControlFileError(f"the destination must be a VSOCK or TIPC address: {RECREATE}")
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
                f"a proxy address is set (proxyLen {self.proxy_len}) without the Firecracker option: {RECREATE}"
            )
        self.dest.validate()
        if self.is_firecracker and isinstance(self.dest, VsockAddress) and self.dest.port == VMADDR_PORT_ANY:
            raise ControlFileError("a Firecracker file needs a definite VSOCK port, not 'any': give --port")
        if not self.dest.SIZE <= self.dest_len <= SOCKADDR_AREA:
            raise ControlFileError(
                f"destLen {self.dest_len} is out of range for {FAMILY_NAMES[self.dest.family]} "
                f"({self.dest.SIZE} to {SOCKADDR_AREA}): {RECREATE}"
            )
        if self.proxy is not None:
            self.proxy.validate()
            least = 2 + len(self.proxy.raw_path)
            if not least <= self.proxy_len <= SOCKADDR_UN_SIZE:
                raise ControlFileError(
                    f"proxyLen {self.proxy_len} is out of range for the proxy path ({least} to {SOCKADDR_UN_SIZE}): "
                    f"{RECREATE}"
                )
        if len(self.parameters) > MAX_PARAMETERS:
            raise ControlFileError(f"{len(self.parameters)} parameters given, at most {MAX_PARAMETERS} fit")
        if self.options_count not in (0, len(self.parameters)):
            raise ControlFileError(
                f"optionsCount is {self.options_count} but the file holds {len(self.parameters)} parameter(s): "
                f"{RECREATE}"
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
            raise ControlFileError(f"the file is empty, a control file has {RECORD_SIZE} bytes: {RECREATE}")
        if n < RECORD_SIZE:
            raise ControlFileError(f"the file is truncated: {n} of {RECORD_SIZE} bytes: {RECREATE}")
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
            raise ControlFileError(f"the reserved fields are not zero: {RECREATE}")
        if options & ~KNOWN_OPTIONS:
            raise ControlFileError(
                f"unknown option bits 0x{options & ~KNOWN_OPTIONS:x} are set (only bit 0, Firecracker proxy, "
                f"exists): the file comes from a newer or different tool; {RECREATE}"
            )
        for what, length in (("proxyLen", proxy_len), ("destLen", dest_len)):
            if length > SOCKADDR_AREA:
                raise ControlFileError(f"{what} {length} is out of range (at most {SOCKADDR_AREA}): {RECREATE}")

        dest_area = data[_DEST_AT:_PARAMS_AT]
        (family,) = struct.unpack_from("=H", dest_area)
        dest_type = DEST_TYPES.get(family)
        if dest_type is None:
            name = FAMILY_NAMES.get(family, "unknown")
            raise ControlFileError(
                f"the destination family {family} ({name}) is not supported: a control file points to "
                f"AF_VSOCK ({AF_VSOCK}) or AF_TIPC ({AF_TIPC}); {RECREATE}"
            )
        if dest_area[dest_type.SIZE :].strip(b"\0"):
            raise ControlFileError(f"the destination has bytes after its {dest_type.SIZE}-byte address: {RECREATE}")
        dest = dest_type.unpack(dest_area)

        proxy_area = data[_PROXY_AT:_DEST_AT]
        proxy: UnixAddress | None = None
        if proxy_len == 0 and not options & OPT_FIRECRACKER_PROXY:
            if proxy_area.strip(b"\0"):
                raise ControlFileError(f"proxyLen is 0 but a proxy address is present: {RECREATE}")
        elif proxy_area.strip(b"\0"):
            (pfamily,) = struct.unpack_from("=H", proxy_area)
            if pfamily != AF_UNIX:
                raise ControlFileError(
                    f"the proxy address has family {pfamily} ({FAMILY_NAMES.get(pfamily, 'unknown')}), "
                    "not AF_UNIX: recreate it with 'unsock control firecracker'"
                )
            if proxy_area[SOCKADDR_UN_SIZE:].strip(b"\0"):
                raise ControlFileError(f"the proxy has bytes after its unix address: {RECREATE}")
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
                    f"parameter slot {i + 1} is used but slot {empty_seen} before it is empty: {RECREATE}"
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

    # ---- files and people

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> ControlFile:
        """The validated record in the file at ``path`` (see :func:`read_file`)."""
        return read_file(path)

    def write(self, path: str | os.PathLike[str], *, force: bool = False) -> None:
        """Write the record to ``path`` (see :func:`write_file`)."""
        write_file(path, self, force=force)

    def to_dict(self) -> dict[str, Any]:
        """The fields, as ``unsock control show --json`` prints them."""
        return record_dict(self)

    def describe(self) -> list[str]:
        """Human-readable lines."""
        return describe_record(self)


def read_file(path: str | os.PathLike[str]) -> ControlFile:
    """Read and validate the control file at ``path`` (symbolic links are followed, as by the
    shim). Never blocks: a FIFO is refused before it is opened, and it is opened non-blocking."""
    name = os.fspath(path)
    data = read_bytes(name, RECORD_SIZE)
    try:
        return ControlFile.unpack(data)
    except ControlFileError as e:
        raise ControlFileError(f"{name}: {e}") from None


def write_file(path: str | os.PathLike[str], record: ControlFile, *, force: bool = False) -> None:
    """Write ``record`` to ``path``, mode 0644, atomically: the file appears complete or not at
    all. An existing file is refused unless ``force``; even with ``force`` only a regular file
    is replaced (the entry itself: a symbolic link, socket or directory is never replaced or
    followed)."""
    write_bytes(os.fspath(path), record.pack(), force=force)
