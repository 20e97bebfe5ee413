"""The swap to a unix socket keeps the descriptor number, O_NONBLOCK,
FD_CLOEXEC, O_ASYNC with owner and signal, and the SOL_SOCKET options set
before bind/connect (timeouts, SO_KEEPALIVE, explicit buffer sizes, SO_LINGER...)."""

from tests.shim.conftest import COVERED


def test_flags_and_options_survive_the_swap(unsock, cprog):
    assert unsock.prog(cprog("flags"), COVERED).strip() == "ok"


def test_python_socket_flags_survive(unsock):
    out = unsock.py(f"""
import fcntl, os, socket
s = socket.socket()
s.settimeout(2.5)
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.bind(("{COVERED}", 0))
s.listen()
c = socket.socket()
c.setblocking(False)
fd = c.fileno()
c.connect_ex(s.getsockname())
assert c.fileno() == fd
print(s.gettimeout(), s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
      os.get_inheritable(s.fileno()), os.get_blocking(c.fileno()), os.get_blocking(s.fileno()),
      os.path.exists("{unsock.dir}/%d.sock" % s.getsockname()[1]))
""")
    # settimeout makes the socket non-blocking at the fd level.
    assert out.split() == ["2.5", "1", "False", "False", "False", "True"]
