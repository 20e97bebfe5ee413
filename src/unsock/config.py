"""The upstream-compatible configuration: the ``UNSOCK_*`` environment variables.

Parsing here accepts exactly what the shim (``src/shim/config.c``) accepts and
says the same thing about what it rejects; ``tests/vectors/env.json`` holds
the cases both must agree on, and :meth:`Config.canonical` is the one-line
form both print.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from .errors import ConfigError

SUN_PATH_MAX = 108
#: Longest socket file name below the directory: ``/65535.sock``.
FILE_NAME_MAX = len("/65535.sock")
DIR_MAX = SUN_PATH_MAX - 1 - FILE_NAME_MAX
DEFAULT_ADDR = "127.175.0.0/32"

_OCTET = r"(?:0|[1-9][0-9]{0,2})"
_ADDR_RE = re.compile(rf"({_OCTET})\.({_OCTET})\.({_OCTET})\.({_OCTET})(?:/(0|[1-9][0-9]?))?")
_PORT_RE = re.compile(r"-1|[0-9]{1,5}")
_MODE_RE = re.compile(r"[0-7]{1,4}")

BOOL_VARS = (
    ("UNSOCK_BLOCK_INET", "block_inet"),
    ("UNSOCK_BLOCK_INET6", "block_inet6"),
    ("UNSOCK_ACCEPT_CONVERT_ALL", "accept_convert_all"),
    ("UNSOCK_ACCEPT_CONVERT_VSOCK", "accept_convert_vsock"),
    ("UNSOCK_DEBUG", "debug"),
)



@dataclass(frozen=True)
class Range:
    """An IPv4 address with a prefix length, kept as written (``127.175.0.3/0``)."""

    octets: tuple[int, int, int, int]
    prefix: int

    @classmethod
    def parse(cls, text: str) -> Range:
        m = _ADDR_RE.fullmatch(text)
        if m is None or any(int(g) > 255 for g in m.groups()[:4]) or int(m.group(5) or 32) > 32:
            raise ConfigError(
                f"UNSOCK_ADDR='{text}' is not an IPv4 address or range: "
                "use a form like 127.0.0.1 or 127.0.0.0/8"
            )
        a, b, c, d = (int(g) for g in m.groups()[:4])
        return cls((a, b, c, d), int(m.group(5) or 32))

    @property
    def address(self) -> str:
        return ".".join(str(o) for o in self.octets)

    def __str__(self) -> str:
        return f"{self.address}/{self.prefix}"

    def covers(self, address: str) -> bool:
        other = Range.parse(address)
        mask = (0xFFFFFFFF << (32 - self.prefix)) & 0xFFFFFFFF
        return (_as_int(self.octets) & mask) == (_as_int(other.octets) & mask)


def _as_int(octets: tuple[int, int, int, int]) -> int:
    a, b, c, d = octets
    return (a << 24) | (b << 16) | (c << 8) | d


def _nonempty(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value else None


def parse_dir(text: str) -> str:
    """The socket directory: absolute, trailing slashes removed, short enough."""
    if not text.startswith("/"):
        raise ConfigError(f"UNSOCK_DIR='{text}' is not an absolute path: give a path starting with /")
    stripped = text.rstrip("/")
    length = len(os.fsencode(stripped))
    if length > DIR_MAX:
        raise ConfigError(
            f"UNSOCK_DIR is {length} bytes long, at most {DIR_MAX} fit in a unix socket path: "
            "choose a shorter directory"
        )
    return stripped or "/"


def parse_port(text: str) -> int:
    if not _PORT_RE.fullmatch(text) or int(text) > 65535:
        raise ConfigError(f"UNSOCK_PORT='{text}' is not a port: use a number from 0 to 65535, or -1 for any port")
    return int(text)


def parse_mode(text: str) -> int:
    if not _MODE_RE.fullmatch(text) or int(text, 8) > 0o777:
        raise ConfigError(f"UNSOCK_MODE='{text}' is not a file mode: use octal permission bits such as 660 or 0700")
    return int(text, 8)


def parse_switch(name: str, text: str | None) -> bool:
    if text in (None, "", "0"):
        return False
    if text == "1":
        return True
    raise ConfigError(f"{name}='{text}' is not a valid switch: use 1 (on) or 0 (off)")


@dataclass(frozen=True)
class Config:
    """What the shim reads from the environment."""

    dir: str
    range: Range = Range((127, 175, 0, 0), 32)  # DEFAULT_ADDR
    port: int = -1
    mode: int | None = None
    block_inet: bool = False
    block_inet6: bool = False
    accept_convert_all: bool = False
    accept_convert_vsock: bool = False
    debug: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Parse ``UNSOCK_*`` variables exactly as the shim does."""
        env = os.environ if env is None else env
        raw_dir = _nonempty(env, "UNSOCK_DIR")
        if raw_dir is None:
            raise ConfigError(
                "UNSOCK_DIR is not set: set it to the absolute path of the socket directory, "
                "or start the program with 'unsock run'"
            )
        directory = parse_dir(raw_dir)
        addr = _nonempty(env, "UNSOCK_ADDR")
        rng = Range.parse(addr if addr is not None else DEFAULT_ADDR)
        port_s = _nonempty(env, "UNSOCK_PORT")
        port = parse_port(port_s) if port_s is not None else -1
        mode_s = _nonempty(env, "UNSOCK_MODE")
        mode = parse_mode(mode_s) if mode_s is not None else None
        switches = {attr: parse_switch(name, env.get(name)) for name, attr in BOOL_VARS}
        return cls(dir=directory, range=rng, port=port, mode=mode, **switches)

    def to_env(self) -> dict[str, str]:
        """The variables that make the shim read back this configuration."""
        env = {"UNSOCK_DIR": self.dir, "UNSOCK_ADDR": str(self.range), "UNSOCK_PORT": str(self.port)}
        if self.mode is not None:
            env["UNSOCK_MODE"] = f"{self.mode:04o}"
        for name, attr in BOOL_VARS:
            env[name] = "1" if getattr(self, attr) else "0"
        return env

    def socket_path(self, port: int) -> PurePosixPath:
        """The socket file of a port: ``DIR/PORT.sock``."""
        return PurePosixPath(self.dir) / f"{port}.sock"

    def canonical(self) -> str:
        """The one-line form the shim logs with UNSOCK_DEBUG=1 (``config: ...``)."""
        mode = "-" if self.mode is None else f"{self.mode:04o}"
        return (
            f"dir={self.dir} addr={self.range} port={self.port} mode={mode} "
            f"block_inet={int(self.block_inet)} block_inet6={int(self.block_inet6)} "
            f"accept_convert_all={int(self.accept_convert_all)} "
            f"accept_convert_vsock={int(self.accept_convert_vsock)}"
        )
