"""Properties of the rule language: canonical forms round-trip, the parser fails
only with RuleError, the matcher agrees with ipaddress and takes the first match."""

from __future__ import annotations

import ipaddress
import os
import re

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from unsock.config import Range
from unsock.rules import (
    PATH_MAX,
    AbstractAction,
    Action,
    BlackholeAction,
    FirecrackerAction,
    IgnoreAction,
    PathAction,
    RejectAction,
    Rule,
    RuleError,
    RulesError,
    SystemdAction,
    TipcAction,
    VsockAction,
    compile_rules,
    match,
    matches,
    parse_rule,
    parse_rules,
)
from unsock.unixglob import globmatch

U32 = st.integers(0, 0xFFFFFFFF)
TEXT_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f%")
LITERAL = st.text(TEXT_CHARS, min_size=1, max_size=12)


def templates(ip: bool) -> st.SearchStrategy[str]:
    holders = ["%p", "%a", "%t", "%%"] if ip else ["%t", "%%"]
    return st.lists(st.one_of(LITERAL, st.sampled_from(holders)), min_size=1, max_size=6).map("".join)


def min_len(template: str) -> int:
    short = {"%p": "0", "%a": "::", "%t": "tcp", "%%": "%"}
    return len(os.fsencode(re.sub(r"%.", lambda m: short[m.group()], template)))


def port_refs(ip: bool) -> st.SearchStrategy[int | str]:
    return st.one_of(U32, st.just("%p")) if ip else U32


@st.composite
def actions(draw: st.DrawFn, ip: bool) -> Action:
    kinds = ["path", "abstract", "reject", "blackhole", "ignore", "systemd"]
    kind = draw(st.sampled_from(kinds + ["vsock", "tipc", "firecracker"] if ip else kinds))
    if kind == "path":
        path = "/" + draw(templates(ip))
        assume(min_len(path) <= PATH_MAX)
        return PathAction(path)
    if kind == "abstract":
        name = draw(templates(ip))
        assume(min_len(name) <= PATH_MAX)
        return AbstractAction(name)
    if kind == "reject":
        return RejectAction(draw(st.integers(1, 4095)))
    if kind == "blackhole":
        return BlackholeAction()
    if kind == "ignore":
        return IgnoreAction()
    if kind == "systemd":
        name = draw(st.none() | st.text(TEXT_CHARS.filter(lambda c: c != ":"), min_size=1, max_size=20))
        return SystemdAction(name)
    if kind == "vsock":
        return VsockAction(draw(U32), draw(port_refs(ip)))  # type: ignore[arg-type]
    if kind == "tipc":
        lower, upper = draw(port_refs(ip)), draw(port_refs(ip))
        if isinstance(lower, int) and isinstance(upper, int) and upper < lower:
            lower, upper = upper, lower
        return TipcAction(draw(U32), lower, upper, draw(st.sampled_from(["cluster", "node"])))  # type: ignore[arg-type]
    uds = "/" + draw(st.text(TEXT_CHARS | st.just("%"), max_size=30))
    assume(len(os.fsencode(uds)) <= PATH_MAX)
    return FirecrackerAction(uds, draw(port_refs(ip)))  # type: ignore[arg-type]


