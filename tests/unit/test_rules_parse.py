"""Rules in the user syntax: what is accepted and its compiled form, what is
refused with which message at which position (docs/rules.md)."""

from __future__ import annotations

import errno
import ipaddress
from pathlib import Path

import pytest

from unsock import ConfigError
from unsock.config import Config, Range
from unsock.rules import (
    FirecrackerAction,
    PathAction,
    RejectAction,
    Rule,
    RuleError,
    RulesError,
    SystemdAction,
    TipcAction,
    VsockAction,
    compile_rules,
    parse_compiled,
    parse_rule,
    parse_rules,
    rules_from_config,
)

CWD = "/home/u"
V6_ONE = "0000:0000:0000:0000:0000:0000:0000:0001"

ACCEPTED = [
    # matches, spelled every way
    ("in,tcp,port=8080,path=/run/app/http.sock", "in,stream,port=8080,path=/run/app/http.sock"),
    ("out,stream,path=/s", "out,stream,path=/s"),
    ("udp,path=/s", "dgram,path=/s"),
    ("datagram,path=/s", "dgram,path=/s"),
    ("dgram,in,path=/s", "in,dgram,path=/s"),
    ("path=/s,port=80,in", "in,port=80,path=/s"),
    ("addr=10.0.0.0/8,reject", "addr=10.0.0.0/8,reject=13"),
    ("address=10.1.2.3,reject", "addr=10.1.2.3/32,reject=13"),
    ("addr=10.1.2.3/8,reject", "addr=10.1.2.3/8,reject=13"),  # host bits kept
    ("addr=::1,ignore", f"addr={V6_ONE}/128,ignore"),
    ("addr=fd00::/8,ignore", "addr=fd00:0000:0000:0000:0000:0000:0000:0000/8,ignore"),
    ("addr=0.0.0.0/0,ignore", "addr=0.0.0.0/0,ignore"),
    ("port=0,ignore", "port=0,ignore"),
    ("port=65535,ignore", "port=65535,ignore"),
    ("port=00080,ignore", "port=80,ignore"),
    ("port=80-90,ignore", "port=80-90,ignore"),
    ("port=80-80,ignore", "port=80,ignore"),
    ("port=0-65535,ignore", "port=0-65535,ignore"),
    ("from-unix=/run/*.sock,path=/x", "from-unix=/run/*.sock,path=/x"),
    ("from-unix=/run/\\*.sock,path=/x", "from-unix=/run/\\\\*.sock,path=/x"),
    ("from-unix=/run/\\\\*.sock,path=/x", "from-unix=/run/\\\\*.sock,path=/x"),
    ("from-unix=rel/*,ignore", "from-unix=rel/*,ignore"),  # globs are not made absolute
    ("from-abstract=app-*,abstract=other-%t", "from-abstract=app-*,abstract=other-%t"),
    ("from-unix=/a\\,b,ignore", "from-unix=/a\\,b,ignore"),
    # actions
    ("path=/tmp/a\\,b.sock", "path=/tmp/a\\,b.sock"),
    ("path=/tmp/a\\\\b", "path=/tmp/a\\\\b"),
    ("path=/tmp/a\\b", "path=/tmp/a\\\\b"),
    ("path=/tmp/a\\", "path=/tmp/a\\\\"),
    ("path=/tmp/%p-%a-%t-%%.sock", "path=/tmp/%p-%a-%t-%%.sock"),
    ("path=sock/%p", "path=/home/u/sock/%p"),
    ("path=./x", "path=/home/u/./x"),
    ("path=/tmp/é", "path=/tmp/é"),
    ("path=/a=b", "path=/a=b"),
    ("abstract=name", "abstract=name"),
    ("abstract=%a:%p", "abstract=%a:%p"),
    ("reject", "reject=13"),
    ("reject=ECONNREFUSED", f"reject={errno.ECONNREFUSED}"),
    ("reject=econnrefused", f"reject={errno.ECONNREFUSED}"),
    ("reject=EWOULDBLOCK", f"reject={errno.EAGAIN}"),
    ("reject=1", "reject=1"),
    ("reject=4095", "reject=4095"),
    ("reject=0111", "reject=111"),
    ("blackhole", "in,blackhole"),
    ("in,blackhole", "in,blackhole"),
    ("ignore", "ignore"),
    ("systemd", "in,systemd"),
    ("tcp,systemd=web", "in,stream,systemd=web"),
    ("systemd=a\\,b", "in,systemd=a\\,b"),
    ("vsock=2:%p", "vsock=2:%p"),
    ("vsock=any:any", "vsock=4294967295:4294967295"),
    ("vsock=hypervisor:1", "vsock=0:1"),
    ("vsock=local:1", "vsock=1:1"),
    ("vsock=host:0", "vsock=2:0"),
    ("vsock=4294967295:4294967295", "vsock=4294967295:4294967295"),
    ("vsock=003:08", "vsock=3:8"),
    ("tipc=1000:%p", "tipc=1000:%p:%p@cluster"),
    ("tipc=1000:5", "tipc=1000:5:5@cluster"),
    ("tipc=1000:0:99@node", "tipc=1000:0:99@node"),
    ("tipc=0:%p:100@cluster", "tipc=0:%p:100@cluster"),
    ("tipc=4294967295:4294967295", "tipc=4294967295:4294967295:4294967295@cluster"),
    ("tipc=1:5@node", "tipc=1:5:5@node"),
    ("firecracker=/run/fc.vsock:%p", "out,firecracker=/run/fc.vsock:%p"),
    ("out,tcp,firecracker=/run/fc.vsock:52", "out,stream,firecracker=/run/fc.vsock:52"),
    ("firecracker=fc.sock:1", "out,firecracker=/home/u/fc.sock:1"),
    ("firecracker=/a:b:7", "out,firecracker=/a:b:7"),
    ("firecracker=/a%p:7", "out,firecracker=/a%p:7"),  # the socket path is taken literally
    # options
    ("path=/s,mode=660", "path=/s,mode=0660"),
    ("path=/s,mode=0", "path=/s,mode=0000"),
    ("path=/s,mode=0777", "path=/s,mode=0777"),
    ("noremove,path=/s", "path=/s,noremove"),
    ("mode=600,noremove,path=/s,out", "out,path=/s,mode=0600,noremove"),
    # everything at once
    (
        "tcp,out,addr=127.0.0.1,port=1-2,path=/r/%p,mode=7,noremove",
        "out,stream,addr=127.0.0.1/32,port=1-2,path=/r/%p,mode=0007,noremove",
    ),
    # path lengths at the limit: 107 bytes, placeholders at their shortest
    ("path=/" + "a" * 106, "path=/" + "a" * 106),
    ("path=/" + "a" * 105 + "%p", "path=/" + "a" * 105 + "%p"),
    ("path=/" + "a" * 104 + "%a", "path=/" + "a" * 104 + "%a"),
    ("path=/" + "a" * 103 + "%t", "path=/" + "a" * 103 + "%t"),
    ("path=/" + "a" * 105 + "%%", "path=/" + "a" * 105 + "%%"),
    ("abstract=" + "a" * 107, "abstract=" + "a" * 107),
    ("firecracker=/" + "a" * 106 + ":1", "out,firecracker=/" + "a" * 106 + ":1"),
]


