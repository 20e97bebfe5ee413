"""TCP- and IP-level options on converted sockets succeed and read back what a
real TCP socket in the same state reads back; invalid values give the
kernel's errors; SO_DOMAIN/SO_PROTOCOL say AF_INET/IPPROTO_TCP."""

import socket

from tests.shim.conftest import COVERED, REAL


def test_options_match_real_tcp(unsock, cprog):
    assert unsock.prog(cprog("sockopts"), COVERED, REAL).strip() == "ok"


def test_python_sees_a_tcp_socket(unsock):
    out = unsock.py(f"""
import socket
s = socket.socket()
s.bind(("{COVERED}", 0))
s.listen()
c = socket.create_connection(s.getsockname())
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print(c.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN), c.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL),
      c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), int(socket.socket(fileno=c.detach()).family))
""")
    assert out.split() == [str(int(socket.AF_INET)), str(socket.IPPROTO_TCP), "1", str(int(socket.AF_INET))]
