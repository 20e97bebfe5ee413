"""IP_PKTINFO / IPV6_RECVPKTINFO on converted UDP sockets: recvmsg
delivers the destination address and interface (loopback) of each datagram
in a control message, as on real UDP, and sendmsg accepts a source given
with IP_PKTINFO / IPV6_PKTINFO. DNS servers depend on it (dnsmasq drops IPv6
queries without IPV6_PKTINFO)."""

import pytest

from tests.shim.conftest import COVERED

PKTINFO = """
import socket, struct, sys
IP_PKTINFO = 8   # <linux/in.h>; not in Python 3.11's socket module
ip = sys.argv[1]
v6 = ":" in ip
fam = socket.AF_INET6 if v6 else socket.AF_INET
srv = socket.socket(fam, socket.SOCK_DGRAM)
if v6:
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
else:
    srv.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
srv.bind((ip, 7720))
c = socket.socket(fam, socket.SOCK_DGRAM)
c.sendto(b"query", (ip, 7720))
data, anc, flags, addr = srv.recvmsg(100, 256)
print("data", data, "flags", flags)
for level, kind, payload in anc:
    if v6:
        dst, ifindex = socket.inet_ntop(socket.AF_INET6, payload[:16]), struct.unpack("I", payload[16:20])[0]
        print("cmsg", level, kind, dst, ifindex == socket.if_nametoindex("lo"))
    else:
        ifindex, spec, dst = struct.unpack("I4s4s", payload[:12])
        lo = ifindex == socket.if_nametoindex("lo")
        print("cmsg", level, kind, socket.inet_ntoa(spec), socket.inet_ntoa(dst), lo)
# answer with the source address given as pktinfo, as DNS servers do
if v6:
    info = socket.inet_pton(socket.AF_INET6, ip) + struct.pack("I", 0)
    cmsg = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, info)]
else:
    info = struct.pack("I4s4s", 0, socket.inet_aton(ip), socket.inet_aton("0.0.0.0"))
    cmsg = [(socket.IPPROTO_IP, IP_PKTINFO, info)]
print("sendmsg", srv.sendmsg([b"answer"], cmsg, 0, addr))
c.settimeout(10)
print("reply", c.recvfrom(100)[0])
"""


@pytest.mark.parametrize(("ip", "addr"), [(COVERED, f"{COVERED}/32"), ("::1", "::1/128")], ids=["ipv4", "ipv6"])
def test_pktinfo_as_on_udp(unsock, ip, addr):
    real = unsock.py(PKTINFO, ip, env=unsock.env(LD_PRELOAD=""))
    shimmed = unsock.py(PKTINFO, ip, env=unsock.env(UNSOCK_ADDR=f"{addr},127.0.0.1,::1"), check=False)
    assert "cmsg" in real
    assert shimmed == real