@pytest.mark.parametrize(("text", "canonical"), ACCEPTED)
def test_accepted(text: str, canonical: str) -> None:
    rule = parse_rule(text, cwd=CWD)
    assert rule.canonical() == canonical
    again = parse_rule(canonical, cwd="/elsewhere")
    assert again == rule
    assert again.canonical() == canonical


def test_relative_path_in_a_directory_with_percent_keeps_it_literal() -> None:
    rule = parse_rule("path=x%p", cwd="/tmp/100%")
    assert rule.action == PathAction("/tmp/100%%/x%p")
    assert parse_rule("firecracker=x:1", cwd="/tmp/100%").action == FirecrackerAction("/tmp/100%/x", 1)
    assert parse_rule("path=x", cwd="/").action == PathAction("/x")


def test_rule_fields() -> None:
    rule = parse_rule("out,udp,addr=10.0.0.1/8,port=5-6,path=/s,mode=640,noremove", cwd=CWD)
    assert rule == Rule(
        direction="out",
        sock_type="dgram",
        addr=Range(ipaddress.IPv4Address("10.0.0.1"), 8),
        port=(5, 6),
        action=PathAction("/s"),
        mode=0o640,
        noremove=True,
    )
    assert parse_rule("reject=EPERM", cwd=CWD).action == RejectAction(errno.EPERM)
    assert parse_rule("systemd", cwd=CWD).action == SystemdAction(None)
    assert parse_rule("vsock=any:%p", cwd=CWD).action == VsockAction(0xFFFFFFFF, "%p")
    assert parse_rule("tipc=7:%p:9@node", cwd=CWD).action == TipcAction(7, "%p", 9, "node")


