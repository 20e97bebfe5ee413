"""No descriptor growth over many converted connections and listeners."""

from tests.shim.conftest import COVERED

LEAK = f"""
import os, socket
def fds():
    return len(os.listdir("/proc/self/fd"))
lst = socket.socket()
lst.bind(("{COVERED}", 0))
lst.listen(64)
addr = lst.getsockname()
c = socket.create_connection(addr); a, _ = lst.accept(); c.close(); a.close()
before = fds()
for i in range(1000):
    c = socket.create_connection(addr)
    a, _ = lst.accept()
    c.sendall(b"%d" % i)
    assert a.recv(16) == b"%d" % i
    c.close()
    assert a.recv(16) == b""
    a.close()
after_connects = fds()
for i in range(200):
    s = socket.socket()
    s.bind(("{COVERED}", 0))
    s.listen()
    s.close()
after_listeners = fds()
lst.close()
print(before, after_connects, after_listeners, len(os.listdir("{{dir}}")))
"""


def test_no_fd_growth_over_1000_connects(unsock):
    before, after_connects, after_listeners, files = map(int, unsock.py(LEAK.replace("{dir}", str(unsock.dir))).split())
    assert after_connects == before
    assert after_listeners == before
    assert files == 0


def test_no_fd_growth_in_c(unsock, cprog):
    assert unsock.prog(cprog("fdleak"), COVERED).strip() == "ok"
