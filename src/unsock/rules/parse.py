"""Reading rules: the user syntax (ip2unix's) with positioned errors, ``-r``/``-f`` lists,
the compiled form of ``UNSOCK_RULES``, and the rules of the upstream ``UNSOCK_*`` variables."""

from __future__ import annotations

import errno as errno_module
import ipaddress
import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..config import Config, Range
from ..names import RULE_SCOPES, U32_MAX, VSOCK_CIDS
from .model import (
    ERRNO_MAX,
    FDNAME_MAX,
    PATH_MAX,
    PLACEHOLDER_MIN,
    AbstractAction,
    Action,
    BlackholeAction,
    Direction,
    FirecrackerAction,
    IgnoreAction,
    PathAction,
    PortRef,
    RejectAction,
    Rule,
    RuleError,
    RulesError,
    SockType,
    SystemdAction,
    TipcAction,
    VsockAction,
)

_FLAGS = {"in", "out", "tcp", "stream", "udp", "dgram", "datagram", "reject", "blackhole", "ignore", "systemd",
          "noremove"}
_KEYS = {"addr", "address", "port", "from-unix", "from-abstract", "path", "abstract", "reject", "systemd", "vsock",
         "tipc", "firecracker", "mode"}
_ACTIONS = {"path", "abstract", "reject", "blackhole", "ignore", "systemd", "vsock", "tipc", "firecracker"}
_TYPES: dict[str, SockType] = {"tcp": "stream", "stream": "stream", "udp": "dgram", "dgram": "dgram",
                               "datagram": "dgram"}
_ACTION_LIST = "path=, abstract=, reject, blackhole, ignore, systemd, vsock=, tipc= or firecracker="
_DIGITS = re.compile(r"[0-9]+")
_ERRNO_NAME = re.compile(r"E[A-Z0-9]+", re.IGNORECASE)
_MODE = re.compile(r"[0-7]{1,4}")
_NUMBER_HELP = "use a number from 0 to 4294967295"


@dataclass(frozen=True)
class _Token:
    text: str  # unescaped
    cols: tuple[int, ...]  # 1-based column in the rule of each character of text
    start: int  # column of the token's first character (where it would be if empty)

    def col(self, index: int) -> int:
        return self.cols[index] if index < len(self.cols) else (self.cols[-1] + 1 if self.cols else self.start)


def _tokens(text: str) -> list[_Token]:
    """Split at commas; ``\\,`` and ``\\\\`` are a comma and a backslash, any other
    backslash stays."""
    tokens: list[_Token] = []
    chars: list[str] = []
    cols: list[int] = []
    start = 1
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in ",\\":
            chars.append(text[i + 1])
            cols.append(i + 1)
            i += 2
            continue
        if c == ",":
            tokens.append(_Token("".join(chars), tuple(cols), start))
            chars, cols, start = [], [], i + 2
        else:
            chars.append(c)
            cols.append(i + 1)
        i += 1
    tokens.append(_Token("".join(chars), tuple(cols), start))
    return tokens


def _number(text: str, limit: int) -> int | None:
    """A decimal number no larger than limit, or None."""
    if not _DIGITS.fullmatch(text):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(limit)) or int(digits) > limit:
        return None
    return int(digits)


def _bytes(text: str) -> int:
    return len(os.fsencode(text))


def _placeholders(value: str, tok: _Token, offset: int, what: str) -> list[tuple[str, int]]:
    """The placeholders of a path=/abstract= value (letter and column), checked."""
    found: list[tuple[str, int]] = []
    i = 0
    while i < len(value):
        if value[i] == "%":
            col = tok.col(offset + i)
            if i + 1 >= len(value):
                raise RuleError(f"{what} ends in a lone %: write %% for a %", col)
            letter = value[i + 1]
            if letter not in PLACEHOLDER_MIN:
                raise RuleError(f"%{letter} is not a placeholder: use %p (port), %a (address), %t (tcp or udp) "
                                "or %% (a %)", col)
            found.append((letter, col))
            i += 2
        else:
            i += 1
    return found


def _min_length(template: str) -> int:
    """Bytes of a path=/abstract= value with each placeholder at its shortest."""
    total = 0
    i = 0
    while i < len(template):
        if template[i] == "%" and i + 1 < len(template):
            total += PLACEHOLDER_MIN.get(template[i + 1], 2)
            i += 2
        else:
            total += _bytes(template[i])
            i += 1
    return total


