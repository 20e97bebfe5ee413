"""The rule model: matches, actions and the compiled form each rule writes (docs/rules.md)."""

from __future__ import annotations

import errno as errno_module
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ..config import SUN_PATH_MAX, Range
from ..errors import ConfigError
from ..names import RuleScope

Direction = Literal["in", "out"]
SockType = Literal["stream", "dgram"]
#: A port or instance that is a number or the ``%p`` placeholder (the socket's port).
PortRef = int | Literal["%p"]

#: sun_path holds 108 bytes, one of them the terminating NUL (or the leading NUL of an abstract name).
PATH_MAX = SUN_PATH_MAX - 1
ERRNO_MAX = 4095
FDNAME_MAX = 255
DEFAULT_REJECT = errno_module.EACCES

#: Placeholders of path= and abstract= and their shortest expansions.
PLACEHOLDER_MIN = {"p": len("0"), "a": len("::"), "t": len("tcp"), "%": len("%")}


class RuleError(ConfigError):
    """One invalid rule: ``column`` (1-based) is where the problem is, ``message``
    says what is wrong and what to do."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"position {column}: {message}")
        self.message = message
        self.column = column


class RulesError(ConfigError):
    """Every error of a rule list, one line each (without the ``unsock: `` prefix)."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = list(errors)


# --- actions -----------------------------------------------------------------


@dataclass(frozen=True)
class PathAction:
    path: str  # absolute, placeholders (%p %a %t %%) unexpanded

    def canonical(self) -> str:
        return f"path={_escape(self.path)}"


@dataclass(frozen=True)
class AbstractAction:
    name: str  # without the leading NUL, placeholders unexpanded

    def canonical(self) -> str:
        return f"abstract={_escape(self.name)}"


@dataclass(frozen=True)
class RejectAction:
    errno: int = DEFAULT_REJECT

    def canonical(self) -> str:
        return f"reject={self.errno}"


@dataclass(frozen=True)
class BlackholeAction:
    def canonical(self) -> str:
        return "blackhole"


@dataclass(frozen=True)
class IgnoreAction:
    def canonical(self) -> str:
        return "ignore"


@dataclass(frozen=True)
class SystemdAction:
    fdname: str | None = None

    def canonical(self) -> str:
        return "systemd" if self.fdname is None else f"systemd={_escape(self.fdname)}"


@dataclass(frozen=True)
class VsockAction:
    cid: int
    port: PortRef

    def canonical(self) -> str:
        return f"vsock={self.cid}:{self.port}"


@dataclass(frozen=True)
class TipcAction:
    type: int
    lower: PortRef
    upper: PortRef
    scope: RuleScope = "cluster"

    def canonical(self) -> str:
        return f"tipc={self.type}:{self.lower}:{self.upper}@{self.scope}"


@dataclass(frozen=True)
class FirecrackerAction:
    uds: str  # absolute path of the multiplexer's unix socket, taken literally
    port: PortRef

    def canonical(self) -> str:
        return f"firecracker={_escape(self.uds)}:{self.port}"


Action = (
    PathAction
    | AbstractAction
    | RejectAction
    | BlackholeAction
    | IgnoreAction
    | SystemdAction
    | VsockAction
    | TipcAction
    | FirecrackerAction
)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One rule: what it matches, its action and the options of a ``path=`` action."""

    action: Action
    direction: Direction | None = None
    sock_type: SockType | None = None
    addr: Range | None = None
    port: tuple[int, int] | None = None  # inclusive
    from_unix: str | None = None
    from_abstract: str | None = None
    mode: int | None = None
    noremove: bool = False

    def canonical(self) -> str:
        """The compiled form (one line of ``UNSOCK_RULES``)."""
        parts: list[str] = []
        if self.direction is not None:
            parts.append(self.direction)
        if self.sock_type is not None:
            parts.append(self.sock_type)
        if self.addr is not None:
            parts.append(f"addr={self.addr}")
        if self.port is not None:
            parts.append(f"port={self.canonical_port()}")
        if self.from_unix is not None:
            parts.append(f"from-unix={_escape(self.from_unix)}")
        if self.from_abstract is not None:
            parts.append(f"from-abstract={_escape(self.from_abstract)}")
        parts.append(self.action.canonical())
        if self.mode is not None:
            parts.append(f"mode={self.mode:04o}")
        if self.noremove:
            parts.append("noremove")
        return ",".join(parts)

    def canonical_port(self) -> str:
        if self.port is None:
            return ""
        lo, hi = self.port
        return str(lo) if lo == hi else f"{lo}-{hi}"

    @property
    def unix_source(self) -> bool:
        """Whether the rule matches unix sockets (``from-unix``/``from-abstract``) instead of IP ones."""
        return self.from_unix is not None or self.from_abstract is not None


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,")
