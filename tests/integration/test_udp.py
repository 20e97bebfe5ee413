"""UDP under the shim with real programs: socat's UDP-RECVFROM (forking) and
UDP-LISTEN servers with connected (UDP:) and unconnected (UDP-SENDTO:)
clients, OpenBSD `nc -u` at both ends, Python's sendto/recvfrom client and
server answering an unbound client, and dnsmasq answering dig over UDP and
TCP on one port. Every exchange goes over unix datagram sockets
DIR/PORT.udp (stream sockets are DIR/PORT.sock): nothing is bound on real
UDP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.output import OutputReader
from tests.helpers.proc import Unsock, wait_for, wait_for_path
from tests.helpers.programs import proc_net_ports, require_program

pytestmark = pytest.mark.program("socat")


def udp_bound_ports() -> set[int]:
    """Local ports of every real UDP socket in this network namespace (v4 and v6)."""
    return proc_net_ports("udp")


def assert_no_udp_socket(port: int) -> None:
    assert port not in udp_bound_ports(), f"a real UDP socket is bound to port {port}"


def udp_path(unsock: Unsock, port: int) -> Path:
    return unsock.dir / f"{port}.udp"


def start_udp(unsock: Unsock, args: list[str], port: int, stdin: int | None = subprocess.DEVNULL,
              ) -> subprocess.Popen[bytes]:
    """A UDP server under the shim, once its socket file DIR/PORT.udp is there."""
    p = unsock.start(args, stdin=stdin)
    wait_for_path(udp_path(unsock, port), 15)
    return p


def files(unsock: Unsock) -> list[str]:
    return sorted(os.listdir(unsock.dir))


def socat() -> str:
    return require_program("socat")


def test_socat_recvfrom_server_connected_and_unconnected_clients(unsock: Unsock) -> None:
    """UDP-RECVFROM with fork: each datagram is answered by a child through the
    inherited server socket, to the address recvfrom reported for the client."""
    port = 19301
    server = start_udp(unsock, [socat(), f"UDP-RECVFROM:{port},bind=127.0.0.1,fork", "EXEC:tr a-z A-Z"], port)
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
    wait_for(lambda: files(unsock) == [f"{port}.udp"], 10, f"only {port}.udp left, not {files(unsock)}")


def test_socat_udp_listen_both_ways(unsock: Unsock) -> None:
    """UDP-LISTEN takes the first datagram's sender as its peer (connects to
    the address recvfrom reported) and talks to it both ways."""
    port = 19302
    server = start_udp(unsock, [socat(), "-b", "65536", f"UDP-LISTEN:{port},bind=127.0.0.1", "STDIO"], port,
                       stdin=subprocess.PIPE)
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
    client_port_files = [f for f in files(unsock) if f != f"{port}.udp"]
    assert len(client_port_files) == 1, files(unsock)  # the client's implicit reply address


def test_netcat_udp_both_ends(unsock: Unsock) -> None:
    """nc -u -l answers the nc -u client that wrote to it."""
    nc = require_program("nc")
    port = 19303
    server = start_udp(unsock, [nc, "-u", "-l", "127.0.0.1", str(port)], port, stdin=subprocess.PIPE)
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
    print("me", me, os.path.exists(os.path.join(os.environ["UNSOCK_DIR"], "%d.udp" % me)))
    data, addr = s.recvfrom(65536)
    print("got", data.decode(), "from", addr[0], addr[1])
"""


def test_unconnected_python_client_and_server(unsock: Unsock) -> None:
    """A client that never binds sends with sendto; the server replies with
    sendto to the address recvfrom gave it, and the client's recvfrom shows
    the server's address."""
    port = 19304
    server = start_udp(unsock, [sys.executable, "-c", UDP_SERVER, str(port)], port)
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
    assert files(unsock) == [f"{port}.udp"], "the client's reply address outlived it"
    unsock.run([sys.executable, "-c", "import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                ".sendto(b'quit', ('127.0.0.1', int(sys.argv[1])))", str(port)])
    assert server.wait(15) == 0
    wait_for(lambda: files(unsock) == [], 10, "the server's socket file to go")


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1"])
def test_dnsmasq_answers_dig_over_udp_and_tcp(unsock: Unsock, tmp_path: Path, ip: str) -> None:
    """dnsmasq binds UDP and TCP on IP:PORT: DIR/PORT.udp and DIR/PORT.sock.
    dig under the shim asks over UDP (from an implicit reply address) and
    over TCP, over IPv4 and IPv6 (dnsmasq drops IPv6 queries that come
    without an IPV6_PKTINFO control message)."""
    dnsmasq, dig = require_program("dnsmasq"), require_program("dig")
    port = 19305 if ip == "127.0.0.1" else 19307
    env = unsock.env(UNSOCK_ADDR="127.0.0.0/8,::1/128")
    server = unsock.start(
        [dnsmasq, "-k", f"--port={port}", f"--listen-address={ip}", "--bind-interfaces", "--no-resolv",
         "--no-hosts", "--address=/example.test/10.1.2.3", "-C", "/dev/null", f"--pid-file={tmp_path}/pid",
         "--user=root", "--log-facility=-", "--log-queries"], env=env)
    log = OutputReader(server.stderr)
    m = log.wait_for(r"started, version|failed.*", timeout=15)
    assert m.group(0).startswith("started"), m.group(0)
    assert files(unsock) == [f"{port}.sock", f"{port}.udp"]
    assert_no_udp_socket(port)
    base = [dig, f"@{ip}", "-p", str(port), "+time=5", "+tries=1"]
    out = unsock.run([*base, "+short", "example.test", "A"], env=env, timeout=30)
    assert out.stdout == b"10.1.2.3\n", out
    log.wait_for(rf"query\[A\] example\.test from {re.escape(ip)}\n")
    out = unsock.run([*base, "example.test", "A"], env=env, timeout=30)
    assert b"status: NOERROR" in out.stdout and b"10.1.2.3" in out.stdout, out.stdout
    assert f"SERVER: {ip}#{port}({ip}) (UDP)".encode() in out.stdout, out.stdout
    out = unsock.run([*base, "+tcp", "example.test", "A"], env=env, timeout=30)
    assert f"SERVER: {ip}#{port}({ip}) (TCP)".encode() in out.stdout, out.stdout
    assert b"10.1.2.3" in out.stdout
    out = unsock.run([*base, "+short", "other.example.test", "A"], env=env, timeout=30)
    assert out.stdout == b"10.1.2.3\n"  # --address covers subdomains
    assert_no_udp_socket(port)
    assert files(unsock) == [f"{port}.sock", f"{port}.udp"]