LONG = "/" + "a" * 106  # 107 bytes
IP_ONLY = "takes IP sockets only, not unix ones: use path= or abstract= with from-unix=/from-abstract="

REFUSED = [
    # (rule, position, message)
    ("", 1, "the rule is empty: give matches and one action, e.g. in,port=8080,path=/run/app.sock"),
    ("in,path=/a\nb", 11, "control character 0x0a in the rule: remove it"),
    ("in,path=/a\x7f", 11, "control character 0x7f in the rule: remove it"),
    ("in,,path=/s", 4, "empty field: remove the extra comma"),
    ("in,path=/s,", 12, "empty field: remove the extra comma"),
    (",in,path=/s", 1, "empty field: remove the extra comma"),
    ("in,path", 4, "path needs a value: write path=VALUE"),
    ("port,ignore", 1, "port needs a value: write port=VALUE"),
    (
        "in,tcp6,path=/s",
        4,
        "unknown word 'tcp6': use in, out, tcp, udp, stream, dgram, reject, blackhole, ignore, systemd, "
        "noremove or a KEY=VALUE field",
    ),
    (
        "IN,path=/s",
        1,
        "unknown word 'IN': use in, out, tcp, udp, stream, dgram, reject, blackhole, ignore, systemd, "
        "noremove or a KEY=VALUE field",
    ),
    (
        "in, tcp,path=/s",
        4,
        "unknown word ' tcp': use in, out, tcp, udp, stream, dgram, reject, blackhole, ignore, systemd, "
        "noremove or a KEY=VALUE field",
    ),
    ("in=1,path=/s", 1, "in takes no value: write in alone"),
    ("path=/s,noremove=yes", 9, "noremove takes no value: write noremove alone"),
    (
        "in,unix=/x",
        4,
        "unknown key 'unix=': use addr=, port=, from-unix=, from-abstract=, path=, abstract=, reject=, systemd=, "
        "vsock=, tipc=, firecracker= or mode=",
    ),
    ("in,path=", 4, "path= has an empty value: give one"),
    ("reject=", 1, "reject= has an empty value: give one"),
    ("in,path=/a,path=/b", 12, "second action path= after path=: a rule has exactly one action"),
    ("reject,ignore", 8, "second action ignore after reject: a rule has exactly one action"),
    ("systemd,systemd=x", 9, "second action systemd= after systemd: a rule has exactly one action"),
    (
        "in,out,ignore",
        4,
        "in and out in one rule (ip2unix takes the last, out): write out alone for that, "
        "or neither for both directions",
    ),
    ("in,in,ignore", 4, "in repeats in: keep one"),
    (
        "tcp,udp,ignore",
        5,
        "tcp and udp in one rule (ip2unix takes the last, udp): write udp alone for that, or neither for every type",
    ),
    ("tcp,stream,ignore", 5, "stream repeats tcp: keep one"),
    ("addr=1.2.3.4,address=1.2.3.4,ignore", 14, "addr= is given twice: keep one"),
    ("port=1,port=1,ignore", 8, "port= is given twice: keep one"),
    ("path=/s,mode=600,mode=600", 18, "mode= is given twice: keep one"),
    ("path=/s,noremove,noremove", 18, "noremove is given twice: keep one"),
    ("from-unix=/a,from-unix=/b,ignore", 14, "from-unix= is given twice: keep one"),
    (
        "from-unix=/a,from-abstract=b,ignore",
        14,
        "from-abstract= with from-unix=: a rule matches one kind of unix socket, keep one",
    ),
    (
        "addr=localhost,ignore",
        6,
        "localhost is not an IP address or range: use a form like 127.0.0.1, 10.0.0.0/8 or fd00::/8",
    ),
    (
        "out,addr=10.0.0.0/33,ignore",
        10,
        "10.0.0.0/33 is not an IP address or range: use a form like 127.0.0.1, 10.0.0.0/8 or fd00::/8",
    ),
    (
        "addr=fe80::1%eth0,ignore",
        6,
        "fe80::1%eth0 is not an IP address or range: use a form like 127.0.0.1, 10.0.0.0/8 or fd00::/8",
    ),
    ("in,port=99999,path=/tmp/x", 9, "port 99999 is not a port: use 0 to 65535"),
    ("port=65536,ignore", 6, "port 65536 is not a port: use 0 to 65535"),
    ("port=1-65536,ignore", 8, "port 65536 is not a port: use 0 to 65535"),
    ("port=http,ignore", 6, "port http is not a port or range: use 0 to 65535, or P-Q with P <= Q"),
    ("port=-1,ignore", 6, "port -1 is not a port or range: use 0 to 65535, or P-Q with P <= Q"),
    ("port=1-2-3,ignore", 6, "port 1-2-3 is not a port or range: use 0 to 65535, or P-Q with P <= Q"),
    ("port=1-,ignore", 6, "port 1- is not a port or range: use 0 to 65535, or P-Q with P <= Q"),
    ("port=90-80,ignore", 6, "port range 90-80 is empty: give the lower port first"),
    ("mode=800,path=/s", 6, "mode 800 is not a file mode: use octal permission bits such as 660 or 0700"),
    ("mode=1777,path=/s", 6, "mode 1777 is not a file mode: use octal permission bits such as 660 or 0700"),
    ("mode=rw,path=/s", 6, "mode rw is not a file mode: use octal permission bits such as 660 or 0700"),
    ("path=/tmp/%", 11, "path ends in a lone %: write %% for a %"),
    ("abstract=x%", 11, "abstract name ends in a lone %: write %% for a %"),
    (
        "path=/tmp/%d.sock",
        11,
        "%d is not a placeholder: use %p (port), %a (address), %t (tcp or udp) or %% (a %)",
    ),
    (
        "path=/a\\,%P",
        10,
        "%P is not a placeholder: use %p (port), %a (address), %t (tcp or udp) or %% (a %)",
    ),
    (
        "path=/" + "a" * 107,
        6,
        "path is 108 bytes long once expanded, at most 107 fit in a unix socket address: choose a shorter one",
    ),
    (
        "path=/" + "a" * 106 + "%p",
        6,
        "path is 108 bytes long once expanded, at most 107 fit in a unix socket address: choose a shorter one",
    ),
    (
        "path=/" + "é" * 54,
        6,
        "path is 109 bytes long once expanded, at most 107 fit in a unix socket address: choose a shorter one",
    ),
    (
        "path=" + "a" * 100,
        6,
        "path is 108 bytes long once expanded, at most 107 fit in a unix socket address: choose a shorter one",
    ),
    (
        "abstract=" + "a" * 106 + "%t",
        10,
        "abstract name is 109 bytes long once expanded, at most 107 fit in a unix socket address: "
        "choose a shorter one",
    ),
    (
        "firecracker=" + LONG + "a:1",
        13,
        "Firecracker socket path is 108 bytes long once expanded, at most 107 fit in a unix socket address: "
        "choose a shorter one",
    ),
    ("reject=ENOSUCH", 8, "ENOSUCH is not an errno: use a name such as ECONNREFUSED or a number from 1 to 4095"),
    ("reject=0", 8, "errno 0 is no error: use a name such as ECONNREFUSED or a number from 1 to 4095"),
    ("reject=000", 8, "errno 0 is no error: use a name such as ECONNREFUSED or a number from 1 to 4095"),
    (
        "reject=4096",
        8,
        "errno 4096 is above 4095, the largest a system call can fail with: use a name such as ECONNREFUSED or "
        "a number from 1 to 4095",
    ),
    (
        "reject=99999999999999999999",
        8,
        "errno 99999999999999999999 is above 4095, the largest a system call can fail with: use a name such as "
        "ECONNREFUSED or a number from 1 to 4095",
    ),
    ("reject=econnrefusedx", 8,
     "econnrefusedx is not an errno: use a name such as ECONNREFUSED or a number from 1 to 4095"),
    ("reject=errorcode", 8, "errorcode is not an errno: use a name such as ECONNREFUSED or a number from 1 to 4095"),
    (
        "systemd=a:b",
        9,
        "a:b is not a socket name: use the FileDescriptorName= of the socket unit (at most 255 characters, no ':')",
    ),
    (
        "systemd=" + "n" * 256,
        9,
        "n" * 256 + " is not a socket name: use the FileDescriptorName= of the socket unit "
        "(at most 255 characters, no ':')",
    ),
    ("vsock=2", 7, "vsock=2 is not CID:PORT: write e.g. vsock=2:%p or vsock=any:8080"),
    ("vsock=2:3:4", 7, "vsock=2:3:4 is not CID:PORT: write e.g. vsock=2:%p or vsock=any:8080"),
    (
        "vsock=guest:1",
        7,
        "vsock CID guest is not one: use a number from 0 to 4294967295, any, hypervisor, local or host",
    ),
    (
        "vsock=4294967296:1",
        7,
        "vsock CID 4294967296 is not one: use a number from 0 to 4294967295, any, hypervisor, local or host",
    ),
    ("vsock=2:", 9, "vsock port  is not a number: use 0 to 4294967295, any or %p"),
    ("vsock=2:%a", 9, "vsock port %a is not a number: use 0 to 4294967295, any or %p"),
    ("vsock=2:-1", 9, "vsock port -1 is not a number: use 0 to 4294967295, any or %p"),
    (
        "tipc=1000",
        6,
        "tipc=1000 is not TYPE:LOWER[:UPPER][@SCOPE]: write e.g. tipc=1000:%p or tipc=1000:0:99@node",
    ),
    (
        "tipc=1:2:3:4",
        6,
        "tipc=1:2:3:4 is not TYPE:LOWER[:UPPER][@SCOPE]: write e.g. tipc=1000:%p or tipc=1000:0:99@node",
    ),
    (
        "tipc=1::3",
        6,
        "tipc=1::3 is not TYPE:LOWER[:UPPER][@SCOPE]: write e.g. tipc=1000:%p or tipc=1000:0:99@node",
    ),
    ("tipc=1:2@zone", 10, "TIPC scope zone is not one: use cluster or node"),
    ("tipc=1:2@", 10, "TIPC scope  is not one: use cluster or node"),
    ("tipc=%p:2", 6, "TIPC type %p is not a number: use a number from 0 to 4294967295"),
    ("tipc=1:x", 8, "TIPC lower instance x is not a number: use 0 to 4294967295 or %p"),
    ("tipc=1:2:4294967296", 10, "TIPC upper instance 4294967296 is not a number: use 0 to 4294967295 or %p"),
    ("tipc=1:9:2", 6, "TIPC range 9:2 is empty: give the lower instance first"),
    ("firecracker=/run/fc", 13, "firecracker=/run/fc is not UDS:PORT: write e.g. firecracker=/run/fc.vsock:%p"),
    ("firecracker=:5", 13, "firecracker=:5 is not UDS:PORT: write e.g. firecracker=/run/fc.vsock:%p"),
    ("firecracker=/fc:any", 17, "Firecracker port any is not a number: use 0 to 4294967295 or %p"),
    # whole-rule checks
    (
        "in,tcp,port=80",
        1,
        "no action: add one of path=, abstract=, reject, blackhole, ignore, systemd, vsock=, tipc= or firecracker=",
    ),
    ("from-unix=/a,addr=1.2.3.4,ignore", 14,
     "from-unix= matches unix sockets, which have no addr=: remove one of them"),
    ("port=1,from-abstract=a,ignore", 8,
     "from-abstract= matches unix sockets, which have no port=: remove one of them"),
    ("out,blackhole", 5, "blackhole is only for in (bind): remove out"),
    ("systemd=x,out", 11, "systemd= is only for in (bind): remove out"),
    ("in,firecracker=/fc:1", 4, "firecracker= is only for out (connect): remove in"),
    ("firecracker=/fc:1,udp", 19, "firecracker= is only for stream sockets: remove the datagram type"),
    ("mode=600,ignore", 1, "mode= only applies to path=: remove it"),
    ("abstract=x,noremove", 12, "noremove only applies to path=: remove it"),
    ("from-unix=/a,path=/b/%p", 22, "%p in a rule for unix sockets, which have no port: remove it"),
    ("path=/b/%t%a,from-abstract=x", 11, "%a in a rule for unix sockets, which have no address: remove it"),
    ("from-unix=/a,vsock=2:5", 14, f"vsock= {IP_ONLY}"),
    ("from-unix=/a,abstract=x%p", 24, "%p in a rule for unix sockets, which have no port: remove it"),
    ("from-abstract=a,tipc=1:1", 17, f"tipc= {IP_ONLY}"),
]


