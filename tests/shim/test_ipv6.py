"""IPv6 in the shim: UNSOCK_ADDR lists of IPv4 and IPv6 addresses and
ranges (a bad list stops the program with one `unsock: ` line);
IPv4-mapped addresses match the IPv4 ranges; converted AF_INET6 sockets
show the program the same addresses as loopback TCP over IPv6, say
AF_INET6 in SO_DOMAIN and take IPv6-level options set after the swap (set
before it: test_ipv6_options.py); a dual-stack listener on `::` takes IPv6,
IPv4-mapped and IPv4 clients."""

from __future__ import annotations

import shutil
import socket

import pytest

from tests.helpers.shim import as_on_tcp, picture
from tests.shim.conftest import COVERED

ECHO = shutil.which("echo") or "/bin/echo"

IS_UNIX = """
import os, socket, sys
def is_unix(s):
    ino = str(os.fstat(s.fileno()).st_ino)
    with open("/proc/net/unix") as f:
        return any(line.split()[6] == ino for line in list(f)[1:] if len(line.split()) > 6)
"""

# A listener, a client, the accepted socket and a UDP socket, all on ::1: the
# four roles whose options the IPv6 tests compare with the kernel's.
FOUR_SOCKETS6 = """
l = socket.socket(socket.AF_INET6)
l.bind(("::1", 0))
l.listen()
c = socket.create_connection(l.getsockname()[:2])
a, _ = l.accept()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.bind(("::1", 0))
"""


@pytest.mark.parametrize(("ip", "addr"), [
    ("::1", "::1/128"),
    ("::1", "127.0.0.0/8,::1/128"),
    ("::1", "::/0"),
    (f"::ffff:{COVERED}", f"{COVERED}/32"),
    (f"::ffff:{COVERED}", f"::1/128,{COVERED}/32"),
], ids=["v6", "v6-in-list", "v6-all", "mapped", "mapped-in-list"])
def test_same_picture_as_tcp6(unsock, ip, addr):
    """accept, getsockname, getpeername, recvfrom, recvmsg and a socket
    object rebuilt from the descriptor show what loopback TCP over IPv6 shows
    (the client: ::1, or for IPv4-mapped addresses the one of its pid,
    ::ffff:127.X.Y.Z, where TCP shows ::ffff:127.0.0.1)."""
    real = picture(unsock, ip, LD_PRELOAD="")
    shimmed = picture(unsock, ip, UNSOCK_ADDR=addr)
    assert as_on_tcp(shimmed) == as_on_tcp(real)
    assert "AF_UNIX" not in shimmed and "/" not in shimmed


COVERAGE = IS_UNIX + """
results = []
for fam, ip in [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "127.0.0.2"), (socket.AF_INET6, "::1"),
                (socket.AF_INET6, "::ffff:127.0.0.1"), (socket.AF_INET6, "::ffff:127.0.0.2"),
                (socket.AF_INET6, "fd00::1234")]:
    s = socket.socket(fam)
    try:
        s.bind((ip, 0))
        s.listen()
        results.append(f"{ip}={'unix' if is_unix(s) else 'tcp'}")
    except OSError as e:
        results.append(f"{ip}={e.errno}")
    s.close()
print(" ".join(results))
"""


@pytest.mark.parametrize(("addr", "converted"), [
    (f"{COVERED}/32", {"127.0.0.2", "::ffff:127.0.0.2"}),
    (f"{COVERED}/32,::1/128", {"127.0.0.2", "::ffff:127.0.0.2", "::1"}),
    ("::1", {"::1"}),
    ("127.0.0.0/8", {"127.0.0.1", "127.0.0.2", "::ffff:127.0.0.1", "::ffff:127.0.0.2"}),
    ("fd00::/8,127.0.0.1", {"127.0.0.1", "::ffff:127.0.0.1", "fd00::1234"}),
    ("::/0", {"::1", "::ffff:127.0.0.1", "::ffff:127.0.0.2", "fd00::1234"}),
], ids=["v4", "v4-v6-list", "v6-address", "v4-range", "cidr-v6-list", "all-v6"])
def test_what_a_list_covers(unsock, addr, converted):
    """Which binds a list converts (the rest stay TCP, or get the kernel's
    error for an address that is not local: fd00::1234)."""
    out = unsock.py(COVERAGE, env=unsock.env(UNSOCK_ADDR=addr)).split()
    got = dict(item.split("=", 1) for item in out)
    assert {ip for ip, how in got.items() if how == "unix"} == converted, got
    assert all(how in ("tcp", "99") for ip, how in got.items() if ip not in converted), got  # 99: EADDRNOTAVAIL


