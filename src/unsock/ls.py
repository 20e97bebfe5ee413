"""``unsock ls``: the live converted sockets, read from ``/proc`` alone.

``/proc/net/unix`` gives every unix socket of this network namespace (inode, type, state,
whether it listens, its path); ``/proc/PID/fd/*`` links (``socket:[INODE]``) tell which
processes hold each; the socket file's ``stat`` gives its mode and owner. A socket is unsock's
when its path is one a rule makes (a *naming*): the rules given, else those of the environment's
``UNSOCK_RULES``/``UNSOCK_*``, else any ``*/PORT.sock`` (stream) or ``*/PORT.udp`` (datagram).
Only bound sockets are listed: stream listeners and bound datagram sockets; the accepted
connections of a listener (CONNECTED, under the listener's path) are counted beside it.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config
from .environment import inherited_rules
from .rules import AbstractAction, PathAction, Rule, rules_from_config
from .rules.match import template_pieces

PROC = Path("/proc")

_TYPES = {1: "stream", 2: "dgram", 5: "seqpacket"}
_SO_ACCEPTCON = 0x10000  # Flags: a listening socket
_SS_CONNECTED = 3  # St


@dataclass(frozen=True)
class UnixSocket:
    """One line of ``/proc/net/unix``. ``path`` starts with ``@`` for an abstract name."""

    inode: int
    type: str
    state: int
    listening: bool
    path: str


def read_unix_table(proc: Path = PROC) -> list[UnixSocket]:
    """The named unix sockets of ``/proc/net/unix`` (those without a name left out)."""
    found: list[UnixSocket] = []
    try:
        lines = (proc / "net" / "unix").read_text(errors="replace").splitlines()[1:]
    except OSError:
        return found
    for line in lines:
        fields = line.split(maxsplit=7)
        if len(fields) < 8:
            continue
        try:
            flags, kind, state, inode = int(fields[3], 16), int(fields[4], 16), int(fields[5], 16), int(fields[6])
        except ValueError:
            continue
        found.append(UnixSocket(inode, _TYPES.get(kind, "other"), state, bool(flags & _SO_ACCEPTCON), fields[7]))
    return found


@dataclass(frozen=True)
class Holder:
    """A process that has the socket open."""

    pid: int
    uid: int | None
    argv: tuple[str, ...]

    @property
    def command(self) -> str:
        """The command line on one line: its arguments joined by spaces, control characters (the
        newlines of a ``python -c`` script) escaped."""
        return " ".join("".join(c if c.isprintable() else repr(c)[1:-1] for c in a) for a in self.argv)


def _process_uid(proc: Path, pid: str) -> int | None:
    try:
        for line in (proc / pid / "status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[2])  # effective
    except (OSError, ValueError, IndexError):
        pass
    return None


def _argv(proc: Path, pid: str) -> tuple[str, ...]:
    try:
        raw = (proc / pid / "cmdline").read_bytes()
    except OSError:
        raw = b""
    argv = tuple(a.decode(errors="replace") for a in raw.split(b"\0") if a)
    if argv:
        return argv
    try:
        return (f"[{(proc / pid / 'comm').read_text().strip()}]",)
    except OSError:
        return ("?",)


def socket_holders(inodes: Iterable[int], proc: Path = PROC) -> dict[int, list[Holder]]:
    """The processes holding each socket of ``inodes`` (by pid), as far as this user may see
    their descriptors."""
    wanted = {f"socket:[{i}]": i for i in inodes}
    found: dict[int, list[Holder]] = {}
    if not wanted:
        return found
    try:
        pids = sorted((e for e in os.listdir(proc) if e.isdigit()), key=int)
    except OSError:
        return found
    for pid in pids:
        held: set[int] = set()
        try:
            for fd in os.listdir(proc / pid / "fd"):
                try:
                    inode = wanted.get(os.readlink(proc / pid / "fd" / fd))
                except OSError:
                    continue
                if inode is not None:
                    held.add(inode)
        except OSError:  # another user's process, or gone
            continue
        if held:
            holder = Holder(int(pid), _process_uid(proc, pid), _argv(proc, pid))
            for inode in held:
                found.setdefault(inode, []).append(holder)
    return found


@dataclass(frozen=True)
class Naming:
    """The socket names one rule (or unsock's default ``DIR/PORT.sock``) makes."""

    pattern: re.Pattern[str]  # groups: port, addr (each may be absent)
    sock_type: str | None  # "stream", "dgram" or None for both
    abstract: bool = False
    port: int | None = None  # when the name has no port in it: the rule's single port
    address: str | None = None  # when the name has no address in it: the rule's single address
    rule: int | None = None  # 1-based
    rule_text: str | None = None


def _template_pattern(template: str) -> str:
    """A regular expression for a ``path=``/``abstract=`` template; ``%t`` is left as a NUL and
    a ``t``, turned into ``tcp`` or ``udp`` once the socket type is known."""
    out: list[str] = []
    has = {"p": False, "a": False}
    for piece, placeholder in template_pieces(template):
        if not placeholder:
            out.append(re.escape(piece))
        elif piece in has and not has[piece]:
            out.append(r"(?P<port>[0-9]{1,5})" if piece == "p" else r"(?P<addr>[0-9A-Fa-f.:]+)")
            has[piece] = True
        elif piece == "p":
            out.append(r"(?P=port)")
        elif piece == "a":
            out.append(r"(?P=addr)")
        elif piece == "t":
            out.append("\0t")  # filled in per type
        else:
            out.append(re.escape(piece))
    return "".join(out)


def _single_address(rule: Rule) -> str | None:
    if rule.addr is None:
        return None
    net = rule.addr.network
    return str(net.network_address) if net.num_addresses == 1 else None


def rule_namings(rules: Sequence[Rule]) -> list[Naming]:
    """The names the rules' ``path=`` and ``abstract=`` targets of bound sockets make, in rule
    order (the first that matches a name is the rule that made it)."""
    namings: list[Naming] = []
    for index, rule in enumerate(rules, 1):
        action = rule.action
        if rule.direction == "out" or not isinstance(action, PathAction | AbstractAction):
            continue
        template = action.path if isinstance(action, PathAction) else action.name
        text = _template_pattern(template)
        port = rule.port[0] if rule.port is not None and rule.port[0] == rule.port[1] else None
        for sock_type in (("stream", "dgram") if rule.sock_type is None else (rule.sock_type,)):
            body = text.replace("\0t", "tcp" if sock_type == "stream" else "udp")
            namings.append(Naming(re.compile(body), sock_type, isinstance(action, AbstractAction), port,
                                  _single_address(rule), index, rule.canonical()))
    return namings


def default_namings(directory: str | None = None) -> list[Naming]:
    """unsock's default names: ``DIR/PORT.sock`` (stream) and ``DIR/PORT.udp`` (datagram), in
    ``directory`` or, if None, in any directory."""
    where = ".*" if directory is None else re.escape(directory.rstrip("/"))
    return [Naming(re.compile(rf"{where}/(?P<port>[0-9]{{1,5}})\.{ext}"), sock_type)
            for ext, sock_type in (("sock", "stream"), ("udp", "dgram"))]


@dataclass(frozen=True)
class Listing:
    """A converted socket: where it is, what it stands for, who holds it."""

    path: str
    type: str
    inode: int
    port: int | None
    address: str | None
    mode: int | None  # None: the file is gone (or cannot be seen)
    uid: int | None
    connections: int | None  # None for datagram sockets
    holders: tuple[Holder, ...] = field(default=())
    rule: int | None = None
    rule_text: str | None = None

    @property
    def stands_for(self) -> str:
        """``127.0.0.1:8080``, ``[::1]:8080``, ``port 8080``, ``127.0.0.1`` or ``?``."""
        if self.address is not None:
            host = f"[{self.address}]" if ":" in self.address else self.address
            return host if self.port is None else f"{host}:{self.port}"
        return "?" if self.port is None else f"port {self.port}"

    @property
    def owner(self) -> str:
        return _user_name(self.uid)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "type": self.type, "inode": self.inode, "port": self.port,
            "address": self.address, "mode": None if self.mode is None else f"{self.mode:04o}",
            "uid": self.uid, "owner": None if self.uid is None else self.owner,
            "connections": self.connections,
            "processes": [{"pid": h.pid, "uid": h.uid, "command": h.command, "argv": list(h.argv)}
                          for h in self.holders],
            "rule": self.rule, "rule_text": self.rule_text,
        }