@pytest.mark.parametrize(("text", "column", "message"), REFUSED)
def test_refused(text: str, column: int, message: str) -> None:
    with pytest.raises(RuleError) as e:
        parse_rule(text, cwd=CWD)
    assert (e.value.column, e.value.message) == (column, message)
    assert str(e.value) == f"position {column}: {message}"
    assert isinstance(e.value, ConfigError)


# --- ip2unix's rules (docs/ip2unix.md) ----------------------------------------------------------------------

#: Rules ip2unix accepts (its README's examples and its tests/test_rule_args.py) and what unsock makes of
#: each: the compiled form, or the refusal's position and message for the three it means differently.
IP2UNIX_ACCEPTS: list[tuple[str, str | tuple[int, str]]] = [
    ("out,port=53,ignore", "out,port=53,ignore"),
    ("out,tcp,path=/run/some.socket", "out,stream,path=/run/some.socket"),
    ("in,addr=1.2.3.4,path=/run/another.socket", "in,addr=1.2.3.4/32,path=/run/another.socket"),
    ("in,port=80,addr=abcd::1,blackhole",
     "in,addr=abcd:0000:0000:0000:0000:0000:0000:0001/128,port=80,blackhole"),
    ("in,port=80,reject=EADDRINUSE", f"in,port=80,reject={errno.EADDRINUSE}"),
    ("in,tcp,port=22,systemd=ssh", "in,stream,port=22,systemd=ssh"),
    ("in,path=test.socket", "in,path=/home/u/test.socket"),
    ("path=/aaa\\\\,port=0", "port=0,path=/aaa\\\\"),
    ("path=/bbb\\\\,port=65535", "port=65535,path=/bbb\\\\"),
    ("path=/xxx\\\\,port=2000-6000", "port=2000-6000,path=/xxx\\\\"),
    ("path=/ddd\\\\,in", "in,path=/ddd\\\\"),
    ("path=/eee\\\\,out", "out,path=/eee\\\\"),
    ("path=/iii\\,,out", "out,path=/iii\\,"),
    ("path=/kkk\\\\,stream", "stream,path=/kkk\\\\"),
    ("path=/lll\\\\,datagram", "dgram,path=/lll\\\\"),
    ("reject", "reject=13"),
    ("reject=EPERM", f"reject={errno.EPERM}"),
    ("reject=enomem", f"reject={errno.ENOMEM}"),
    ("in,blackhole", "in,blackhole"),
    ("in,ignore", "in,ignore"),
    ("from-unix=xyz,path=/foo", "from-unix=xyz,path=/foo"),
    ("path=bar,noremove", "path=/home/u/bar,noremove"),
    ("port=3000-3000,ignore", "port=3000,ignore"),  # ip2unix refuses an empty-looking range
    # ip2unix takes the last of two directions or types; unsock asks which one is meant
    ("path=/fff,tcp,udp", (15, "tcp and udp in one rule (ip2unix takes the last, udp): write udp alone for that, "
                               "or neither for every type")),
    ("path=/ggg,in,out", (14, "in and out in one rule (ip2unix takes the last, out): write out alone for that, "
                              "or neither for both directions")),
    # ip2unix takes any number; a system call fails with 1 to 4095 only
    ("reject=9999", (8, "errno 9999 is above 4095, the largest a system call can fail with: use a name such as "
                        "ECONNREFUSED or a number from 1 to 4095")),
]