AFTER_SWAP = (
    IS_UNIX
    + """
V6 = socket.IPPROTO_IPV6
def get(s, *names):
    return " ".join(f"{n}={s.getsockopt(V6 if n.startswith('IPV6') else socket.SOL_SOCKET, getattr(socket, n))}"
                    for n in names)
def try_set(s, name, value):
    try:
        s.setsockopt(V6, getattr(socket, name), value)
        return "ok"
    except OSError as e:
        return str(e.errno)
"""
    + FOUR_SOCKETS6
    + """
for name, s in [("listener", l), ("client", c), ("accepted", a), ("udp", u)]:
    print(name, get(s, "SO_DOMAIN", "SO_PROTOCOL", "IPV6_TCLASS", "IPV6_UNICAST_HOPS"))
    print(name, try_set(s, "IPV6_TCLASS", 0x28), try_set(s, "IPV6_UNICAST_HOPS", 9), try_set(s, "IPV6_RECVTCLASS", 1),
          try_set(s, "IPV6_TCLASS", 300), try_set(s, "IPV6_UNICAST_HOPS", 256))
    print(name, get(s, "IPV6_TCLASS", "IPV6_UNICAST_HOPS", "IPV6_RECVTCLASS"))
print("converted", is_unix(l), is_unix(c), is_unix(a), is_unix(u))
"""
)


def test_ipv6_options_after_the_swap_as_on_tcp6(unsock):
    """On converted AF_INET6 sockets, IPV6_TCLASS, IPV6_UNICAST_HOPS and
    IPV6_RECVTCLASS succeed (or fail) and read back as on real TCP/UDP
    sockets over ::1; SO_DOMAIN says AF_INET6, SO_PROTOCOL TCP or UDP.
    (IPV6_V6ONLY and options set before the swap: test_ipv6_options.py.)"""
    real = unsock.py(AFTER_SWAP, env=unsock.env(LD_PRELOAD="")).splitlines()
    shimmed = unsock.py(AFTER_SWAP, env=unsock.env(UNSOCK_ADDR="::1/128")).splitlines()
    assert real[-1] == "converted False False False False"
    assert shimmed[-1] == "converted True True True True"
    assert shimmed[:-1] == real[:-1]
    assert f"SO_DOMAIN={int(socket.AF_INET6)}" in shimmed[0]


DUAL = IS_UNIX + """
port = int(sys.argv[1])
l = socket.socket(socket.AF_INET6)
l.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
l.bind(("::", port))
l.listen()
sock_file = os.path.join(os.environ["UNSOCK_DIR"], "%d.sock" % port)
print("listener", l.getsockname()[:2], is_unix(l), os.path.exists(sock_file))
for fam, ip in [(socket.AF_INET6, "::1"), (socket.AF_INET6, "::ffff:127.0.0.1"), (socket.AF_INET6, "::")] + (
        [(socket.AF_INET, "127.0.0.1")] if sys.argv[2] == "v4" else []):
    c = socket.socket(fam)
    c.connect((ip, port))
    a, peer = l.accept()
    c.sendall(b"hello " + ip.encode())
    data = a.recv(100)
    a.sendall(data.upper())
    back = c.recv(100)
    local = c.getsockname()
    ok_peer = a.family == socket.AF_INET6 and peer[0] in ("::1", "::ffff:127.0.0.1") and 1024 <= peer[1] <= 65535
    print(ip, is_unix(c), local[0], 1024 <= local[1] <= 65535, c.getpeername()[1] == port, a.getsockname()[1] == port,
          ok_peer, data.decode(), back.decode())
"""


