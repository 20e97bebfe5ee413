"""Non-blocking connect to a covered address: 0/EINPROGRESS (on a full
backlog too, as on TCP: writable once the server accepts), POLLOUT,
SO_ERROR 0, data flows; a port nobody listens on is ECONNREFUSED, never
ENOENT. The C probe runs on real TCP as well, with the same expectations."""

import errno

from tests.shim.conftest import COVERED


def test_nonblocking_connect_in_c(unsock, cprog):
    assert unsock.prog(cprog("nbconnect"), COVERED, str(unsock.dir)).strip() == "ok"


def test_python_nonblocking_connect(unsock):
    out = unsock.py(f"""
import select, socket
lst = socket.socket()
lst.bind(("{COVERED}", 0))
lst.listen()
c = socket.socket()
c.setblocking(False)
r = c.connect_ex(lst.getsockname())
select.select([], [c], [], 10)
err = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
a, _ = lst.accept()
c.send(b"data")
got = a.recv(10)
d = socket.socket()
d.setblocking(False)
refused = d.connect_ex(("{COVERED}", 9))
print(r in (0, {errno.EINPROGRESS}), err, got.decode(), refused)
""")
    assert out.split() == ["True", "0", "data", str(errno.ECONNREFUSED)]
