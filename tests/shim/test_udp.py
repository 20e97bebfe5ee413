"""UDP on covered addresses becomes unix datagram sockets DIR/PORT.udp
(stream sockets are DIR/PORT.sock, so TCP and UDP on one port coexist):
connected and unconnected sendto/recvfrom, sendmsg/recvmsg,
sendmmsg/recvmmsg and glibc's fortified __recvfrom_chk; clients that never
bind get an implicit reply address (a socket file with a free ephemeral port,
removed at close or exit); senders are reported as (127.0.0.1 or ::1, PORT),
a native unbound unix sender with port 0; NULL address arguments lose no
datagram; stale datagram socket files are replaced at bind and nothing else
is deleted.

Replies go to 127.0.0.1 / ::1, so these tests cover both loopback addresses
(UNSOCK_ADDR=127.0.0.0/8,::1/128) rather than the narrow range of the
directory's other tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cprog import BUILD_DIR

WIDE = "127.0.0.0/8,::1/128"


def dgram_path(unsock, port: int) -> Path:
    return unsock.dir / f"{port}.udp"


@pytest.mark.parametrize(("ip", "lo", "port"), [
    ("127.0.0.1", "127.0.0.1", 7801),
    ("127.0.0.5", "127.0.0.1", 7802),
    ("::1", "::1", 7803),
], ids=["ipv4", "ipv4-range", "ipv6"])
def test_datagram_calls(unsock, cprog, ip, lo, port):
    out = unsock.prog(cprog("dgram"), ip, lo, str(port), env=unsock.env(UNSOCK_ADDR=WIDE))
    assert out.strip() == "ok"
    assert os.listdir(unsock.dir) == []


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1"], ids=["ipv4", "ipv6"])
def test_write_and_read_on_connected_datagram_socket(unsock, cprog, ip):
    """write, writev, read and readv on a connected UDP socket do what they do
    on real UDP: datagrams to and from the peer, dropped rather than blocking
    on a receiver that does not read, EDESTADDRREQ without a peer."""
    real = unsock.prog(cprog("dgramwrite"), ip, "7820", "udp", env=unsock.env(UNSOCK_ADDR="127.0.0.2/32"))
    shimmed = unsock.prog(cprog("dgramwrite"), ip, "7821", "unix", env=unsock.env(UNSOCK_ADDR=WIDE))
    assert shimmed == real
    assert "read three" in real and "readv fo|ur" in real and "write unconnected: EDESTADDRREQ" in real


def test_ipv4_mapped_datagrams(unsock, cprog):
    """AF_INET6 UDP sockets on ::ffff:127.0.0.1 are covered by the IPv4
    range; their peers are IPv4-mapped too (::ffff:127.0.0.1, an address they
    can answer to), as a dual-stack UDP socket sees IPv4 senders."""
    out = unsock.prog(cprog("dgram"), "::ffff:127.0.0.1", "::ffff:127.0.0.1", "7804",
                      env=unsock.env(UNSOCK_ADDR="127.0.0.0/8"))
    assert out.strip() == "ok"


FORTIFIED = r"""
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int port = atoi(argv[1]);
    size_t want = (size_t)atoi(argv[2]);   /* not a constant: glibc checks at run time */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0) { perror("bind"); return 1; }
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    if (sendto(c, "fortified", 9, 0, (struct sockaddr *)&a, sizeof(a)) != 9) { perror("sendto"); return 1; }
    if (sendto(c, "again", 5, 0, (struct sockaddr *)&a, sizeof(a)) != 5) { perror("sendto"); return 1; }
    char buf[64];
    struct sockaddr_in from;
    socklen_t len = sizeof(from);
    ssize_t n = recvfrom(s, buf, want, 0, (struct sockaddr *)&from, &len);
    if (n < 0) { perror("recvfrom"); return 1; }
    char ip[32];
    inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
    struct sockaddr_in me;
    socklen_t mlen = sizeof(me);
    getsockname(c, (struct sockaddr *)&me, &mlen);
    printf("%.*s %s %d\n", (int)n, buf, ip, ntohs(from.sin_port) == ntohs(me.sin_port));
    n = recvfrom(s, buf, want, 0, NULL, NULL);
    if (n < 0) { perror("recvfrom NULL"); return 1; }
    printf("%.*s\n", (int)n, buf);
    return 0;
}
"""


def test_fortified_recvfrom(unsock):
    """A program built with -O2 -D_FORTIFY_SOURCE=2 calls __recvfrom_chk
    instead of recvfrom; it sees the sender all the same."""
    cc = os.environ.get("CC") or shutil.which("cc") or "gcc"
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    src = BUILD_DIR / "fortified_recvfrom.c"
    exe = BUILD_DIR / f"fortified_recvfrom-{os.getpid()}"
    src.write_text(FORTIFIED)
    subprocess.run([cc, "-O2", "-D_FORTIFY_SOURCE=2", "-o", str(exe), str(src)], check=True, capture_output=True)
    try:
        syms = subprocess.run(["nm", "-D", "--undefined-only", str(exe)], capture_output=True, text=True,
                              check=True).stdout
        assert "__recvfrom_chk" in syms, "the compiler did not fortify recvfrom"
        out = unsock.prog(exe, "7810", "64", env=unsock.env(UNSOCK_ADDR=WIDE))
        assert out.splitlines() == ["fortified 127.0.0.1 1", "again"]
    finally:
        exe.unlink()


def test_implicit_reply_address_goes_at_exit(unsock):
    """A client that exits (normally, with exit(3)) without closing its
    socket leaves no reply file; the server can answer it while it lives."""
    out = unsock.py("""