@pytest.mark.parametrize("addr", ["::/0", "127.0.0.0/8,::/0"])
def test_dual_stack_listener(unsock, addr):
    """A listener on [::] with IPV6_V6ONLY off, `::` covered: IPv6 clients,
    IPv4-mapped ones and (with an IPv4 range) IPv4 ones all reach it through
    DIR/PORT.sock; each client sees its own kind of loopback address."""
    port = 7901
    out = unsock.py(DUAL, str(port), "v4" if "127" in addr else "", env=unsock.env(UNSOCK_ADDR=addr))
    lines = out.splitlines()
    assert lines[0] == f"listener ('::', {port}) True True"
    rows = {line.split()[0]: line.split(None, 1)[1] for line in lines[1:]}
    assert rows["::1"] == "True ::1 True True True True hello ::1 HELLO ::1"
    assert rows["::ffff:127.0.0.1"] == ("True ::ffff:127.0.0.1 True True True True hello ::ffff:127.0.0.1 "
                                        "HELLO ::FFFF:127.0.0.1")
    assert rows["::"] == "True ::1 True True True True hello :: HELLO ::"
    if "127" in addr:
        assert rows["127.0.0.1"] == "True 127.0.0.1 True True True True hello 127.0.0.1 HELLO 127.0.0.1"
    assert len(rows) == (4 if "127" in addr else 3)


BAD_LISTS = [
    "127.0.0.1/8,", ",127.0.0.1", "127.0.0.1,,::1", "::1/129", "::1/", "fe80::1%eth0", "1::2::3", ":::1",
    "[::1]", "::1/-1", "127.0.0.1/8,garbage", "::ffff:127.0.0.1/129", "127.0.0.1/33,::1",
]


@pytest.mark.parametrize("value", BAD_LISTS)
def test_invalid_list_stops_before_the_program(unsock, value):
    p = unsock.run([ECHO, "the program ran"], env=unsock.env(UNSOCK_ADDR=value), check=False)
    assert p.returncode != 0
    assert p.stdout == b""
    lines = p.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("unsock: ") and "UNSOCK_ADDR" in lines[0], lines


@pytest.mark.parametrize("value", [
    "::1", "::1/128", "::/0", "127.0.0.0/8,::1/128", "::ffff:127.0.0.1", "fd00::/8", "127.0.0.1,127.0.0.2",
    "2001:db8::/32,10.0.0.0/8,::1", "::ffff:127.0.0.0/104",
])
def test_valid_list_runs_the_program(unsock, value):
    p = unsock.run([ECHO, "the program ran"], env=unsock.env(UNSOCK_ADDR=value))
    assert p.stdout == b"the program ran\n" and p.stderr == b""


@pytest.mark.parametrize(("ip", "addr"), [("::1", "::/0,127.0.0.0/8"), (f"::ffff:{COVERED}", "127.0.0.0/8,::/0")],
                         ids=["v6", "mapped"])
def test_c_program_sees_tcp6(unsock, cprog, ip, addr):
    """A C program's view of IPv6 stream sockets (inet6.c: port 0, names, both ends agreeing,
    options set before bind and connect, a dual-stack listener) is real TCP's, all of it
    converted."""
    real = unsock.prog(cprog("inet6"), ip, env=unsock.env(LD_PRELOAD="")).splitlines()
    shimmed = unsock.prog(cprog("inet6"), ip, env=unsock.env(UNSOCK_ADDR=addr)).splitlines()
    assert real[-1] == "unix 0 0 0 0 0/3"
    assert shimmed[-1] == "unix 1 1 1 1 3/3"
    assert shimmed[:-1] == real[:-1]