@pytest.mark.parametrize(("text", "outcome"), IP2UNIX_ACCEPTS)
def test_rules_ip2unix_accepts(text: str, outcome: str | tuple[int, str]) -> None:
    if isinstance(outcome, str):
        assert parse_rule(text, cwd=CWD).canonical() == outcome
        return
    with pytest.raises(RuleError) as e:
        parse_rule(text, cwd=CWD)
    assert (e.value.column, e.value.message) == outcome


#: Rules ip2unix refuses (its tests/test_rule_args.py): refused here too.
IP2UNIX_REFUSES = ["=123", "321=", "=", "xxx=", "==", "blackhole=1", "port=", "port=-1", "port=65536",
                   "port=1000000", "port=12-", "port=12--1", "port=12-65536", "port=12-1000000", "port=3000-2000",
                   "port=1000-0", "reject=", "reject=-1", "reject=INVALIDERRORCODE", ",", "", "/",
                   "path=/a\\\\,xxx", "out,blackhole", "path=/foo,reject", "reject,ignore", "reject,blackhole",
                   "from-unix=/x,port=1,ignore", "from-abstract=x,addr=1.2.3.4,ignore", "reject,noremove",
                   "in,addr=1.2.3,path=/a"]


@pytest.mark.parametrize("text", IP2UNIX_REFUSES)
def test_rules_ip2unix_refuses_are_refused(text: str) -> None:
    with pytest.raises(RuleError):
        parse_rule(text, cwd=CWD)


