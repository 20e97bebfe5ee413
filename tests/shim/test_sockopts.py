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


RAW_SETSOCKOPT = f"""
import ctypes, socket, struct
libc = ctypes.CDLL(None, use_errno=True)
SYS_setsockopt = 54  # x86_64; not the libc function the shim wraps

def raw(fd, level, name, value):
    buf = ctypes.create_string_buffer(value)
    return libc.syscall(SYS_setsockopt, fd, level, name, buf, len(value))

lst = socket.socket()
lst.bind(("{COVERED}", 0))
lst.listen()
c = socket.socket()
# SO_KEEPALIVE and SO_RCVTIMEO mean the same on the unix socket; TCP_KEEPIDLE and IP_TOS are
# TCP's, which an early socket (a unix socket already) refuses, as it does raw calls it cannot see.
raw(c.fileno(), socket.SOL_SOCKET, socket.SO_KEEPALIVE, struct.pack("i", 1))
raw(c.fileno(), socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 7, 0))
tcp = [raw(c.fileno(), socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, struct.pack("i", 77)),
       raw(c.fileno(), socket.IPPROTO_IP, socket.IP_TOS, struct.pack("i", 0x10))]
c.connect(lst.getsockname())
print(c.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
      struct.unpack("ll", c.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16))[0],
      *(["unset"] if any(tcp) else
        [c.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE), c.getsockopt(socket.IPPROTO_IP, socket.IP_TOS)]))
"""


def test_options_set_by_raw_system_calls_are_carried(unsock):
    """A swap reads the options back from the kernel (carry.c), so what a raw setsockopt
    system call set before the connect is there afterwards, TCP's options included."""
    assert unsock.py(RAW_SETSOCKOPT, env=unsock.env(UNSOCK_IP_AT_SOCKET="1")).split() == ["1", "7", "77", "16"]
    early = unsock.py(RAW_SETSOCKOPT).split()
    assert early in (["1", "7", "77", "16"], ["1", "7", "unset"])
