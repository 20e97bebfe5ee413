"""UDP sockets whose peers come and go, or are not all covered, behave as
on real UDP.

- connect() of a UDP socket to a covered port nobody serves yet succeeds (UDP
  connect only records the peer); sends report at most ECONNREFUSED, as
  Linux does after an ICMP port unreachable; once the server binds, the
  client's datagrams reach it.
- A UDP socket that was converted (it talked to a covered address) is a
  unix socket: a datagram to an address that is not covered fails with
  ENETUNREACH (real UDP would send it).
- A sender never waits for a receiver that does not read: as on UDP,
  datagrams beyond what the receiver queues are dropped, and sendto returns
  at once, blocking or not (a unix datagram socket queues only
  net.unix.max_dgram_qlen datagrams, 10 by default, and then blocks the
  sender or fails with EAGAIN)."""

from tests.shim.conftest import COVERED, REAL

EARLY = f"""
import errno, socket
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("connect", c.connect_ex(("{COVERED}", 7701)))
errors = set()
for i in range(3):
    try:
        c.send(b"nobody")
    except OSError as e:
        errors.add(errno.errorcode[e.errno])
print("errors", sorted(errors - {{"ECONNREFUSED"}}))
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("{COVERED}", 7701))
srv.settimeout(0.5)
got = None
for i in range(10):
    try:
        c.send(b"late %d" % i)
        got = srv.recvfrom(100)
        break
    except (ConnectionRefusedError, TimeoutError):
        pass
print("server got", got and got[0][:4], got and got[1][1] == c.getsockname()[1])
"""


def test_connect_before_the_server_binds(unsock):
    out = unsock.py(EARLY).splitlines()
    assert out == ["connect 0", "errors []", "server got b'late' True"]


MIXED = f"""
import errno, socket
real = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
real.bind(("{REAL}", 0))
real.settimeout(5)
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("{COVERED}", 7702))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"to covered", ("{COVERED}", 7702))
print(srv.recvfrom(100)[0])
try:
    s.sendto(b"to real", real.getsockname())
except OSError as e:
    print(errno.errorcode[e.errno])
"""


def test_converted_socket_cannot_reach_uncovered_addresses(unsock):
    """Once converted, the socket is a unix socket: a datagram to an address
    unsock does not cover fails clearly (ENETUNREACH) instead of going to the
    wrong place or vanishing."""
    out = unsock.py(MIXED, check=False)
    assert out.splitlines() == ["b'to covered'", "ENETUNREACH"]


FLOOD = f"""
import signal, socket
signal.signal(signal.SIGALRM, lambda *a: (print("blocked", flush=True), exit(1)))
signal.alarm(10)   # a bound on a hang, not a timing assertion: 4000 sends take milliseconds
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("{COVERED}", 7703))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("blocking", all(s.sendto(b"x" * 100, ("{COVERED}", 7703)) == 100 for i in range(2000)))
s.setblocking(False)
try:
    print("non-blocking", all(s.sendto(b"y", ("{COVERED}", 7703)) == 1 for i in range(2000)))
except OSError as e:
    print("non-blocking", e)
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.connect(("{COVERED}", 7703))
print("connected", all(c.send(b"z") == 1 for i in range(2000)))
srv.setblocking(False)
print("queued", srv.recv(200) != b"")
"""


def test_sender_does_not_wait_for_a_receiver_that_does_not_read(unsock):
    out = unsock.py(FLOOD, check=False)
    assert out.splitlines() == ["blocking True", "non-blocking True", "connected True", "queued True"]