def test_every_message_of_the_parser_is_tested() -> None:
    """Each RuleError(...) of unsock.rules has a case above (by its fixed words)."""
    import re

    import unsock.rules

    source = "\n".join(p.read_text() for p in Path(unsock.rules.__file__).parent.glob("*.py"))
    tested = "\n".join(m for _, _, m in REFUSED)
    raised = re.findall(r'raise RuleError\(\s*f?"([^"]*)"', source)
    assert len(raised) >= 35
    for template in raised:
        fixed = max(re.split(r"\{[^}]*\}", template), key=len)
        assert fixed in tested, template


# --- lists of rules ----------------------------------------------------------


def test_parse_rules_keeps_command_line_order(tmp_path: Path) -> None:
    f = tmp_path / "a.rules"
    f.write_text("# comment\n\n   in,port=1,path=/a\n\t  # indented comment\n  \nout,reject\n")
    rules = parse_rules([("-r", "ignore"), ("-f", str(f)), ("-r", "blackhole")], cwd=CWD)
    assert [r.canonical() for r in rules] == ["ignore", "in,port=1,path=/a", "out,reject=13", "in,blackhole"]


def test_parse_rules_collects_every_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.rules"
    f.write_text("ignore\n  port=x,ignore\n# fine\nout,blackhole")
    missing = tmp_path / "missing.rules"
    with pytest.raises(RulesError) as e:
        parse_rules(
            [("-r", "in,port=99999,path=/tmp/x"), ("-f", str(f)), ("-f", str(missing)), ("-f", str(tmp_path)),
             ("-r", "ignore"), ("-r", "a\tb")],
            cwd=CWD,
        )
    assert e.value.errors == [
        "rule 1 'in,port=99999,path=/tmp/x' at position 9: port 99999 is not a port: use 0 to 65535",
        f"{f}:2: rule 3 'port=x,ignore' at position 6: port x is not a port or range: use 0 to 65535, "
        "or P-Q with P <= Q",
        f"{f}:4: rule 4 'out,blackhole' at position 5: blackhole is only for in (bind): remove out",
        f"cannot read rule file {missing}: No such file or directory: check the name and its permissions",
        f"cannot read rule file {tmp_path}: Is a directory: check the name and its permissions",
        "rule 6 'a?b' at position 2: control character 0x09 in the rule: remove it",
    ]
    assert str(e.value) == "\n".join(e.value.errors)
    assert isinstance(e.value, ConfigError)


