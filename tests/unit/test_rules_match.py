"""The reference matcher, placeholder expansion and the glob of from-unix/from-abstract."""

from __future__ import annotations

import pytest

from unsock.rules import Rule, expand, match, parse_rule
from unsock.unixglob import GLOBSTAR, compile_glob, globmatch


def rules(*texts: str) -> list[Rule]:
    return [parse_rule(t, cwd="/") for t in texts]


MATCHES = [
    # (rules, direction, type, address, index)
    (["in,path=/a"], "in", "stream", ("1.2.3.4", 1), 0),
    (["in,path=/a"], "out", "stream", ("1.2.3.4", 1), None),
    (["out,path=/a"], "out", "dgram", ("1.2.3.4", 1), 0),
    (["tcp,path=/a"], "in", "dgram", ("1.2.3.4", 1), None),
    (["udp,path=/a"], "in", "dgram", ("1.2.3.4", 1), 0),
    (["path=/a"], "in", "stream", ("::", 0), 0),
    (["addr=127.0.0.0/8,path=/a"], "out", "stream", ("127.255.255.255", 9), 0),
    (["addr=127.0.0.0/8,path=/a"], "out", "stream", ("::ffff:127.0.0.1", 9), 0),
    (["addr=127.0.0.0/8,path=/a"], "out", "stream", ("::ffff:128.0.0.1", 9), None),
    (["addr=127.0.0.0/8,path=/a"], "out", "stream", ("::1", 9), None),
    (["addr=::1,path=/a"], "out", "stream", ("127.0.0.1", 9), None),
    (["addr=::ffff:0:0/96,path=/a"], "out", "stream", ("::ffff:1.2.3.4", 9), 0),
    (["port=5,path=/a"], "out", "stream", ("1.1.1.1", 5), 0),
    (["port=5,path=/a"], "out", "stream", ("1.1.1.1", 6), None),
    (["port=5-6,path=/a"], "out", "stream", ("1.1.1.1", 6), 0),
    (["port=1,ignore", "port=1,reject", "path=/a"], "out", "stream", ("1.1.1.1", 1), 0),
    (["port=1,ignore", "port=1,reject", "path=/a"], "out", "stream", ("1.1.1.1", 2), 2),
    ([], "out", "stream", ("1.1.1.1", 2), None),
    (["from-unix=/run/*,ignore"], "out", "stream", ("unix", "/run/x"), 0),
    (["from-unix=/run/*,ignore"], "out", "stream", ("abstract", "/run/x"), None),
    (["from-abstract=*,ignore"], "out", "stream", ("abstract", ""), 0),
    (["ignore"], "out", "stream", ("unix", "/run/x"), None),
    (["from-unix=**,ignore"], "out", "stream", ("1.1.1.1", 2), None),
    (["in,from-unix=**,ignore"], "out", "stream", ("unix", "/x"), None),
]


@pytest.mark.parametrize(("texts", "direction", "type_", "address", "index"), MATCHES)
def test_match(texts: list[str], direction: str, type_: str, address: tuple[str, int | str], index: int | None) -> None:
    assert match(rules(*texts), direction, type_, address) == index  # type: ignore[arg-type]


EXPANSIONS = [
    # (rule, type, ip, port, target)
    ("path=/s/%p.sock", "stream", "1.2.3.4", 80, "/s/80.sock"),
    ("path=/s/%t/%p", "dgram", "1.2.3.4", 53, "/s/udp/53"),
    ("path=/s/%t", "stream", None, None, "/s/tcp"),
    ("path=/s/%a", "stream", "127.0.0.1", 1, "/s/127.0.0.1"),
    ("path=/s/%a", "stream", "0:0:0:0:0:0:0:1", 1, "/s/::1"),
    ("path=/s/%a", "stream", "2001:db8:0:0:1:0:0:1", 1, "/s/2001:db8::1:0:0:1"),
    ("path=/s/%a", "stream", "::ffff:10.1.2.3", 1, "/s/::ffff:10.1.2.3"),
    ("path=/s/%%p%%%p", "stream", "1.1.1.1", 7, "/s/%p%7"),
    ("abstract=%a-%p", "dgram", "::", 0, "::-0"),
    ("vsock=3:%p", "stream", "1.1.1.1", 65535, "3:65535"),
    ("vsock=any:any", "stream", "1.1.1.1", 1, "4294967295:4294967295"),
    ("tipc=9:%p:100", "stream", "1.1.1.1", 4, "9:4:100@cluster"),
    ("firecracker=/fc:%p", "stream", "1.1.1.1", 4, "/fc:4"),
    ("firecracker=/fc%p:5", "stream", "1.1.1.1", 4, "/fc%p:5"),
]


@pytest.mark.parametrize(("text", "type_", "ip", "port", "target"), EXPANSIONS)
def test_expand(text: str, type_: str, ip: str | None, port: int | None, target: str) -> None:
    assert expand(parse_rule(text, cwd="/"), type_, ip, port) == target  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["reject", "ignore", "blackhole", "systemd", "systemd=x"])
def test_expand_without_target(text: str) -> None:
    with pytest.raises(ValueError, match="has no target"):
        expand(parse_rule(text, cwd="/"), "stream", "1.1.1.1", 1)


@pytest.mark.parametrize("text", ["path=/%p", "path=/%a", "vsock=1:%p", "tipc=1:%p", "firecracker=/f:%p"])
def test_expand_needs_what_it_uses(text: str) -> None:
    with pytest.raises(ValueError, match="without"):
        expand(parse_rule(text, cwd="/"), "stream", None, None)


GLOBS = [
    ("/run/*.sock", "/run/a.sock", True),
    ("/run/*.sock", "/run/a/b.sock", False),
    ("/run/**.sock", "/run/a/b.sock", False),  # ** that is not a whole component is *
    ("/run/**/*.sock", "/run/a/b.sock", True),
    ("/run/**/*.sock", "/run/b.sock", True),
    ("*.sock", "/run/a/b.sock", True),  # no / in the pattern: the last component
    ("/run/?", "/run/a", True),
    ("/run/?", "/run//", False),
    ("/run/[ab]", "/run/b", True),
    ("/run/[!ab]", "/run/b", False),
    ("/run/[a-c][!0-9]", "/run/cx", True),
    ("/run/\\*", "/run/*", True),
    ("/run/\\*", "/run/x", False),
    ("/run/[", "/run/[", True),
    ("x\\", "x\\", True),
    (b"\xff*", b"\xff\xfe", True),
]


@pytest.mark.parametrize(("pattern", "name", "expected"), GLOBS)
def test_glob(pattern: str | bytes, name: str | bytes, expected: bool) -> None:
    assert globmatch(pattern, name) is expected


def test_glob_components() -> None:
    assert compile_glob("a***?") == ((ord("a"), "*", "?"),)
    assert compile_glob("[") == ((ord("["),),)
    assert len(compile_glob("[]-a][!x]")[0]) == 2
    assert compile_glob("**/a/**") == (GLOBSTAR, (ord("a"),), GLOBSTAR)
    assert compile_glob("a\\/[/]") == ((ord("a"),), (ord("["),), (ord("]"),))


def test_glob_is_not_exponential() -> None:
    assert not globmatch("*a" * 40 + "b", "a" * 100)
    assert not globmatch("**a" * 40 + "b", "a" * 100)
