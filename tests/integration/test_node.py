"""Node.js (libuv: non-blocking connect, epoll, accept4 with NULL address)
under the shim: an http server and an http client, a net echo server and
client, curl natively against the node server, and a port 0 listener."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.output import OutputReader
from tests.helpers.proc import Unsock
from tests.helpers.programs import assert_no_tcp_listener, plain_env, require_program

pytestmark = pytest.mark.program("node")

SCRIPTS = Path(__file__).parent / "node"


def node(script: str, *args: object) -> list[str]:
    return [require_program("node"), str(SCRIPTS / script), *(str(a) for a in args)]


def start_server(unsock: Unsock, script: list[str], port: int) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Start a node server under the shim; the address it printed once listening."""
    p = unsock.start(script)
    line = OutputReader(p.stdout).wait_for(r"\{.*\}\n", timeout=20).group(0)
    address: dict[str, Any] = json.loads(line)
    if port:
        assert address["port"] == port, address
    assert address["address"] == "127.0.0.1" and address["family"] == "IPv4", address
    assert unsock.path(address["port"]).exists()
    return p, address


def test_http_server_and_client(unsock: Unsock) -> None:
    port = 18601
    start_server(unsock, node("http_server.js", port), port)
    assert_no_tcp_listener(port)
    out = unsock.run(node("http_client.js", port, 200), timeout=90)
    summary = json.loads(out.stdout)
    assert summary["ok"] == 200
    seen = summary["first"]
    # the server saw a TCP peer on 127.0.0.1, on its own port
    assert (seen["remoteFamily"], seen["remoteAddress"]) == ("IPv4", "127.0.0.1"), seen
    assert (seen["localAddress"], seen["localPort"]) == ("127.0.0.1", port), seen


def test_http_server_with_native_curl(unsock: Unsock) -> None:
    port = 18602
    start_server(unsock, node("http_server.js", port), port)
    curl = require_program("curl")
    p = subprocess.run(
        [curl, "-sS", "--fail", "--max-time", "20", "--unix-socket", str(unsock.path(port)), "http://x/hello",
         "--data-binary", "twelve bytes"],
        env=plain_env(), capture_output=True, timeout=30, check=False,
    )
    assert p.returncode == 0, p.stderr.decode()
    seen = json.loads(p.stdout)
    assert (seen["method"], seen["url"], seen["bodyLength"]) == ("POST", "/hello", 12), seen
    # a native unix client still looks like TCP from 127.0.0.1 to the server
    assert (seen["remoteFamily"], seen["localPort"]) == ("IPv4", port), seen
    p = subprocess.run(
        [curl, "-sS", "--fail", "--max-time", "20", "--unix-socket", str(unsock.path(port)), "http://x/big"],
        env=plain_env(), capture_output=True, timeout=30, check=False,
    )
    assert p.stdout == b"u" * (1 << 20), p.stderr.decode()


def test_http_server_on_port_zero(unsock: Unsock) -> None:
    _, address = start_server(unsock, node("http_server.js", 0), 0)
    port = address["port"]
    assert port != 0
    assert_no_tcp_listener(port)
    out = unsock.run(node("http_client.js", port, 10), timeout=60)
    assert json.loads(out.stdout)["ok"] == 10


def test_net_echo(unsock: Unsock) -> None:
    port = 18603
    start_server(unsock, node("echo.js", "server", port), port)
    for size in (1, 65536, 8 * 1024 * 1024):
        out = unsock.run(node("echo.js", "client", port, size), timeout=60)
        result = json.loads(out.stdout)
        assert result == {"bytes": size, "remotePort": port, "remoteAddress": "127.0.0.1"}, result


@pytest.mark.parametrize("policy", ["rr", "none"])
def test_cluster_workers_see_tcp_peers(unsock: Unsock, policy: str) -> None:
    """node:cluster hands sockets to its workers over SCM_RIGHTS: with "rr"
    each accepted connection, with "none" the listener. The workers must
    serve, and see TCP addresses as they would without the shim."""
    port = 18604 if policy == "rr" else 18605
    script = node("cluster.js", port)
    p = unsock.start(script, env=unsock.env(NODE_CLUSTER_SCHED_POLICY=policy))
    OutputReader(p.stdout).wait_for(r"\{.*\}\n", timeout=30)
    assert unsock.path(port).exists()
    assert_no_tcp_listener(port)
    curl = require_program("curl")
    seen = []
    for _ in range(6):
        out = unsock.run([curl, "-sS", "--fail", "--max-time", "20", f"http://127.0.0.1:{port}/"])
        seen.append(json.loads(out.stdout))
    if policy == "rr":
        assert len({s["pid"] for s in seen}) == 2, f"round robin did not reach both workers: {seen}"
    for s in seen:
        assert (s["remoteFamily"], s["remoteAddress"]) == ("IPv4", "127.0.0.1"), s
        assert (s["localAddress"], s["localPort"]) == ("127.0.0.1", port), s