def _check_length(length: int, what: str, col: int) -> None:
    if length > PATH_MAX:
        raise RuleError(f"{what} is {length} bytes long once expanded, at most {PATH_MAX} fit in a unix socket "
                        "address: choose a shorter one", col)


def _absolute(path: str, cwd: str, *, template: bool) -> str:
    if path.startswith("/"):
        return path
    return posixpath.join(cwd.replace("%", "%%") if template else cwd, path)


def _errno(value: str, col: int) -> int:
    """``reject=``'s errno: a name in any case, as ip2unix, or 1 to 4095. ip2unix
    takes any number, but a system call can only fail with 1 to 4095 (larger
    values are results to libc and to seccomp), and 0 is no error."""
    fix = f"use a name such as ECONNREFUSED or a number from 1 to {ERRNO_MAX}"
    if _DIGITS.fullmatch(value):
        digits = value.lstrip("0") or "0"
        number = int(digits) if len(digits) <= len(str(ERRNO_MAX)) else ERRNO_MAX + 1
        if number == 0:
            raise RuleError(f"errno 0 is no error: {fix}", col)
        if number > ERRNO_MAX:
            raise RuleError(f"errno {value} is above {ERRNO_MAX}, the largest a system call can fail with: {fix}", col)
        return number
    named = getattr(errno_module, value.upper(), None) if _ERRNO_NAME.fullmatch(value) else None
    if not isinstance(named, int):
        raise RuleError(f"{value} is not an errno: {fix}", col)
    return named


def _port_ref(text: str, what: str, col: int, *, any_value: bool = False) -> PortRef:
    if text == "%p":
        return "%p"
    if any_value and text == "any":
        return U32_MAX
    value = _number(text, U32_MAX)
    if value is None:
        extra = ", any" if any_value else ""
        raise RuleError(f"{what} {text} is not a number: use 0 to 4294967295{extra} or %p", col)
    return value


