"""A socket added to an epoll set before bind or connect (nginx adds its
upstream connections before connecting) keeps its registration, events and
data across the swap; a deleted registration or a closed epoll set is not
brought back."""

from tests.shim.conftest import COVERED


def test_epoll_registration_survives_the_swap(unsock, cprog):
    assert unsock.prog(cprog("epoll"), COVERED).strip() == "ok"


def test_asyncio_over_the_shim(unsock):
    """asyncio (epoll underneath) as server and client."""
    out = unsock.py(f"""
import asyncio
async def handle(reader, writer):
    data = await reader.read(100)
    writer.write(data.upper())
    await writer.drain()
    writer.close()
async def main():
    server = await asyncio.start_server(handle, "{COVERED}", 0)
    port = server.sockets[0].getsockname()[1]
    async def one(i):
        reader, writer = await asyncio.open_connection("{COVERED}", port)
        writer.write(b"hello %d" % i)
        await writer.drain()
        got = await reader.read(100)
        writer.close()
        return got
    results = await asyncio.gather(*(one(i) for i in range(50)))
    server.close()
    print(all(r == b"HELLO %d" % i for i, r in enumerate(results)))
asyncio.run(main())
""")
    assert out.strip() == "True"