def test_parse_rules_empty() -> None:
    assert parse_rules([]) == []
    with pytest.raises(RulesError) as e:
        parse_rules([("-r", "")])
    assert e.value.errors == [
        "rule 1 '' at position 1: the rule is empty: give matches and one action, e.g. in,port=8080,path=/run/app.sock"
    ]


def test_parse_rules_relative_paths_use_cwd(tmp_path: Path) -> None:
    assert parse_rules([("-r", "path=s")], cwd="/srv")[0].action == PathAction("/srv/s")


def test_compiled_round_trip() -> None:
    text = "in,stream,port=8080,path=/run/a,mode=0600\nout,addr=10.0.0.0/8,reject=111\nin,blackhole"
    rules = parse_compiled(text)
    assert compile_rules(rules) == text


def test_compiled_refuses_the_user_syntax() -> None:
    with pytest.raises(RulesError) as e:
        parse_compiled("in,tcp,port=80,path=/s\nbad\nin,path=/s")
    assert e.value.errors == [
        "UNSOCK_RULES line 1 'in,tcp,port=80,path=/s' is not in the compiled form 'in,stream,port=80,path=/s': "
        "set it with 'unsock run -r' or 'unsock rules --compiled'",
        "UNSOCK_RULES line 2 'bad' at position 1: unknown word 'bad': use in, out, tcp, udp, stream, dgram, reject, "
        "blackhole, ignore, systemd, noremove or a KEY=VALUE field",
    ]