import ctypes, os, socket, sys
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("127.0.0.1", 7811))
pid = os.fork()
if pid == 0:
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(10)
    c.sendto(b"hi", ("127.0.0.1", 7811))
    print(c.recvfrom(10), flush=True)
    ctypes.CDLL(None).exit(0)   # libc's exit: no close, no Python clean-up
data, addr = srv.recvfrom(10)
print(addr[0], os.path.exists(os.path.join(os.environ["UNSOCK_DIR"], "%d.udp" % addr[1])), flush=True)
srv.sendto(b"HI", addr)
os.waitpid(pid, 0)
print(sorted(os.listdir(os.environ["UNSOCK_DIR"])))
""", env=unsock.env(UNSOCK_ADDR=WIDE))
    lines = out.splitlines()
    assert sorted(lines[:2]) == sorted(["127.0.0.1 True", "(b'HI', ('127.0.0.1', 7811))"]), lines
    assert lines[2] == "['7811.udp']"


def test_python_datagram_api_ipv6_and_cross_family(unsock):
    """Python's sendto/recvfrom/recvmsg/recvfrom_into on AF_INET6, and an
    AF_INET client reaching an AF_INET6 server on the same port: the server
    reports every sender in its own family."""
    out = unsock.py("""
import os, socket
srv = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
srv.bind(("::1", 7812))
print("server", srv.getsockname()[:2])
c6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
c6.sendto(b"v6", ("::1", 7812))
me6 = c6.getsockname()[1]
data, addr = srv.recvfrom(100)
print("recvfrom", data, addr[0], addr[1] == me6, len(addr))
srv.sendto(b"V6", addr)
data, anc, flags, addr = c6.recvmsg(100)
print("recvmsg", data, addr[:2])
c4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c4.sendto(b"v4", ("127.0.0.1", 7812))
me4 = c4.getsockname()[1]
buf = bytearray(100)
n, addr = srv.recvfrom_into(buf)
print("recvfrom_into", bytes(buf[:n]), addr[0], addr[1] == me4)
srv.sendto(b"V4", ("::1", me4))
data, addr = c4.recvfrom(100)
print("v4 client", data, addr)
print(srv.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET6,
      c4.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET)
""", env=unsock.env(UNSOCK_ADDR=WIDE))
    assert out.splitlines() == [
        "server ('::1', 7812)",
        "recvfrom b'v6' ::1 True 4",
        "recvmsg b'V6' ('::1', 7812)",
        "recvfrom_into b'v4' ::1 True",
        "v4 client b'V4' ('127.0.0.1', 7812)",
        "True True",
    ]


def test_stale_datagram_file_is_replaced(unsock):
    port = 7813
    path = dgram_path(unsock, port)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody behind it
    out = unsock.py(f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", {port}))
print("bound", flush=True)
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.sendto(b"fresh", ("127.0.0.1", {port}))
print(s.recvfrom(10)[0])
""", env=unsock.env(UNSOCK_ADDR=WIDE))
    assert out.split() == ["bound", "b'fresh'"]
    assert not path.exists()


def bind_fails(unsock, port):
    return unsock.py(f"""
import errno, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", {port}))
    print("bound")
except OSError as e:
    print(errno.errorcode[e.errno])
""", env=unsock.env(UNSOCK_ADDR=WIDE)).strip()


def test_live_datagram_socket_and_other_files_are_left_alone(unsock):
    live = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    live.bind(str(dgram_path(unsock, 7814)))
    try:
        assert bind_fails(unsock, 7814) == "EADDRINUSE"
        # the live socket still receives
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"still here", str(dgram_path(unsock, 7814)))
        live.settimeout(5)
        assert live.recv(20) == b"still here"
    finally:
        live.close()
    regular = dgram_path(unsock, 7815)
    regular.write_bytes(b"user data")
    assert bind_fails(unsock, 7815) == "EADDRINUSE"
    assert regular.read_bytes() == b"user data"
    (unsock.dir / "7816.udp").mkdir()
    assert bind_fails(unsock, 7816) == "EADDRINUSE"
    assert (unsock.dir / "7816.udp").is_dir()
    os.symlink("/nonexistent", dgram_path(unsock, 7817))
    assert bind_fails(unsock, 7817) == "EADDRINUSE"
    assert os.path.islink(dgram_path(unsock, 7817))


