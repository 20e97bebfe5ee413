"""Run in the guest under the shim: native AF_VSOCK and AF_TIPC listeners (not
converted by unsock) accept a connection; prints what accept() and getpeername()
report, one JSON object per family."""

import json
import socket
import threading

out = {}
lv = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
lv.bind((socket.VMADDR_CID_ANY, 6000))
lv.listen()
cv = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
cv.connect((1, 6000))
av, peer = lv.accept()
out["vsock"] = {"accept": list(peer) if isinstance(peer, tuple) else peer, "family": av.family}

lt = socket.socket(socket.AF_TIPC, socket.SOCK_STREAM)
lt.bind((socket.TIPC_ADDR_NAME, 3000, 7, 0, socket.TIPC_CLUSTER_SCOPE))
lt.listen()
ct = socket.socket(socket.AF_TIPC, socket.SOCK_STREAM)
# a TIPC connect completes only once the server accepts: connect from a thread
client = threading.Thread(target=ct.connect, args=((socket.TIPC_ADDR_NAME, 3000, 7, 0),))
client.start()
at, tpeer = lt.accept()
client.join()
out["tipc"] = {"accept": list(tpeer) if isinstance(tpeer, tuple) else tpeer, "getpeername": list(at.getpeername())}
print(json.dumps(out))
