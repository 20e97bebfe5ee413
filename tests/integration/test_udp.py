"""UDP under the shim with real programs: socat's UDP-RECVFROM (forking) and
UDP-LISTEN servers with connected (UDP:) and unconnected (UDP-SENDTO:)
clients, OpenBSD `nc -u` at both ends, Python's sendto/recvfrom client and
server answering an unbound client, and dig resolving through a small DNS
server. Every exchange goes over unix datagram sockets DIR/PORT.sock: nothing
is bound on real UDP.

dnsmasq is not used for the DNS test: it binds UDP and TCP on the same port,
and both map to the same DIR/PORT.sock, so its second bind fails with
EADDRINUSE (see test_dnsmasq.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.output import OutputReader
from tests.helpers.proc import Unsock, wait_for
from tests.helpers.programs import require_program

pytestmark = pytest.mark.program("socat")


def udp_bound_ports() -> set[int]:
    """Local ports of every real UDP socket in this network namespace (v4 and v6)."""
    ports: set[int] = set()
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 1:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def assert_no_udp_socket(port: int) -> None:
    assert port not in udp_bound_ports(), f"a real UDP socket is bound to port {port}"


def files(unsock: Unsock) -> list[str]:
    return sorted(os.listdir(unsock.dir))


def socat() -> str:
    return require_program("socat")


def test_socat_recvfrom_server_connected_and_unconnected_clients(unsock: Unsock) -> None:
    """UDP-RECVFROM with fork: each datagram is answered by a child through the
    inherited server socket, to the address recvfrom reported for the client."""
    port = 19301
    server = unsock.start([socat(), f"UDP-RECVFROM:{port},bind=127.0.0.1,fork", "EXEC:tr a-z A-Z"], wait_port=port)
    assert_no_udp_socket(port)
    for i in range(2):
        for kind in ("UDP", "UDP-SENDTO"):
            # stdin stays open until the answer is there: no timing involved
            client = unsock.start([socat(), "-t", "0.1", "STDIO", f"{kind}:127.0.0.1:{port}"], stdin=subprocess.PIPE)
            assert client.stdin is not None
            client.stdin.write(f"{kind} client {i}\n".encode())
            client.stdin.flush()
            OutputReader(client.stdout).wait_for(f"{kind} CLIENT {i}\n", timeout=15)
            client.stdin.close()
            assert client.wait(15) == 0
    assert server.poll() is None
    assert_no_udp_socket(port)
    # the clients' implicit reply addresses went with them
    wait_for(lambda: files(unsock) == [f"{port}.sock"], 10, f"only {port}.sock left, not {files(unsock)}")


def test_socat_udp_listen_both_ways(unsock: Unsock) -> None:
    """UDP-LISTEN takes the first datagram's sender as its peer (connects to
    the address recvfrom reported) and talks to it both ways."""
    port = 19302
    server = unsock.start([socat(), "-b", "65536", f"UDP-LISTEN:{port},bind=127.0.0.1", "STDIO"],
                          stdin=subprocess.PIPE, wait_port=port)
    client = unsock.start([socat(), "-b", "65536", "STDIO", f"UDP:127.0.0.1:{port}"], stdin=subprocess.PIPE)
    assert server.stdin is not None and client.stdin is not None
    server_out, client_out = OutputReader(server.stdout), OutputReader(client.stdout)
    client.stdin.write(b"first from client\n")
    client.stdin.flush()
    server_out.wait_for(r"first from client\n", timeout=15)
    server.stdin.write(b"reply from server\n")
    server.stdin.flush()
    client_out.wait_for(r"reply from server\n", timeout=15)
    big = os.urandom(16000).hex().encode() + b"\n"  # one 32 KiB datagram
    client.stdin.write(big)
    client.stdin.flush()
    server_out.wait_for(big.decode().strip(), timeout=15)
    assert_no_udp_socket(port)
    client_port_files = [f for f in files(unsock) if f != f"{port}.sock"]
    assert len(client_port_files) == 1, files(unsock)  # the client's implicit reply address


def test_netcat_udp_both_ends(unsock: Unsock) -> None:
    """nc -u -l answers the nc -u client that wrote to it."""
    nc = require_program("nc")
    port = 19303
    server = unsock.start([nc, "-u", "-l", "127.0.0.1", str(port)], stdin=subprocess.PIPE, wait_port=port)
    client = unsock.start([nc, "-u", "127.0.0.1", str(port)], stdin=subprocess.PIPE)
    assert server.stdin is not None and client.stdin is not None
    server_out, client_out = OutputReader(server.stdout), OutputReader(client.stdout)
    for i in range(3):
        client.stdin.write(f"ping {i}\n".encode())
        client.stdin.flush()
        server_out.wait_for(f"ping {i}\n", timeout=15)
        server.stdin.write(f"pong {i}\n".encode())
        server.stdin.flush()
        client_out.wait_for(f"pong {i}\n", timeout=15)
    assert_no_udp_socket(port)
    assert server.poll() is None and client.poll() is None


UDP_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(65536)
    if data == b"quit":
        break
    print("from", addr[0], addr[1], flush=True)
    s.sendto(data.upper() + b" seen as %s:%d" % (addr[0].encode(), addr[1]), addr)
"""