def _user_name(uid: int | None) -> str:
    if uid is None:
        return "?"
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _name_of(sock: UnixSocket, namings: Sequence[Naming]) -> tuple[Naming, re.Match[str]] | None:
    abstract = sock.path.startswith("@")
    name = sock.path[1:] if abstract else sock.path
    for naming in namings:
        if naming.abstract != abstract or naming.sock_type not in (None, sock.type):
            continue
        m = naming.pattern.fullmatch(name)
        if m is not None:
            return naming, m
    return None


def _stands_for(naming: Naming, m: re.Match[str]) -> tuple[int | None, str | None]:
    groups = m.groupdict()
    port = int(groups["port"]) if groups.get("port") else naming.port
    address = naming.address
    if groups.get("addr"):
        try:
            address = str(ipaddress.ip_address(groups["addr"]))
        except ValueError:
            address = groups["addr"]
    if port is not None and port > 65535:
        port = None
    return port, address


def list_sockets(namings: Sequence[Naming], *, uid: int | None = None, proc: Path = PROC) -> list[Listing]:
    """The bound sockets (stream listeners, datagram sockets) whose names the namings make,
    sorted by path; with ``uid``, only those whose file (else whose holders) that user owns."""
    table = read_unix_table(proc)
    connections: dict[str, int] = {}
    for s in table:
        if s.type == "stream" and not s.listening and s.state == _SS_CONNECTED:
            connections[s.path] = connections.get(s.path, 0) + 1
    bound = [(s, found) for s in table if (s.listening or s.type == "dgram")
             and (found := _name_of(s, namings)) is not None]
    holders = socket_holders((s.inode for s, _ in bound), proc)
    listings: list[Listing] = []
    for s, (naming, m) in bound:
        mode = owner = None
        if not s.path.startswith("@"):
            try:
                st = os.stat(s.path)
                mode, owner = st.st_mode & 0o7777, st.st_uid
            except OSError:
                pass
        held = tuple(holders.get(s.inode, ()))
        if owner is None and held:
            owner = held[0].uid
        if uid is not None and owner != uid and all(h.uid != uid for h in held):
            continue
        port, address = _stands_for(naming, m)
        listings.append(Listing(
            path=s.path, type=s.type, inode=s.inode, port=port, address=address, mode=mode, uid=owner,
            connections=connections.get(s.path, 0) if s.type == "stream" else None, holders=held,
            rule=naming.rule, rule_text=naming.rule_text,
        ))
    listings.sort(key=lambda x: (x.path, x.inode))
    return listings