def test_tcp_and_udp_on_one_port(unsock):
    """A service on TCP and UDP of the same port (DNS) gets two files, and
    each type reaches its own."""
    out = unsock.py("""
import os, socket
lst = socket.socket()
lst.bind(("127.0.0.1", 7818))
lst.listen()
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("127.0.0.1", 7818))
print(sorted(os.listdir(os.environ["UNSOCK_DIR"])))
c = socket.create_connection(("127.0.0.1", 7818))
a, _ = lst.accept()
c.sendall(b"tcp")
print(a.recv(10))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"udp", ("127.0.0.1", 7818))
print(srv.recvfrom(10)[0])
""", env=unsock.env(UNSOCK_ADDR=WIDE))
    assert out.splitlines() == ["['7818.sock', '7818.udp']", "b'tcp'", "b'udp'"]


def test_uncovered_datagrams_stay_udp(unsock):
    """With the narrow range, UDP to 127.0.0.1 is real UDP."""
    out = unsock.py("""
import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.sendto(b"real", s.getsockname())
data, addr = s.recvfrom(10)
d = os.environ["UNSOCK_DIR"]
print(data, addr[1] == c.getsockname()[1], os.listdir(d) if os.path.isdir(d) else [])
""")
    assert out.strip() == "b'real' True []"


def test_asyncio_datagram_endpoints(unsock):
    """asyncio's datagram transports (epoll underneath): a server endpoint
    and clients with remote_addr (connected) and without (sendto)."""
    out = unsock.py("""
import asyncio
class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport
    def datagram_received(self, data, addr):
        self.transport.sendto(data.upper() + b" from %s" % addr[0].encode(), addr)
class Client(asyncio.DatagramProtocol):
    def __init__(self):
        self.got = asyncio.get_running_loop().create_future()
    def datagram_received(self, data, addr):
        if not self.got.done():
            self.got.set_result((data, addr))
async def main():
    loop = asyncio.get_running_loop()
    server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 7819))
    results = []
    for i in range(5):
        t, p = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", 7819))
        t.sendto(b"connected %d" % i)
        results.append(await asyncio.wait_for(p.got, 10))
        t.close()
        t, p = await loop.create_datagram_endpoint(Client, family=2)
        t.sendto(b"unconnected %d" % i, ("127.0.0.1", 7819))
        results.append(await asyncio.wait_for(p.got, 10))
        t.close()
    server.close()
    for data, addr in results:
        print(data.decode(), addr)
asyncio.run(main())
""", env=unsock.env(UNSOCK_ADDR=WIDE))
    lines = out.splitlines()
    assert len(lines) == 10, lines
    for i in range(5):
        assert lines[2 * i] == f"CONNECTED {i} from 127.0.0.1 ('127.0.0.1', 7819)"
        assert lines[2 * i + 1] == f"UNCONNECTED {i} from 127.0.0.1 ('127.0.0.1', 7819)"
    assert os.listdir(unsock.dir) == []


def test_reply_address_follows_dup_and_fork(unsock):
    """The implicit reply file lives as long as some descriptor of the socket
    does: closing a dup or the parent's copy keeps it; the last close (the
    child's exit) removes it."""
    out = unsock.py("""
import os, socket
d = os.environ["UNSOCK_DIR"]
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("127.0.0.1", 7820))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.sendto(b"first", ("127.0.0.1", 7820))
me = c.getsockname()[1]
path = os.path.join(d, "%d.udp" % me)
data, addr = srv.recvfrom(100)
copy = os.dup(c.fileno())
os.close(copy)
print("after closing a dup", os.path.exists(path), flush=True)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    os.read(r, 1)   # the parent has closed its copy
    c.sendto(b"from child", ("127.0.0.1", 7820))
    c.settimeout(10)
    print("child got", c.recv(100), flush=True)
    c.close()
    os._exit(0)
os.close(r)
c.close()
print("after the parent's close", os.path.exists(path), flush=True)
os.write(w, b"x")
data, addr2 = srv.recvfrom(100)
print(data, addr2 == addr, flush=True)
srv.sendto(b"reply", addr2)
os.waitpid(pid, 0)
print("after the child's close", os.path.exists(path))
""", env=unsock.env(UNSOCK_ADDR=WIDE))
    assert out.splitlines() == [
        "after closing a dup True", "after the parent's close True", "b'from child' True", "child got b'reply'",
        "after the child's close False"]
