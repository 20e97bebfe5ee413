"""Thread safety: 8 threads x 200 converted connects against 4 accepting
threads, while other threads create, dup and close converted listeners."""

import os

from tests.shim.conftest import COVERED


def test_concurrent_connects_and_listeners(unsock, cprog):
    assert unsock.prog(cprog("threads"), COVERED, str(unsock.dir), timeout=120).strip() == "ok"
    assert os.listdir(unsock.dir) == []


def test_python_threads(unsock):
    out = unsock.py(f"""
import socket, threading
lst = socket.socket()
lst.bind(("{COVERED}", 0))
lst.listen(128)
addr = lst.getsockname()
def serve():
    while True:
        a, _ = lst.accept()
        data = a.recv(64)
        if data == b"stop":
            return
        a.sendall(data.upper())
        a.close()
errors = []
def work(n):
    for i in range(100):
        with socket.create_connection(addr) as c:
            msg = b"t%d-%d" % (n, i)
            c.sendall(msg)
            if c.recv(64) != msg.upper():
                errors.append(msg)
servers = [threading.Thread(target=serve) for _ in range(2)]
workers = [threading.Thread(target=work, args=(n,)) for n in range(8)]
for t in servers + workers:
    t.start()
for t in workers:
    t.join()
for t in servers:
    socket.create_connection(addr).sendall(b"stop")
for t in servers:
    t.join()
print(len(errors))
""")
    assert out.strip() == "0"