class _Parser:
    def __init__(self, text: str, cwd: str) -> None:
        self.text = text
        self.cwd = cwd
        self.cols: dict[str, int] = {}  # column of each field given (by canonical field name)
        self.words: dict[str, str] = {}  # the direction and type words as written
        self.direction: Direction | None = None
        self.sock_type: SockType | None = None
        self.addr: Range | None = None
        self.port: tuple[int, int] | None = None
        self.from_unix: str | None = None
        self.from_abstract: str | None = None
        self.action: Action | None = None
        self.action_name = ""
        self.mode: int | None = None
        self.noremove = False
        self.placeholders: list[tuple[str, int]] = []  # %p/%a in the action, with their columns

    def parse(self) -> Rule:
        if not self.text:
            raise RuleError("the rule is empty: give matches and one action, e.g. in,port=8080,path=/run/app.sock", 1)
        for i, c in enumerate(self.text):
            if ord(c) < 0x20 or ord(c) == 0x7F:
                raise RuleError(f"control character 0x{ord(c):02x} in the rule: remove it", i + 1)
        for tok in _tokens(self.text):
            self.field(tok)
        return self.finish()

    def seen(self, name: str, col: int, what: str) -> None:
        if name in self.cols:
            raise RuleError(f"{what} is given twice: keep one", col)
        self.cols[name] = col

    def field(self, tok: _Token) -> None:
        text = tok.text
        col = tok.start
        if not text:
            raise RuleError("empty field: remove the extra comma", col)
        key, eq, value = text.partition("=")
        if not eq:
            if key not in _FLAGS:
                if key in _KEYS:
                    raise RuleError(f"{key} needs a value: write {key}=VALUE", col)
                raise RuleError(f"unknown word '{key}': use in, out, tcp, udp, stream, dgram, reject, blackhole, "
                                "ignore, systemd, noremove or a KEY=VALUE field", col)
            self.flag(key, col)
            return
        if key not in _KEYS:
            if key in _FLAGS:
                raise RuleError(f"{key} takes no value: write {key} alone", col)
            raise RuleError(f"unknown key '{key}=': use addr=, port=, from-unix=, from-abstract=, path=, abstract=, "
                            "reject=, systemd=, vsock=, tipc=, firecracker= or mode=", col)
        if not value:
            raise RuleError(f"{key}= has an empty value: give one", col)
        self.keyed(key, value, tok, len(key) + 1)

    def set_action(self, name: str, action: Action, col: int) -> None:
        if self.action is not None:
            raise RuleError(f"second action {name} after {self.action_name}: a rule has exactly one action", col)
        self.action, self.action_name = action, name
        self.cols["action"] = col

    def one_of(self, field: str, word: str, col: int, neither: str) -> None:
        """A direction or type word, refused after another: ip2unix would take
        the last one silently, which a rule that reads as both rarely means."""
        if field in self.words:
            first = self.words[field]
            if first == word or _TYPES.get(first, first) == _TYPES.get(word, word):
                raise RuleError(f"{word} repeats {first}: keep one", col)
            raise RuleError(f"{first} and {word} in one rule (ip2unix takes the last, {word}): write {word} alone "
                            f"for that, or {neither}", col)
        self.words[field] = word
        self.cols[field] = col

    def flag(self, word: str, col: int) -> None:
        if word in ("in", "out"):
            self.one_of("direction", word, col, "neither for both directions")
            self.direction = "in" if word == "in" else "out"
        elif word in _TYPES:
            self.one_of("type", word, col, "neither for every type")
            self.sock_type = _TYPES[word]
        elif word == "reject":
            self.set_action(word, RejectAction(), col)
        elif word == "blackhole":
            self.set_action(word, BlackholeAction(), col)
        elif word == "ignore":
            self.set_action(word, IgnoreAction(), col)
        elif word == "systemd":
            self.set_action(word, SystemdAction(), col)
        else:  # noremove
            self.seen("noremove", col, "noremove")
            self.noremove = True

    def keyed(self, key: str, value: str, tok: _Token, offset: int) -> None:
        col = tok.col(offset)
        if key in ("addr", "address"):
            self.seen("addr", tok.start, "addr=")
            try:
                self.addr = Range.parse(value)
            except ValueError:
                raise RuleError(f"{value} is not an IP address or range: use a form like 127.0.0.1, 10.0.0.0/8 "
                                "or fd00::/8", col) from None
        elif key == "port":
            self.seen("port", tok.start, "port=")
            self.port = self.port_range(value, tok, offset)
        elif key in ("from-unix", "from-abstract"):
            other = "from-abstract" if key == "from-unix" else "from-unix"
            if other in self.cols:
                raise RuleError(f"{key}= with {other}=: a rule matches one kind of unix socket, keep one", tok.start)
            self.seen(key, tok.start, f"{key}=")
            if key == "from-unix":
                self.from_unix = value
            else:
                self.from_abstract = value
        elif key == "mode":
            self.seen("mode", tok.start, "mode=")
            if not _MODE.fullmatch(value) or int(value, 8) > 0o777:
                raise RuleError(f"mode {value} is not a file mode: use octal permission bits such as 660 or 0700", col)
            self.mode = int(value, 8)
        else:
            self.set_action(f"{key}=", self.action_value(key, value, tok, offset), tok.start)

    def port_range(self, value: str, tok: _Token, offset: int) -> tuple[int, int]:
        lo_s, dash, hi_s = value.partition("-")
        if not _DIGITS.fullmatch(lo_s) or (dash and not _DIGITS.fullmatch(hi_s)):
            raise RuleError(f"port {value} is not a port or range: use 0 to 65535, or P-Q with P <= Q",
                            tok.col(offset))
        lo = _number(lo_s, 65535)
        if lo is None:
            raise RuleError(f"port {lo_s} is not a port: use 0 to 65535", tok.col(offset))
        if not dash:
            return lo, lo
        hi = _number(hi_s, 65535)
        if hi is None:
            raise RuleError(f"port {hi_s} is not a port: use 0 to 65535", tok.col(offset + len(lo_s) + 1))
        if hi < lo:
            raise RuleError(f"port range {value} is empty: give the lower port first", tok.col(offset))
        return lo, hi

    def action_value(self, key: str, value: str, tok: _Token, offset: int) -> Action:
        col = tok.col(offset)
        if key in ("path", "abstract"):
            what = "path" if key == "path" else "abstract name"
            holders = _placeholders(value, tok, offset, what)
            self.placeholders = [(p, c) for p, c in holders if p in "pa"]
            if key == "abstract":
                _check_length(_min_length(value), what, col)
                return AbstractAction(value)
            path = _absolute(value, self.cwd, template=True)
            _check_length(_min_length(path), what, col)
            return PathAction(path)
        if key == "reject":
            return RejectAction(_errno(value, col))
        if key == "systemd":
            if ":" in value or _bytes(value) > FDNAME_MAX:
                raise RuleError(f"{value} is not a socket name: use the FileDescriptorName= of the socket unit "
                                f"(at most {FDNAME_MAX} characters, no ':')", col)
            return SystemdAction(value)
        if key == "vsock":
            cid_s, colon, port_s = value.partition(":")
            if not colon or ":" in port_s:
                raise RuleError(f"vsock={value} is not CID:PORT: write e.g. vsock=2:%p or vsock=any:8080", col)
            cid = VSOCK_CIDS.get(cid_s, _number(cid_s, U32_MAX))
            if cid is None:
                raise RuleError(f"vsock CID {cid_s} is not one: use a number from 0 to 4294967295, any, "
                                "hypervisor, local or host", col)
            port_col = tok.col(offset + len(cid_s) + 1)
            port = _port_ref(port_s, "vsock port", port_col, any_value=True)
            if port == "%p":
                self.placeholders = [("p", port_col)]
            return VsockAction(cid, port)
        if key == "tipc":
            return self.tipc(value, tok, offset)
        # firecracker
        uds, colon, port_s = value.rpartition(":")
        if not colon or not uds:
            raise RuleError(f"firecracker={value} is not UDS:PORT: write e.g. firecracker=/run/fc.vsock:%p", col)
        port_col = tok.col(offset + len(uds) + 1)
        port = _port_ref(port_s, "Firecracker port", port_col)
        if port == "%p":
            self.placeholders = [("p", port_col)]
        path = _absolute(uds, self.cwd, template=False)
        _check_length(_bytes(path), "Firecracker socket path", col)
        return FirecrackerAction(path, port)

    def tipc(self, value: str, tok: _Token, offset: int) -> TipcAction:
        col = tok.col(offset)
        service, at, scope = value.partition("@")
        parts = service.split(":")
        if len(parts) not in (2, 3) or "" in parts:
            raise RuleError(f"tipc={value} is not TYPE:LOWER[:UPPER][@SCOPE]: write e.g. tipc=1000:%p "
                            "or tipc=1000:0:99@node", col)
        if at and scope not in RULE_SCOPES:
            raise RuleError(f"TIPC scope {scope} is not one: use cluster or node", tok.col(offset + len(service) + 1))
        type_ = _number(parts[0], U32_MAX)
        if type_ is None:
            raise RuleError(f"TIPC type {parts[0]} is not a number: {_NUMBER_HELP}", col)
        refs: list[PortRef] = []
        at_col = offset + len(parts[0]) + 1
        for name, part in zip(("lower", "upper"), parts[1:], strict=False):
            ref = _port_ref(part, f"TIPC {name} instance", tok.col(at_col))
            if ref == "%p":
                self.placeholders.append(("p", tok.col(at_col)))
            refs.append(ref)
            at_col += len(part) + 1
        lower = refs[0]
        upper = refs[1] if len(refs) > 1 else lower
        if isinstance(lower, int) and isinstance(upper, int) and upper < lower:
            raise RuleError(f"TIPC range {lower}:{upper} is empty: give the lower instance first", col)
        return TipcAction(type_, lower, upper, "node" if scope == "node" else "cluster")

    def finish(self) -> Rule:
        cols = self.cols
        action = self.action
        if action is None:
            raise RuleError(f"no action: add one of {_ACTION_LIST}", 1)
        for source in ("from-unix", "from-abstract"):
            for match in ("addr", "port"):
                if source in cols and match in cols:
                    raise RuleError(f"{source}= matches unix sockets, which have no {match}=: remove one of them",
                                    max(cols[source], cols[match]))
        act_col = cols["action"]
        if isinstance(action, BlackholeAction | SystemdAction) and self.direction == "out":
            raise RuleError(f"{self.action_name} is only for in (bind): remove out",
                            max(act_col, cols["direction"]))
        if isinstance(action, FirecrackerAction):
            if self.direction == "in":
                raise RuleError("firecracker= is only for out (connect): remove in", max(act_col, cols["direction"]))
            if self.sock_type == "dgram":
                raise RuleError("firecracker= is only for stream sockets: remove the datagram type",
                                max(act_col, cols["type"]))
        if not isinstance(action, PathAction):
            for option in ("mode", "noremove"):
                if option in cols:
                    name = "mode=" if option == "mode" else "noremove"
                    raise RuleError(f"{name} only applies to path=: remove it", cols[option])
        if self.from_unix is not None or self.from_abstract is not None:
            if isinstance(action, VsockAction | TipcAction | FirecrackerAction):
                raise RuleError(f"{self.action_name} takes IP sockets only, not unix ones: "
                                "use path= or abstract= with from-unix=/from-abstract=", act_col)
            for letter, col in self.placeholders:
                raise RuleError(f"%{letter} in a rule for unix sockets, which have no "
                                f"{'port' if letter == 'p' else 'address'}: remove it", col)
        direction = self.direction
        if isinstance(action, BlackholeAction | SystemdAction):
            direction = "in"
        elif isinstance(action, FirecrackerAction):
            direction = "out"
        return Rule(action=action, direction=direction, sock_type=self.sock_type, addr=self.addr, port=self.port,
                    from_unix=self.from_unix, from_abstract=self.from_abstract, mode=self.mode,
                    noremove=self.noremove)


