"""A UDP server on a covered address answers a client that never bound,
also when 127.0.0.1 is not covered (the default range is 127.175.0.0/32;
this directory's is 127.0.0.2/32): the address recvfrom reports for the
client must be one the server's reply reaches. Today recvfrom reports
127.0.0.1:PORT, and sendto(127.0.0.1:PORT) from the converted socket fails
with ENETUNREACH."""

from tests.shim.conftest import COVERED


def test_server_answers_unbound_client_in_a_narrow_range(unsock):
    out = unsock.py(f"""
import socket
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("{COVERED}", 7606))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.settimeout(5)
c.sendto(b"question", ("{COVERED}", 7606))
data, addr = srv.recvfrom(100)
try:
    srv.sendto(b"answer", addr)
    print(c.recvfrom(100))
except OSError as e:
    print("reply to", addr, "failed:", e)
""")
    assert out.strip() == f"(b'answer', ('{COVERED}', 7606))"
