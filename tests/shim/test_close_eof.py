"""Closing a converted client or accepted socket sends EOF to the peer, and a
closed converted listener refuses new connections: no descriptor of the
socket survives the swap (the original leaked one per converted socket)."""

import subprocess
import sys

from tests.helpers.shim import unix_connect
from tests.shim.conftest import COVERED


def test_close_sends_eof_and_closed_listener_refuses(unsock):
    p = unsock.run(unsock.script("close_eof.py", COVERED, str(unsock.dir)))
    assert p.stdout.decode().strip() == "ok"


def test_eof_reaches_a_process_outside_the_shim(unsock):
    """The peer is the test process itself, not running under the shim."""
    code = f"""
import socket, sys
s = socket.socket()
s.bind(("{COVERED}", 7010))
s.listen()
a, _ = s.accept()
a.sendall(b"x")
a.close()
sys.stdin.read()
"""
    p = unsock.start([sys.executable, "-c", code], wait_port=7010, stdin=subprocess.PIPE)
    u = unix_connect(unsock.path(7010))
    assert u.recv(10) == b"x"
    assert u.recv(10) == b""
    u.close()
    assert p.poll() is None
