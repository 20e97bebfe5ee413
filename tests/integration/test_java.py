"""OpenJDK under the shim with only the original README's settings
(UNSOCK_DIR and an IPv4 UNSOCK_ADDR, no UNSOCK_BLOCK_INET6). Java opens
AF_INET6 sockets and binds/connects to ::ffff:127.0.0.1, which the IPv4 range
covers: com.sun.net.httpserver.HttpServer on 127.0.0.1:PORT becomes
DIR/PORT.sock, served to a java.net.Socket client and an HttpURLConnection
client under the shim and to curl (natively over the file and under the
shim). The JVMs see IP addresses of their own and their peers."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers.output import OutputReader
from tests.helpers.proc import Unsock
from tests.helpers.programs import assert_no_tcp_listener, plain_env, require_program

pytestmark = pytest.mark.program("java")

SERVER = r"""
import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

public class Server {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 50);
        server.createContext("/", ex -> {
            byte[] body = ("hello from java " + ex.getRequestURI().getPath()
                    + " local=" + ex.getLocalAddress() + " peer=" + ex.getRemoteAddress() + "\n")
                    .getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        System.out.println("listening " + server.getAddress());
        System.out.flush();
    }
}
"""

CLIENT = r"""
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;

public class Client {
    static String readAll(InputStream in) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        in.transferTo(buf);
        return buf.toString(StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        // A plain java.net.Socket speaking HTTP/1.0 by hand.
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 10000);
            s.setSoTimeout(10000);
            s.setTcpNoDelay(true);
            s.setKeepAlive(true);
            System.out.println("socket local=" + s.getLocalSocketAddress() + " remote=" + s.getRemoteSocketAddress()
                    + " nodelay=" + s.getTcpNoDelay());
            OutputStream out = s.getOutputStream();
            out.write("GET /socket HTTP/1.0\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String resp = readAll(s.getInputStream());
            System.out.println("socket response: " + resp.substring(resp.indexOf("\r\n\r\n") + 4).trim());
        }
        // HttpURLConnection, three requests (keep-alive reuses the connection).
        for (int i = 0; i < 3; i++) {
            URL url = new URL("http://127.0.0.1:" + port + "/url" + i);
            HttpURLConnection c = (HttpURLConnection) url.openConnection();
            c.setConnectTimeout(10000);
            c.setReadTimeout(10000);
            System.out.println("url status=" + c.getResponseCode() + " body: " + readAll(c.getInputStream()).trim());
        }
    }
}
"""


@pytest.fixture(scope="module")
def classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Server.class and Client.class, compiled once for the module."""
    javac = require_program("javac")
    out = tmp_path_factory.mktemp("java")
    (out / "Server.java").write_text(SERVER)
    (out / "Client.java").write_text(CLIENT)
    p = subprocess.run([javac, "-d", str(out), str(out / "Server.java"), str(out / "Client.java")],
                       env=plain_env(), capture_output=True, timeout=120, check=False)
    assert p.returncode == 0, f"javac failed: {p.stderr.decode()}"
    return out


def java(classes: Path, main: str, *args: str) -> list[str]:
    # -Xshare:auto and a small heap keep the start quick; no IPv4 preference:
    # the JVM uses AF_INET6 sockets as it does by default.
    return [require_program("java"), "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-cp", str(classes), main, *args]


def original_env(unsock: Unsock) -> dict[str, str]:
    """Only what the original unsock's README sets."""
    env = unsock.env()
    for name in list(env):
        if name.startswith("UNSOCK_") and name not in ("UNSOCK_DIR", "UNSOCK_ADDR"):
            del env[name]
    env["UNSOCK_ADDR"] = "127.0.0.1/8"
    return env


def test_java_http_server_and_clients(unsock: Unsock, classes: Path) -> None:
    port = 19101
    env = original_env(unsock)
    server = unsock.start(java(classes, "Server", str(port)), env=env)
    OutputReader(server.stdout).wait_for(r"listening /127\.0\.0\.1:" + str(port), timeout=60)
    assert unsock.path(port).exists(), f"the JVM listens but not on {unsock.path(port)}: {os.listdir(unsock.dir)}"
    assert_no_tcp_listener(port)

    # curl natively over the socket file
    curl = require_program("curl")
    p = subprocess.run([curl, "-sS", "--fail", "--max-time", "20", "--unix-socket", str(unsock.path(port)),
                        "http://x/native"], env=plain_env(), capture_output=True, timeout=30, check=False)
    assert p.returncode == 0, p.stderr.decode()
    # the JVM reports its own address as bound and a loopback peer with an ephemeral port
    m = re.fullmatch(rf"hello from java /native local=/127\.0\.0\.1:{port} peer=/127\.0\.0\.1:(\d+)\n",
                     p.stdout.decode())
    assert m, p.stdout
    assert int(m.group(1)) >= 1024

    # curl under the shim over "TCP"
    out = unsock.run([curl, "-sS", "--fail", "--max-time", "20", f"http://127.0.0.1:{port}/shimmed"], env=env)
    assert out.stdout.decode().startswith(f"hello from java /shimmed local=/127.0.0.1:{port} peer=/127.0.0.1:")

    # a Java client under the shim: java.net.Socket and HttpURLConnection
    out = unsock.run(java(classes, "Client", str(port)), env=env, timeout=90)
    text = out.stdout.decode()
    lines = text.splitlines()
    assert len(lines) == 5, text
    m = re.fullmatch(rf"socket local=/127\.0\.0\.1:(\d+) remote=/127\.0\.0\.1:{port} nodelay=true", lines[0])
    assert m, lines[0]
    assert re.fullmatch(rf"socket response: hello from java /socket local=/127\.0\.0\.1:{port} "
                        r"peer=/127\.0\.0\.1:\d+", lines[1]), lines[1]
    for i in range(3):
        assert re.fullmatch(rf"url status=200 body: hello from java /url{i} local=/127\.0\.0\.1:{port} "
                            r"peer=/127\.0\.0\.1:\d+", lines[2 + i]), lines[2 + i]
    assert b"unsock:" not in out.stderr

    # still nothing on real TCP, and the server is alive
    assert_no_tcp_listener(port)
    assert server.poll() is None, OutputReader(server.stderr).drain()
    # only the listener's file: the clients' ends leave no files
    assert sorted(f.name for f in unsock.dir.iterdir()) == [f"{port}.sock"]