ADDRS = st.one_of(
    st.builds(lambda a, p: Range(ipaddress.IPv4Address(a), p), st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.builds(lambda a, p: Range(ipaddress.IPv6Address(a), p), st.integers(0, 2**128 - 1), st.integers(0, 128)),
)
PORTS = st.tuples(st.integers(0, 65535), st.integers(0, 65535)).map(lambda t: (min(t), max(t)))


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    source = draw(st.sampled_from(["ip", "unix", "abstract"]))
    ip = source == "ip"
    action = draw(actions(ip))
    direction = draw(st.sampled_from([None, "in", "out"]))
    sock_type = draw(st.sampled_from([None, "stream", "dgram"]))
    if isinstance(action, BlackholeAction | SystemdAction):
        direction = "in"
    if isinstance(action, FirecrackerAction):
        direction = "out"
        sock_type = draw(st.sampled_from([None, "stream"]))
    glob = draw(st.text(TEXT_CHARS | st.just("%"), min_size=1, max_size=20))
    path = isinstance(action, PathAction)
    return Rule(
        action=action,
        direction=direction,  # type: ignore[arg-type]
        sock_type=sock_type,  # type: ignore[arg-type]
        addr=draw(st.none() | ADDRS) if ip else None,
        port=draw(st.none() | PORTS) if ip else None,
        from_unix=glob if source == "unix" else None,
        from_abstract=glob if source == "abstract" else None,
        mode=draw(st.none() | st.integers(0, 0o777)) if path else None,
        noremove=draw(st.booleans()) if path else False,
    )


@given(rules())
@settings(max_examples=400)
def test_canonical_round_trips(rule: Rule) -> None:
    text = rule.canonical()
    assert parse_rule(text, cwd="/nowhere") == rule
    assert parse_rule(text, cwd="/").canonical() == text
    assert "\n" not in text


@given(st.lists(rules(), max_size=5))
def test_compiled_lists_round_trip(rule_list: list[Rule]) -> None:
    sources = [("-r", r.canonical()) for r in rule_list]
    assert parse_rules(sources, cwd="/") == rule_list
    assert compile_rules(rule_list).count("\n") == max(len(rule_list) - 1, 0)


WORDS = st.sampled_from(
    ["in", "out", "tcp", "udp", "stream", "dgram", "reject", "blackhole", "ignore", "systemd", "noremove", "addr=",
     "port=", "from-unix=", "from-abstract=", "path=", "abstract=", "reject=", "systemd=", "vsock=", "tipc=",
     "firecracker=", "mode=", ",", "\\", "%", "%p", ":", "@", "-", "/", "1", "0", "any", "::1", "10.0.0.0/8", "x"]
)


@given(st.one_of(st.text(), st.lists(WORDS, max_size=12).map("".join)))
@settings(max_examples=500)
def test_parse_raises_only_rule_errors(text: str) -> None:
    try:
        rule = parse_rule(text, cwd="/c")
    except RuleError as e:
        assert 1 <= e.column <= len(text) + 1
        assert ": " in e.message and "\n" not in e.message
        return
    assert parse_rule(rule.canonical(), cwd="/") == rule


@given(st.lists(st.text(max_size=30), max_size=4))
def test_parse_rules_collects_one_line_per_bad_rule(texts: list[str]) -> None:
    bad = 0
    for t in texts:
        try:
            parse_rule(t, cwd="/")
        except RuleError:
            bad += 1
    try:
        parse_rules([("-r", t) for t in texts], cwd="/")
    except RulesError as e:
        assert len(e.errors) == bad
        assert all("\n" not in line for line in e.errors)
    else:
        assert bad == 0


@given(ADDRS, st.one_of(st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
                        st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)))
@settings(max_examples=400)
def test_addr_matches_exactly_its_network(r: Range, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    rule = parse_rule(f"addr={r},ignore", cwd="/")
    expected = address.version == r.address.version and address in r.network
    assert (match([rule], "out", "stream", (str(address), 1)) == 0) is expected
    if address.version == 4:  # an IPv4 rule matches the IPv4-mapped form too; an IPv6 rule only IPv6 ones
        mapped = ipaddress.IPv6Address(f"::ffff:{address}")
        expected_mapped = mapped in r.network if r.address.version == 6 else address in r.network
        assert (match([rule], "out", "stream", (str(mapped), 1)) == 0) is expected_mapped


@given(st.lists(rules(), max_size=6), st.sampled_from(["in", "out"]), st.sampled_from(["stream", "dgram"]),
       st.one_of(st.tuples(st.sampled_from(["127.0.0.1", "::1", "10.1.2.3", "::ffff:10.1.2.3", "0.0.0.0"]),
                           st.integers(0, 65535)),
                 st.tuples(st.sampled_from(["unix", "abstract"]), st.text(max_size=10))))
def test_first_match_wins(rule_list: list[Rule], direction: str, type_: str,
                          address: tuple[str, int] | tuple[str, str]) -> None:
    each = [matches(r, direction, type_, address) for r in rule_list]  # type: ignore[arg-type]
    expected = each.index(True) if True in each else None
    assert match(rule_list, direction, type_, address) == expected  # type: ignore[arg-type]


@given(st.text(max_size=20))
def test_glob_of_escaped_text_matches_only_it(text: str) -> None:
    pattern = "".join("\\" + c for c in text)
    assert globmatch(pattern, text)
    assert not globmatch(pattern, text + "x")
    assert globmatch("**", text)
    assert globmatch("*", text) is ("/" not in text)
    assert globmatch("?" * len(os.fsencode(text)), text) is ("/" not in text)
