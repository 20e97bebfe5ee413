"""Port 0 on a covered address picks a free port whose socket file exists and
getsockname reports it; port 0 on an address not covered stays real TCP (the
original failed with EINVAL)."""

import os
import socket

from tests.shim.conftest import COVERED, REAL


def test_port_zero_on_a_covered_address(unsock):
    # A file in the way is skipped, never touched.
    out = unsock.py(f"""
import os, socket
ports = []
socks = []
for i in range(20):
    s = socket.socket()
    s.bind(("{COVERED}", 0))
    s.listen()
    host, port = s.getsockname()
    assert host == "{COVERED}" and 1024 <= port <= 65535, (host, port)
    assert os.path.exists("{unsock.dir}/%d.sock" % port)
    c = socket.create_connection((host, port))
    a, _ = s.accept()
    c.sendall(b"x")
    assert a.recv(1) == b"x"
    ports.append(port)
    socks += [s, c, a]
assert len(set(ports)) == len(ports)
print(len(os.listdir("{unsock.dir}")))
""")
    assert out.strip() == "20"
    assert os.listdir(unsock.dir) == []


def test_port_zero_bind_before_connect(unsock):
    """A client binding port 0 first, as some programs do for a source address."""
    out = unsock.py(f"""
import socket
s = socket.socket()
s.bind(("{COVERED}", 0))
s.listen()
c = socket.socket()
c.bind(("{COVERED}", 0))
c.connect(s.getsockname())
a, _ = s.accept()
c.sendall(b"ok")
print(a.recv(2).decode(), c.getsockname()[1] != 0, c.getpeername() == s.getsockname())
""")
    assert out.split() == ["ok", "True", "True"]


def test_port_zero_elsewhere_stays_tcp(unsock):
    p = unsock.steps(f"""
import socket, sys
s = socket.socket()
s.bind(("{REAL}", 0))
s.listen()
print("port", s.getsockname()[1], s.getsockname()[0], flush=True)
a, _ = s.accept()
a.sendall(b"tcp")
sys.stdin.readline()
""")
    _, port, host = p.expect("port").split()
    assert host == REAL and int(port) != 0
    assert os.listdir(unsock.dir) == []
    # A plain TCP client, not under the shim, reaches it.
    with socket.create_connection((REAL, int(port)), timeout=10) as c:
        assert c.recv(3) == b"tcp"
    assert p.finish() == 0


def test_port_zero_with_a_fixed_unsock_port_stays_tcp(unsock):
    """UNSOCK_PORT restricts conversion to one port; port 0 is not it."""
    out = unsock.py(f"""
import socket
s = socket.socket()
s.bind(("{COVERED}", 0))
s.listen()
port = s.getsockname()[1]
t = socket.socket()
t.bind(("{COVERED}", 7200))
print(port != 0, port != 7200)
""", env=unsock.env(UNSOCK_PORT="7200"))
    assert out.split() == ["True", "True"]
    assert os.listdir(unsock.dir) == ["7200.sock"] or not os.listdir(unsock.dir)