# --- the upstream variables --------------------------------------------------


def test_rules_from_config() -> None:
    config = Config.from_env(
        {"UNSOCK_DIR": "/run/a%b/", "UNSOCK_ADDR": "127.0.0.1/8,::1", "UNSOCK_PORT": "80", "UNSOCK_MODE": "660",
         "UNSOCK_BLOCK_INET": "1"}
    )
    assert [r.canonical() for r in rules_from_config(config)] == [
        "dgram,addr=127.0.0.1/8,port=80,path=/run/a%%b/%p.udp,mode=0660",
        "addr=127.0.0.1/8,port=80,path=/run/a%%b/%p.sock,mode=0660",
        f"dgram,addr={V6_ONE}/128,port=80,path=/run/a%%b/%p.udp,mode=0660",
        f"addr={V6_ONE}/128,port=80,path=/run/a%%b/%p.sock,mode=0660",
        "addr=0.0.0.0/0,reject=13",
    ]


def test_rules_from_config_defaults_and_root() -> None:
    config = Config.from_env({"UNSOCK_DIR": "/"})
    assert compile_rules(rules_from_config(config)) == (
        "dgram,addr=127.175.0.0/32,path=/%p.udp\naddr=127.175.0.0/32,path=/%p.sock"
    )


def test_rules_from_config_round_trip() -> None:
    config = Config.from_env({"UNSOCK_DIR": "/" + "d" * 95, "UNSOCK_ADDR": "10.0.0.0/8", "UNSOCK_PORT": "0"})
    rules = rules_from_config(config)
    assert parse_compiled(compile_rules(rules)) == rules