HEADER = ("PATH", "TYPE", "FOR", "MODE", "OWNER", "CONNS", "PID", "COMMAND", "RULE")


def _rows(listing: Listing) -> list[tuple[str, ...]]:
    mode = "gone" if listing.mode is None else f"{listing.mode:04o}"
    conns = "-" if listing.connections is None else str(listing.connections)
    rule = "-" if listing.rule is None else f"{listing.rule}: {listing.rule_text}"
    first = (listing.path, listing.type, listing.stands_for, mode, listing.owner, conns)
    holders = listing.holders or (None,)
    rows = []
    for i, h in enumerate(holders):
        who = ("?", "(not visible)") if h is None else (str(h.pid), _short(h.command))
        rows.append((*(first if i == 0 else ("",) * len(first)), *who, rule if i == 0 else ""))
    return rows


def _short(command: str, width: int = 60) -> str:
    return command if len(command) <= width else command[: width - 3] + "..."


def format_table(listings: Sequence[Listing]) -> str:
    """An aligned table, one line per holding process; a line saying so when there is none."""
    if not listings:
        return "no converted sockets found\n"
    rows = [HEADER, *(row for listing in listings for row in _rows(listing))]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n" for r in rows)


def environment_namings(env: Mapping[str, str]) -> list[Naming]:
    """The names unsock makes under this environment: those of its ``UNSOCK_RULES``, else of its
    ``UNSOCK_DIR`` (and the other ``UNSOCK_*``), else the default names in any directory."""
    rules = inherited_rules(env)
    if rules is None and env.get("UNSOCK_DIR"):
        rules = rules_from_config(Config.from_env(env))
    return default_namings() if rules is None else rule_namings(rules)
