"""A hostile socket directory: while a server under the shim binds and closes a converted
port thousands of times, another process keeps swapping hard links of a user's file in at
DIR/PORT.sock (rename(2) over whatever is there) and moving whatever is there away. unsock
must never remove a name of that file: it removes a socket file only after moving it aside
under a private name and finding there the socket inode it checked (sockfile.c,
unlink_if_same); chmod never follows a symlink. Planted files that stay put are
test_socket_files.py's."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from tests.helpers.shim import Shim
from tests.shim.conftest import COVERED

PORT = 7601
ROUNDS = 3000

SERVER = f"""
import errno, socket
bound = busy = 0
for i in range({ROUNDS}):
    s = socket.socket()
    try:
        s.bind(("{COVERED}", {PORT}))
        s.listen()
        bound += 1
    except OSError as e:
        if e.errno != errno.EADDRINUSE:
            raise
        busy += 1
    s.close()
print(bound, busy)
"""


def test_swapped_in_files_are_never_removed(unsock: Shim, tmp_path: Path) -> None:
    user = tmp_path / "precious"
    user.write_text("the user's data")
    sock = unsock.dir / f"{PORT}.sock"
    moved = unsock.dir / "moved"
    moved.mkdir()
    links = 0
    done = threading.Event()

    def attack() -> None:
        nonlocal links
        k = 0
        while not done.is_set():
            k += 1
            tmp = unsock.dir / f"link{k}"
            os.link(user, tmp)
            links += 1
            os.rename(tmp, sock)  # replaces whatever is there, unsock's socket file included
            with contextlib.suppress(FileNotFoundError):
                os.rename(sock, moved / f"{k}")  # and moves it away again, removing nothing

    attacker = threading.Thread(target=attack)
    attacker.start()
    try:
        out = unsock.py(SERVER, timeout=120).split()
    finally:
        done.set()
        attacker.join()
    bound, busy = int(out[0]), int(out[1])
    assert bound + busy == ROUNDS
    assert links > 100, "the attacker hardly ran: nothing was tested"
    assert user.stat().st_nlink == 1 + links, "unsock removed a name of the user's file"
    assert user.read_text() == "the user's data"
