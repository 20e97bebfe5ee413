"""Prints what a program sees of the addresses of a loopback TCP connection,
with port numbers reduced to what they mean; the test compares the output
under the shim with the output on real TCP.  Usage: addresses.py IP
(an IPv6 IP, ::1 or ::ffff:127.0.0.2, uses AF_INET6 sockets)"""

import os
import socket
import sys

ip = sys.argv[1]
lst = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET)
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind((ip, 0))
lst.listen()
port = lst.getsockname()[1]


def norm(addr):
    if not isinstance(addr, tuple):
        return addr
    host, p = addr[:2]
    return (host, "listener" if p == port else "ephemeral" if 1024 <= p <= 65535 else p, *addr[2:])


print("pid", os.getpid())
c = socket.create_connection((ip, port))
a, peer = lst.accept()
print("listener", norm(lst.getsockname()))
print("accepted from", norm(peer))
print("client local", norm(c.getsockname()), "remote", norm(c.getpeername()))
print("accepted local", norm(a.getsockname()), "remote", norm(a.getpeername()))
a.sendall(b"1")
print("client recvfrom", c.recvfrom(10))
c.sendall(b"2")
print("server recvfrom", a.recvfrom(10))
a.sendall(b"3")
print("client recvmsg", c.recvmsg(10))
c.sendall(b"4")
print("server recvmsg_into", a.recvmsg_into([bytearray(10)])[0::3])
d = socket.socket(fileno=os.dup(a.fileno()))
print("from descriptor", d.family, d.type, d.proto, norm(d.getsockname()))
c.close()
print("EOF", a.recvfrom(10))
