"""Closing converted sockets: the peer sees EOF, a closed listener is gone.

Runs under the shim; the other end of every connection is a plain AF_UNIX
socket on the socket file, which the shim leaves alone.
Usage: close_eof.py COVERED_IP SOCKDIR"""

import errno
import os
import socket
import sys

ip, sockdir = sys.argv[1], sys.argv[2]


def bound_paths():
    with open("/proc/net/unix") as f:
        return {line.split()[7] for line in list(f)[1:] if len(line.split()) >= 8}


def unix_client(path):
    u = socket.socket(socket.AF_UNIX)
    u.settimeout(10)
    u.connect(path)
    return u


# A converted client closed: the server reads EOF.
path = f"{sockdir}/7001.sock"
server = socket.socket(socket.AF_UNIX)
server.bind(path)
server.listen()
c = socket.create_connection((ip, 7001), timeout=10)
peer, _ = server.accept()
peer.settimeout(10)
c.sendall(b"hi")
c.close()
assert peer.recv(10) == b"hi"
assert peer.recv(10) == b"", "no EOF after the client closed"
peer.close()

# shutdown(SHUT_WR) of a converted client: EOF while the client still reads.
c = socket.create_connection((ip, 7001), timeout=10)
peer, _ = server.accept()
peer.settimeout(10)
c.shutdown(socket.SHUT_WR)
assert peer.recv(10) == b""
peer.sendall(b"back")
assert c.recv(10) == b"back"
c.close()
peer.close()
server.close()
os.unlink(path)

# A converted listener: closing an accepted socket gives its client EOF.
lst = socket.socket()
lst.bind((ip, 7002))
lst.listen()
lpath = f"{sockdir}/7002.sock"
u = unix_client(lpath)
a, _ = lst.accept()
a.sendall(b"bye")
a.close()
assert u.recv(10) == b"bye"
assert u.recv(10) == b"", "no EOF after the accepted socket was closed"
u.close()

# A closed listener accepts nothing more and leaves no socket behind.
assert lpath in bound_paths()
lst.close()
assert lpath not in bound_paths(), "the closed listener is still bound"
try:
    unix_client(lpath).close()
    raise AssertionError("connected to a closed listener")
except (ConnectionRefusedError, FileNotFoundError):
    pass
c = socket.socket()
assert c.connect_ex((ip, 7002)) == errno.ECONNREFUSED
c.close()

# A listener closed while a connection waits in its backlog: the client is reset.
lst = socket.socket()
lst.bind((ip, 7003))
lst.listen()
c = socket.create_connection((ip, 7003), timeout=10)
lst.close()
try:
    got = c.recv(10)
except ConnectionResetError:
    got = b""
assert got == b"", got
c.close()
print("ok")
