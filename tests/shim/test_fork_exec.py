"""Converted sockets keep looking like TCP in the processes they reach: a
child exec'd with inherited descriptors (the shim adopts them at start-up by
their unix addresses), a forked child, and an unrelated process that gets
them over SCM_RIGHTS. Children inherit the configuration."""

import json
import socket

import pytest

from tests.helpers.output import OutputReader
from tests.helpers.shim import unix_connect
from tests.shim.conftest import COVERED

AF_INET, AF_INET6 = int(socket.AF_INET), int(socket.AF_INET6)
STREAM, TCP = int(socket.SOCK_STREAM), int(socket.IPPROTO_TCP)


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
@pytest.mark.parametrize("how", ["exec", "fork", "scm"])
def test_converted_sockets_still_look_like_tcp(unsock, how, family):
    """Listener, client and accepted connection keep their family (IPv6 ones
    say AF_INET6 and report IPv6 addresses) in the process they reach."""
    ip, fam = (COVERED, AF_INET) if family == "ipv4" else ("::1", AF_INET6)
    out = json.loads(unsock.run(unsock.script("inherit.py", ip, how),
                                env=unsock.env(UNSOCK_ADDR=f"{COVERED}/32,::1/128")).stdout)
    lst, cli, acc, new = out["listener"], out["client"], out["accepted"], out["accepted_new"]
    port = lst["name"][1]
    for d in (lst, cli, acc, new):
        assert (d["family"], d["type"], d["proto"], d["domain"], d["cpu"]) == (fam, STREAM, TCP, fam, -1), d
    assert lst["name"] == [ip, port] and lst["peer"] == 107  # ENOTCONN
    # the client's address (its process's, 127.X.Y.Z or ::1) is the same on both ends
    assert cli["peer"] == [ip, port]
    assert cli["name"][0].startswith("127.") if family == "ipv4" else cli["name"][0] == "::1"
    assert acc["name"] == [ip, port] and acc["peer"] == cli["name"]
    assert new["name"] == [ip, port]
    assert new["peer"] == out["new_client"] and out["accepted_from"] == [out["new_client"][0], True]
    assert out["data"] == "ping"


def test_exec_child_inherits_the_configuration(unsock):
    code = f"""
import os, socket, subprocess, sys
s = socket.socket()
s.bind(("{COVERED}", 7400))
s.listen()
r = subprocess.run([sys.executable, "-c",
    "import socket; c = socket.create_connection(('{COVERED}', 7400)); c.sendall(b'child')"])
a, _ = s.accept()
print(a.recv(5).decode(), r.returncode)
"""
    assert unsock.py(code).split() == ["child", "0"]


def test_c_program_forks_and_execs_itself(unsock, cprog):
    """A forked child connects and execs itself with the connection (still converted, its peer
    the parent's address), and the exec'd image listens and serves on a port of its own."""
    p = unsock.start([str(cprog("forkexec")), "parent", COVERED, "7906", "7907"])
    out = OutputReader(p.stdout)
    out.wait_for("bound", timeout=30)
    assert unsock.path(7906).is_socket() and unsock.path(7907).is_socket()
    with unix_connect(unsock.path(7907)) as c:
        c.sendall(b"hi\n")
        assert c.recv(64) == b"binder ok\n"
    out.wait_for("child exited 0", timeout=30)
    assert p.wait(30) == 0
    lines = out.text.splitlines()  # the parent's and the exec'd image's lines, interleaved
    assert sorted(lines) == sorted(["listening", "got child", "peer ok", "got exec", "bound", "served",
                                    "child exited 0"]), lines
