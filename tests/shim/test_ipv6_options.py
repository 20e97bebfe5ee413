"""IPv6-level options set on AF_INET6 sockets before the swap (before
bind/connect: IPV6_V6ONLY, IPV6_TCLASS, IPV6_UNICAST_HOPS) are carried over
and read back what a real socket over ::1 reads back; an accepted socket
inherits IPV6_V6ONLY from its listener; IPV6_V6ONLY follows the kernel's
rules after bind (on for a socket bound to a specific IPv6 address, and no
longer changeable: EINVAL)."""

import socket

from tests.shim.test_ipv6 import FOUR_SOCKETS6, IS_UNIX

OPTIONS = IS_UNIX + """
S, V6 = socket.SOL_SOCKET, socket.IPPROTO_IPV6
ip = sys.argv[1]
def opts(s, *names):
    return " ".join(f"{n}={s.getsockopt(V6 if n.startswith('IPV6') else S, getattr(socket, n))}" for n in names)
def try_set(s, level, name, value):
    try:
        s.setsockopt(level, getattr(socket, name), value)
        return "ok"
    except OSError as e:
        return str(e.errno)
l = socket.socket(socket.AF_INET6)
l.setsockopt(V6, socket.IPV6_V6ONLY, 1)
l.setsockopt(V6, socket.IPV6_TCLASS, 0x20)
l.bind((ip, 0))
l.listen()
print("listener", opts(l, "SO_DOMAIN", "SO_TYPE", "SO_PROTOCOL", "IPV6_V6ONLY", "IPV6_TCLASS"))
c = socket.socket(socket.AF_INET6)
c.setsockopt(V6, socket.IPV6_TCLASS, 0x48)
c.setsockopt(V6, socket.IPV6_UNICAST_HOPS, 7)
c.connect(l.getsockname())
print("client", opts(c, "SO_DOMAIN", "SO_PROTOCOL", "IPV6_V6ONLY", "IPV6_TCLASS", "IPV6_UNICAST_HOPS"))
a, _ = l.accept()
print("accepted", opts(a, "SO_DOMAIN", "SO_PROTOCOL", "IPV6_V6ONLY"))
print("set after connect", try_set(c, V6, "IPV6_TCLASS", 0x10), try_set(c, V6, "IPV6_UNICAST_HOPS", 64),
      try_set(c, V6, "IPV6_RECVTCLASS", 1))
print("client", opts(c, "IPV6_TCLASS", "IPV6_UNICAST_HOPS", "IPV6_RECVTCLASS"))
print("invalid", try_set(c, V6, "IPV6_TCLASS", 300), try_set(c, V6, "IPV6_UNICAST_HOPS", 256))
print("client", opts(c, "IPV6_TCLASS", "IPV6_UNICAST_HOPS"))
print("reset", try_set(c, V6, "IPV6_TCLASS", -1), opts(c, "IPV6_TCLASS"))
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.setsockopt(V6, socket.IPV6_V6ONLY, 1)
u.bind((ip, 0))
print("udp", opts(u, "SO_DOMAIN", "SO_TYPE", "IPV6_V6ONLY"), try_set(u, V6, "IPV6_TCLASS", 0x28),
      opts(u, "IPV6_TCLASS"))
c.sendall(b"x")
print("data", a.recv(1))
print("converted", is_unix(l), is_unix(c), is_unix(a), is_unix(u))
"""


def test_ipv6_options_read_back_as_on_tcp6(unsock):
    """IPV6_V6ONLY, IPV6_TCLASS, IPV6_UNICAST_HOPS, ... set before and after
    the swap read back as on a real TCP/UDP socket over ::1; invalid values
    get the kernel's errors; SO_DOMAIN says AF_INET6."""
    real = unsock.py(OPTIONS, "::1", env=unsock.env(LD_PRELOAD="")).splitlines()
    shimmed = unsock.py(OPTIONS, "::1", env=unsock.env(UNSOCK_ADDR="::1/128")).splitlines()
    assert real[-1] == "converted False False False False"
    assert shimmed[-1] == "converted True True True True"
    assert shimmed[:-1] == real[:-1]
    assert f"SO_DOMAIN={int(socket.AF_INET6)}" in shimmed[0]




V6ONLY = (
    IS_UNIX
    + """
V6 = socket.IPPROTO_IPV6
def v6only(s):
    return s.getsockopt(V6, socket.IPV6_V6ONLY)
def try_set(s, value):
    try:
        s.setsockopt(V6, socket.IPV6_V6ONLY, value)
        return "ok"
    except OSError as e:
        return str(e.errno)
"""
    + FOUR_SOCKETS6
    + """
for name, s in [("listener", l), ("client", c), ("accepted", a), ("udp", u)]:
    print(name, v6only(s), try_set(s, 0), try_set(s, 1), v6only(s))
print("converted", is_unix(l), is_unix(c), is_unix(a), is_unix(u))
"""
)


def test_v6only_after_bind_as_the_kernel_has_it(unsock):
    real = unsock.py(V6ONLY, env=unsock.env(LD_PRELOAD="")).splitlines()
    shimmed = unsock.py(V6ONLY, env=unsock.env(UNSOCK_ADDR="::1/128")).splitlines()
    assert real[-1] == "converted False False False False"
    assert shimmed[-1] == "converted True True True True"
    assert shimmed[:-1] == real[:-1]