UDP_CLIENT = """
import os, socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
for i in range(3):
    s.sendto(b"hello %d" % i, ("127.0.0.1", port))
    host, me = s.getsockname()
    print("me", me, os.path.exists(os.path.join(os.environ["UNSOCK_DIR"], "%d.sock" % me)))
    data, addr = s.recvfrom(65536)
    print("got", data.decode(), "from", addr[0], addr[1])
"""


def test_unconnected_python_client_and_server(unsock: Unsock) -> None:
    """A client that never binds sends with sendto; the server replies with
    sendto to the address recvfrom gave it, and the client's recvfrom shows
    the server's address."""
    port = 19304
    server = unsock.start([sys.executable, "-c", UDP_SERVER, str(port)], wait_port=port)
    server_out = OutputReader(server.stdout)
    server_out.wait_for("ready")
    lines = unsock.run([sys.executable, "-c", UDP_CLIENT, str(port)], timeout=30).stdout.decode().splitlines()
    assert len(lines) == 6, lines
    me = int(lines[0].split()[1])
    assert 1024 <= me <= 65535 and me != port
    for i in range(3):
        assert lines[2 * i] == f"me {me} True", lines
        assert lines[2 * i + 1] == f"got HELLO {i} seen as 127.0.0.1:{me} from 127.0.0.1 {port}", lines
    server_out.wait_for(rf"(from 127\.0\.0\.1 {me}\n){{3}}")
    assert_no_udp_socket(port)
    assert_no_udp_socket(me)
    assert files(unsock) == [f"{port}.sock"], "the client's reply address outlived it"
    unsock.run([sys.executable, "-c", "import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                ".sendto(b'quit', ('127.0.0.1', int(sys.argv[1])))", str(port)])
    assert server.wait(15) == 0
    wait_for(lambda: files(unsock) == [], 10, "the server's socket file to go")


DNS_SERVER = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
while True:
    query, addr = s.recvfrom(4096)
    ident, flags, qd = struct.unpack("!HHH", query[:6])
    end = 12
    while query[end]:
        end += query[end] + 1
    question = query[12:end + 5]
    labels, i = [], 12
    while query[i]:
        labels.append(query[i + 1:i + 1 + query[i]].decode())
        i += query[i] + 1
    qtype = struct.unpack("!H", query[end + 1:end + 3])[0]
    name = ".".join(labels).lower()
    print("query", name, qtype, "from", addr[0], flush=True)
    found = name == "example.test" and qtype == 1
    rcode = 0 if found else 3
    header = struct.pack("!HHHHHH", ident, 0x8400 | (flags & 0x0100) | rcode, 1, int(found), 0, 0)
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([10, 1, 2, 3]) if found else b""
    s.sendto(header + question + answer, addr)
"""


def test_dig_against_a_dns_server(unsock: Unsock) -> None:
    """dig (BIND's libuv-based resolver client) under the shim asks a DNS
    server under the shim on 127.0.0.1:PORT; answers come back over the
    client's implicit reply address."""
    dig = require_program("dig")
    port = 19305
    server = unsock.start([sys.executable, "-c", DNS_SERVER, str(port)], wait_port=port)
    log = OutputReader(server.stdout)
    log.wait_for("ready")
    base = [dig, "@127.0.0.1", "-p", str(port), "+time=5", "+tries=1", "+notcp"]
    out = unsock.run([*base, "+short", "example.test", "A"], timeout=30)
    assert out.stdout == b"10.1.2.3\n", out
    log.wait_for(r"query example\.test 1 from 127\.0\.0\.1\n")
    out = unsock.run([*base, "nothere.test", "A"], timeout=30)
    assert b"status: NXDOMAIN" in out.stdout, out.stdout
    out = unsock.run([*base, "example.test", "A"], timeout=30)
    assert b"status: NOERROR" in out.stdout and b"10.1.2.3" in out.stdout, out.stdout
    assert f"SERVER: 127.0.0.1#{port}(127.0.0.1) (UDP)".encode() in out.stdout, out.stdout
    assert_no_udp_socket(port)
    assert files(unsock) == [f"{port}.sock"]
