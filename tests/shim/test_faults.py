"""Faults a converted socket meets as a TCP socket would (progs/faults.c): at RLIMIT_NOFILE a
connect or bind either works (an early socket needs no spare descriptor; TCP needs none
either) or fails with EMFILE and the same call works once a descriptor is free; accept fails
with EMFILE as on TCP; blocked accept, recv and connect (to a full backlog) end with EINTR at a
signal without SA_RESTART. No descriptor is leaked and no socket file left."""

import os

from tests.shim.conftest import COVERED

EMFILE_STEPS = ("connect at the limit", "bind at the limit")


def test_emfile(unsock, cprog):
    lines = unsock.prog(cprog("faults"), "emfile", COVERED).splitlines()
    assert len(lines) == 3, lines
    for line, step in zip(lines, EMFILE_STEPS, strict=False):
        assert line in (f"{step}: ok", f"{step}: EMFILE"), lines
    assert lines[2] == "accept at the limit: EMFILE"
    # Early sockets (the default) need no spare descriptor: TCP's outcome exactly.
    if os.environ.get("UNSOCK_IP_AT_SOCKET") != "1":
        assert lines[:2] == [f"{s}: ok" for s in EMFILE_STEPS]
    assert os.listdir(unsock.dir) == []


def test_eintr(unsock, cprog):
    out = unsock.prog(cprog("faults"), "eintr", COVERED)
    assert out == "accept: EINTR\nrecv: EINTR\nconnect: EINTR\n"
    assert os.listdir(unsock.dir) == []
