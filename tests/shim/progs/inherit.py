"""The converted sockets a process gets from elsewhere still look like TCP
(over IPv6 for an IPv6 COVERED_IP): inherited across exec, inherited across
fork, or received over SCM_RIGHTS.
Usage: inherit.py COVERED_IP exec|fork|scm"""

import json
import os
import socket
import sys


def describe(s):
    d = {"family": int(s.family), "type": int(s.type), "proto": s.proto,
         "domain": s.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN), "name": list(s.getsockname()[:2]),
         "cpu": s.getsockopt(socket.SOL_SOCKET, socket.SO_INCOMING_CPU)}
    try:
        d["peer"] = list(s.getpeername()[:2])
    except OSError as e:
        d["peer"] = e.errno
    return d


def child(fds, ip):
    """Runs in the process that got the descriptors: listener, client, accepted."""
    lst, cli, acc = (socket.socket(fileno=fd) for fd in fds)
    out = {"listener": describe(lst), "client": describe(cli), "accepted": describe(acc)}
    cli.sendall(b"ping")
    out["data"] = acc.recv(4).decode()
    # The inherited listener accepts new connections with TCP addresses.
    port = lst.getsockname()[1]
    c2 = socket.create_connection((ip, port), timeout=10)
    a2, peer = lst.accept()
    out["accepted_from"] = [peer[0], peer[1] != 0]
    out["new_client"] = list(c2.getsockname()[:2])
    out["accepted_new"] = describe(a2)
    c2.close()
    print(json.dumps(out), flush=True)


def main():
    ip, how = sys.argv[1], sys.argv[2]
    if how == "child":
        child([int(x) for x in sys.argv[3].split(",")], ip)
        return
    if how == "receive":
        chan = socket.socket(fileno=int(sys.argv[3]))
        _, got, _, _ = socket.recv_fds(chan, 10, 3)
        child(got, ip)
        return
    lst = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET)
    lst.bind((ip, 0))
    lst.listen()
    cli = socket.create_connection(lst.getsockname()[:2])
    acc, _ = lst.accept()
    fds = [lst.fileno(), cli.fileno(), acc.fileno()]
    if how == "exec":
        for fd in fds:
            os.set_inheritable(fd, True)
        os.execv(sys.executable, [sys.executable, __file__, ip, "child", ",".join(map(str, fds))])
    elif how == "fork":
        pid = os.fork()
        if pid == 0:
            child([os.dup(fd) for fd in fds], ip)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
    elif how == "scm":
        # The receiver is a separate program started afresh, sharing nothing.
        a, b = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            a.close()
            os.set_inheritable(b.fileno(), True)
            os.execv(sys.executable, [sys.executable, __file__, ip, "receive", str(b.fileno())])
        b.close()
        socket.send_fds(a, [b"fds"], fds)
        lst.close()
        cli.close()
        acc.close()
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
