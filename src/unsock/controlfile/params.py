"""Socket options a control file sets on the new socket (up to four ``setsockopt`` calls): the
32-byte values and how each option's value is encoded, and the ``LEVEL:OPTION:VALUE`` text of
``unsock control --param``."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..names import AF_VSOCK, U32_MAX
from .errors import RECREATE, ControlFileError, check_u32

MAX_PARAMETERS = 4
VALUE_SIZE = 32

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
                raise ControlFileError(f"{bad}holds an invalid timeval (sec {sec}, usec {usec}): {RECREATE}")
            seconds: float | int = sec if usec == 0 else float(Decimal(sec) + Decimal(usec) / _USEC)
            return "timeval", seconds, _TIMEVAL.size
        if kind == "tipc_group_req":
            if v[_GROUP_REQ.size :].strip(b"\0"):
                raise ControlFileError(f"{bad}has bytes after its tipc_group_req: {RECREATE}")
            return "tipc_group_req", list(_GROUP_REQ.unpack_from(v)), _GROUP_REQ.size
        if v[8:].strip(b"\0"):
            raise ControlFileError(f"{bad}has a value longer than 8 bytes, which is not an integer: {RECREATE}")
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
        check_u32(self.level, "parameter level")
        check_u32(self.option, "parameter option")
        self.decode()

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
            if len(ints) not in (3, 4) or any(not 0 <= i <= U32_MAX for i in ints):
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
        if not (0 < level <= U32_MAX and 0 < option <= U32_MAX):
            raise ControlFileError(f"--param '{text}': level and option must be numbers from 1 to {U32_MAX}")
        return cls.of(level, option, value_s)

