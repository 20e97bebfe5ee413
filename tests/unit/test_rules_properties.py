"""Properties of the rule language: canonical forms round-trip, the parser fails
only with RuleError, the matcher agrees with ipaddress and takes the first match."""

from __future__ import annotations

import ipaddress
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.rule_strategies import ADDRS, WORDS, rules
from unsock.config import Range
from unsock.rules import (
    Rule,
    RuleError,
    RulesError,
    compile_rules,
    match,
    matches,
    parse_compiled,
    parse_rule,
    parse_rules,
)
from unsock.unixglob import globmatch


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
    assert globmatch("*", text)  # no / in the pattern: matched against the last component
    assert globmatch("/**", "/" + text)
    assert globmatch("?" * len(os.fsencode(text)), text) is ("/" not in text)


@given(st.one_of(st.lists(rules(), min_size=1, max_size=3).map(compile_rules),
                 st.lists(st.lists(WORDS, max_size=8).map("".join), min_size=1, max_size=3).map("\n".join),
                 st.text(max_size=40)))  # fmt: skip
@settings(max_examples=300)
def test_compiled_reader_fails_only_with_rules_errors(text: str) -> None:
    """UNSOCK_RULES as the shim reads it (tests/fuzz checks the shim's reader agrees): the compiled
    form only, read back to exactly the same text; anything else a RulesError, one line a bad rule."""
    try:
        rule_list = parse_compiled(text)
    except RulesError as e:
        assert 1 <= len(e.errors) <= text.count("\n") + 1
        return
    assert compile_rules(rule_list) == text
