"""Async-signal safety: a signal handler's close and dup of converted
descriptors, landing inside the shim's own connect, accept, dup2 and close
on the same thread, deadlocks nothing and leaves the fd table right
(progs/sigclose.c; README "Signals")."""

import os
import re

from tests.shim.conftest import COVERED


def test_handler_closes_while_the_thread_converts(unsock, cprog):
    out = unsock.prog(cprog("sigclose"), COVERED, "8000", timeout=120)
    m = re.fullmatch(r"rounds 8000 closed-by-handler (\d+)\n", out)
    assert m, out
    assert int(m.group(1)) >= 100, "the timer's handler hardly ever ran: nothing was tested"
    assert os.listdir(unsock.dir) == []
