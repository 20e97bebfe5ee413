"""A datagram server answers the address recvfrom() gave it (issue 17, items 4 and 5): under
an `in` rule whose path has a placeholder (the reply goes where that rule puts the client's
port), and under a fixed path, where connect() to the sender reaches the sender and not the
server's own socket. Real programs: dnsmasq answering dig, a Python server answering
OpenBSD `nc -u`."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.output import OutputReader
from tests.helpers.programs import proc_net_ports, require_program
from tests.helpers.rules import PYTHON, Runner, ok, run, running, wait_file

pytestmark = [pytest.mark.program("python3"), pytest.mark.both_engines]

#: Answers each datagram in upper case: with sendto(peer), or connect(peer) then send.
ECHO = """
import socket, sys
port, how, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
print("ready", flush=True)
for _ in range(count):
    data, peer = s.recvfrom(100)
    print("from", peer, flush=True)
    if how == "sendto":
        s.sendto(data.upper(), peer)
    else:
        s.connect(peer)
        s.send(data.upper())
"""

CLIENT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b"hello " + sys.argv[2].encode(), ("127.0.0.1", int(sys.argv[1])))
data, peer = s.recvfrom(100)
print(data.decode(), peer)
"""


@pytest.fixture
def runner() -> Iterator[Runner]:
    with running() as r:
        yield r


def test_server_under_in_rule_with_placeholder_answers_nc(tmp_path: Path, runner: Runner) -> None:
    nc = require_program("nc")
    port = 19401
    server = runner.start([f"in,udp,path={tmp_path}/%p.sock"], [PYTHON, "-u", "-c", ECHO, str(port), "sendto", "2"])
    assert server.out.wait_for("ready\n", 15)
    client_rule = f"out,udp,path={tmp_path}/%p.sock"
    for i in range(2):
        client = runner.start([client_rule], [nc, "-u", "127.0.0.1", str(port)], stdin=subprocess.PIPE)
        assert client.proc.stdin is not None
        client.proc.stdin.write(f"nc {i}\n".encode())
        client.proc.stdin.flush()
        assert client.out.wait_for(f"NC {i}\n", 15)
        client.proc.stdin.close()
    assert port not in proc_net_ports("udp")


def test_dnsmasq_under_in_rule_with_placeholder_answers_dig(tmp_path: Path, runner: Runner) -> None:
    dnsmasq, dig = require_program("dnsmasq"), require_program("dig")
    port = 19402
    server = runner.start(
        [f"in,udp,path={tmp_path}/%p.udp", f"in,tcp,path={tmp_path}/%p.sock"],
        [dnsmasq, "-k", f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
         "--no-hosts", "--address=/example.test/10.1.2.3", "-C", "/dev/null", f"--pid-file={tmp_path}/pid",
         "--user=root", "--log-facility=-"])
    m = OutputReader(server.proc.stderr).wait_for(r"started, version|failed.*", timeout=15)
    assert m.group(0).startswith("started"), m.group(0)
    out = ok(run([f"out,udp,path={tmp_path}/%p.udp"],
                 [dig, "@127.0.0.1", "-p", str(port), "+time=5", "+tries=1", "+short", "example.test", "A"],
                 timeout=30))
    assert out == b"10.1.2.3\n"


@pytest.mark.parametrize(("how", "clients"), [("sendto", 2), ("connect", 1)])
def test_server_with_fixed_path_answers_its_sender(tmp_path: Path, runner: Runner, how: str, clients: int) -> None:
    """-r path=D/d.sock: the clients' replies reach the clients (connect(peer) used to go to the
    rule's path, that is to the server itself), from the port they sent to. (A server connected
    to one client hears no other, on UDP as here.)"""
    rule = f"path={tmp_path}/d.sock"
    server = runner.start([rule], [PYTHON, "-u", "-c", ECHO, "19403", how, str(clients)], verbose=True)
    wait_file(tmp_path / "d.sock", server)
    assert server.out.wait_for("ready\n", 15)
    for i in range(clients):
        out = ok(run([rule], [PYTHON, "-c", CLIENT, "19403", str(i)])).decode()
        assert re.fullmatch(rf"HELLO {i} \('127\.0\.0\.1', 19403\)\n", out), out
    assert server.proc.wait(10) == 0
    assert b"a sender seen before" in server.proc.stderr.read(), "the decision log says where the answer went"