def parse_rule(text: str, *, cwd: str | None = None) -> Rule:
    """One rule in the user syntax; relative paths are made absolute against
    ``cwd`` (default: the current directory). Raises :class:`RuleError`."""
    return _Parser(text, os.getcwd() if cwd is None else cwd).parse()


def _shown(text: str) -> str:
    return "".join("?" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)


def parse_rules(sources: Iterable[tuple[str, str]], *, cwd: str | None = None) -> list[Rule]:
    """Rules from ``("-r", RULE)`` and ``("-f", FILE)`` sources in command-line
    order. Raises :class:`RulesError` with every error found."""
    cwd = os.getcwd() if cwd is None else cwd
    rules: list[Rule] = []
    errors: list[str] = []
    number = 0

    def one(text: str, where: str) -> None:
        nonlocal number
        number += 1
        try:
            rules.append(parse_rule(text, cwd=cwd))
        except RuleError as e:
            errors.append(f"{where}rule {number} '{_shown(text)}' at position {e.column}: {e.message}")

    for kind, value in sources:
        if kind == "-r":
            one(value, "")
            continue
        try:
            with open(value, "rb") as f:
                content = f.read().decode("utf-8", "surrogateescape")
        except OSError as e:
            errors.append(f"cannot read rule file {value}: {e.strerror}: check the name and its permissions")
            continue
        for lineno, line in enumerate(content.split("\n"), 1):
            stripped = line.lstrip(" \t")
            if stripped and not stripped.startswith("#"):
                one(stripped, f"{value}:{lineno}: ")
    if errors:
        raise RulesError(errors)
    return rules


