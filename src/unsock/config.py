"""The upstream-compatible configuration: the ``UNSOCK_*`` environment variables.

Parsing here accepts exactly what the shim (``src/shim/config.c``) accepts and
says the same thing about what it rejects; ``tests/vectors/env.json`` holds
the cases both must agree on, and :meth:`Config.canonical` is the one-line
form both print.
"""

from __future__ import annotations

import ipaddress
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
_IPV4_RE = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_PREFIX_RE = re.compile(r"0|[1-9][0-9]{0,2}")
_PORT_RE = re.compile(r"-1|[0-9]{1,5}")
_MODE_RE = re.compile(r"[0-7]{1,4}")

BOOL_VARS = (
    ("UNSOCK_BLOCK_INET", "block_inet"),
    ("UNSOCK_BLOCK_INET6", "block_inet6"),
    ("UNSOCK_ACCEPT_CONVERT_ALL", "accept_convert_all"),
    ("UNSOCK_ACCEPT_CONVERT_VSOCK", "accept_convert_vsock"),
    ("UNSOCK_PEER_LOOPBACK", "peer_loopback"),
    ("UNSOCK_IP_AT_SOCKET", "ip_at_socket"),
    ("UNSOCK_DEBUG", "debug"),
)



MAX_RANGES = 16
_ADDR_HELP = "use a form like 127.0.0.1, 127.0.0.0/8 or 127.0.0.0/8,::1/128"


@dataclass(frozen=True)
class Range:
    """An IPv4 or IPv6 address with a prefix length, the address kept as
    written (``127.175.0.3/0``: the address is also what unsock reports)."""

    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    prefix: int

    @classmethod
    def parse(cls, text: str) -> Range:
        """One ``ADDRESS[/PREFIX]``; ValueError if it is not one."""
        addr_s, slash, prefix_s = text.partition("/")
        address: ipaddress.IPv4Address | ipaddress.IPv6Address
        if _IPV4_RE.fullmatch(addr_s):
            address = ipaddress.IPv4Address(addr_s)
        elif "%" not in addr_s and ":" in addr_s:
            address = ipaddress.IPv6Address(addr_s)
        else:
            raise ValueError(text)
        if slash and not _PREFIX_RE.fullmatch(prefix_s):
            raise ValueError(text)
        prefix = int(prefix_s) if slash else address.max_prefixlen
        if prefix > address.max_prefixlen:
            raise ValueError(text)
        return cls(address, prefix)

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(f"{self.address}/{self.prefix}", strict=False)

    def __str__(self) -> str:
        # IPv6 in full: the one form the shim's C library and Python spell alike.
        text = self.address.exploded if self.address.version == 6 else str(self.address)
        return f"{text}/{self.prefix}"

    def covers(self, address: str) -> bool:
        """Whether an address falls in the range; IPv4-mapped IPv6 addresses
        count as their IPv4 address, as in the shim."""
        ip = ipaddress.ip_address(address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None and self.address.version == 4:
            ip = ip.ipv4_mapped
        return ip.version == self.address.version and ip in self.network


def parse_ranges(text: str) -> tuple[Range, ...]:
    """UNSOCK_ADDR: a comma-separated list of ranges."""
    parts = text.split(",")
    try:
        if len(parts) > MAX_RANGES:
            raise ValueError(text)
        return tuple(Range.parse(p) for p in parts)
    except ValueError:
        raise ConfigError(
            f"UNSOCK_ADDR='{text}' is not a list of IP addresses or ranges: {_ADDR_HELP} (at most {MAX_RANGES})"
        ) from None


def format_ranges(ranges: tuple[Range, ...]) -> str:
    return ",".join(str(r) for r in ranges)


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
    ranges: tuple[Range, ...] = (Range(ipaddress.IPv4Address("127.175.0.0"), 32),)  # DEFAULT_ADDR
    port: int = -1
    mode: int | None = None
    block_inet: bool = False
    block_inet6: bool = False
    accept_convert_all: bool = False
    accept_convert_vsock: bool = False
    peer_loopback: bool = False
    ip_at_socket: bool = False
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
        ranges = parse_ranges(addr if addr is not None else DEFAULT_ADDR)
        port_s = _nonempty(env, "UNSOCK_PORT")
        port = parse_port(port_s) if port_s is not None else -1
        mode_s = _nonempty(env, "UNSOCK_MODE")
        mode = parse_mode(mode_s) if mode_s is not None else None
        switches = {attr: parse_switch(name, env.get(name)) for name, attr in BOOL_VARS}
        return cls(dir=directory, ranges=ranges, port=port, mode=mode, **switches)

    def to_env(self) -> dict[str, str]:
        """The variables that make the shim read back this configuration."""
        env = {"UNSOCK_DIR": self.dir, "UNSOCK_ADDR": format_ranges(self.ranges), "UNSOCK_PORT": str(self.port)}
        if self.mode is not None:
            env["UNSOCK_MODE"] = f"{self.mode:04o}"
        for name, attr in BOOL_VARS:
            env[name] = "1" if getattr(self, attr) else "0"
        return env

    def socket_path(self, port: int, *, datagram: bool = False) -> PurePosixPath:
        """The socket file of a port: ``DIR/PORT.sock`` for TCP (stream)
        sockets, ``DIR/PORT.udp`` for UDP (datagram) ones."""
        return PurePosixPath(self.dir) / f"{port}.{'udp' if datagram else 'sock'}"

    def canonical(self) -> str:
        """The one-line form the shim logs with UNSOCK_DEBUG=1 (``config: ...``)."""
        mode = "-" if self.mode is None else f"{self.mode:04o}"
        return (
            f"dir={self.dir} addr={format_ranges(self.ranges)} port={self.port} mode={mode} "
            f"block_inet={int(self.block_inet)} block_inet6={int(self.block_inet6)} "
            f"accept_convert_all={int(self.accept_convert_all)} "
            f"accept_convert_vsock={int(self.accept_convert_vsock)} peer_loopback={int(self.peer_loopback)} "
            f"ip_at_socket={int(self.ip_at_socket)}"
        )
