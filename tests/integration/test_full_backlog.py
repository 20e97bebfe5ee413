"""A full backlog is TCP's full backlog (issue 17, item 9): a non-blocking connect to a
converted listener whose backlog is full is in progress (EINPROGRESS), and completes once the
server accepts, or fails with an error in SO_ERROR; it is never reported done before it is.
asyncio burst clients against a busy `listen(1)` server all get through, as on TCP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.rules import PYTHON, Runner, ok, run, running

pytestmark = [pytest.mark.program("python3"), pytest.mark.both_engines]

BUSY_SERVER = """
import socket, sys, time
l = socket.socket()
l.bind(("127.0.0.5", int(sys.argv[1])))
l.listen(1)
print("ready", flush=True)
time.sleep(0.5)  # busy: the clients queue up
for _ in range(int(sys.argv[2])):
    a, _ = l.accept()
    a.sendall(a.recv(100).upper())
    a.close()
"""

BURST = """
import asyncio, sys

async def one(i):
    reader, writer = await asyncio.open_connection("127.0.0.5", int(sys.argv[1]))
    writer.write(b"client %d" % i)
    await writer.drain()
    data = await reader.read(100)
    writer.close()
    return data.decode()

async def main():
    results = await asyncio.gather(*(one(i) for i in range(int(sys.argv[2]))), return_exceptions=True)
    for r in results:
        print(r if isinstance(r, str) else "failed: %r" % r)

asyncio.run(main())
"""

FAILING = """
import errno, select, socket, sys, time
# nobody will accept: the listener goes away with its full backlog
l = socket.socket()
l.bind(("127.0.0.5", int(sys.argv[1])))
l.listen(0)
first = socket.socket()
first.connect(("127.0.0.5", int(sys.argv[1])))
c = socket.socket()
c.setblocking(False)
print(errno.errorcode[c.connect_ex(("127.0.0.5", int(sys.argv[1])))])
_, w, _ = select.select([], [c], [], 0.5)
print("writable before the server went away:", bool(w))
l.close()
_, w, _ = select.select([], [c], [], 10)
print("writable:", bool(w), errno.errorcode.get(c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), 0))
"""


@pytest.fixture
def runner() -> Iterator[Runner]:
    with running() as r:
        yield r


def test_asyncio_burst_against_a_busy_listen_1_server(tmp_path: Path, runner: Runner) -> None:
    rule = f"path={tmp_path}/%p.sock"
    server = runner.start([rule], [PYTHON, "-u", "-c", BUSY_SERVER, "7801", "6"])
    assert server.out.wait_for("ready\n", 15)
    out = ok(run([rule], [PYTHON, "-c", BURST, "7801", "6"], timeout=60)).decode()
    assert sorted(out.splitlines()) == [f"CLIENT {i}" for i in range(6)], out


def test_a_connect_that_cannot_complete_says_why_in_so_error(tmp_path: Path) -> None:
    out = ok(run([f"path={tmp_path}/%p.sock"], [PYTHON, "-c", FAILING, "7802"], timeout=60)).decode()
    assert out.splitlines() == ["EINPROGRESS", "writable before the server went away: False",
                                "writable: True ECONNREFUSED"], out