def parse_compiled(text: str) -> list[Rule]:
    """``UNSOCK_RULES`` as the shim reads it: canonical lines only."""
    rules: list[Rule] = []
    errors: list[str] = []
    for number, line in enumerate(text.split("\n"), 1):
        try:
            rule = parse_rule(line, cwd="/")
        except RuleError as e:
            errors.append(f"UNSOCK_RULES line {number} '{_shown(line)}' at position {e.column}: {e.message}")
            continue
        if rule.canonical() != line:
            errors.append(f"UNSOCK_RULES line {number} '{_shown(line)}' is not in the compiled form "
                          f"'{rule.canonical()}': set it with 'unsock run -r' or 'unsock rules --compiled'")
        rules.append(rule)
    if errors:
        raise RulesError(errors)
    return rules


def compile_rules(rules: Iterable[Rule]) -> str:
    """The value of ``UNSOCK_RULES``."""
    return "\n".join(r.canonical() for r in rules)


def rules_from_config(config: Config) -> list[Rule]:
    """The rules the upstream variables stand for (docs/rules.md)."""
    base = "" if config.dir == "/" else config.dir.replace("%", "%%")
    port = None if config.port == -1 else (config.port, config.port)
    rules: list[Rule] = []
    for r in config.ranges:
        rules.append(Rule(sock_type="dgram", addr=r, port=port, action=PathAction(f"{base}/%p.udp"), mode=config.mode))
        rules.append(Rule(addr=r, port=port, action=PathAction(f"{base}/%p.sock"), mode=config.mode))
    if config.block_inet:
        rules.append(Rule(addr=Range(ipaddress.IPv4Address("0.0.0.0"), 0), action=RejectAction(errno_module.EACCES)))
    return rules
