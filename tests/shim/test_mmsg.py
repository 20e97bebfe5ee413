"""sendmmsg/recvmmsg corners on converted UDP sockets (progs/mmsg.c): one
vector to several destinations and to a port nobody serves, recvmmsg
entries without or with short name buffers, MSG_DONTWAIT, vectors longer
than UIO_MAXIOV; the same program on real UDP for comparison."""

import os

from tests.shim.conftest import COVERED


def test_mmsg_corners_on_real_udp(unsock, cprog):
    assert unsock.prog(cprog("mmsg"), COVERED, "real", env=unsock.env(LD_PRELOAD="")).strip() == "ok"


def test_mmsg_corners_under_the_shim(unsock, cprog):
    out = unsock.prog(cprog("mmsg"), COVERED, env=unsock.env(UNSOCK_ADDR="127.0.0.0/8"))
    assert out.strip() == "ok"
    assert os.listdir(unsock.dir) == []
