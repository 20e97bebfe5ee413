"""Every match of the rule language (docs/rules.md) with real programs under
`unsock run -r RULE -- PROGRAM`: `in` / `out`, the socket type keywords,
`addr=` (IPv4, CIDR, IPv6, IPv6 CIDR, IPv4-mapped), `port=P` and `port=P-Q`,
`from-unix=GLOB` (every glob form) and `from-abstract=GLOB`. Each test shows
that the matching socket is converted and that the one beside it, which the
rule does not match, stays what it was (real TCP or UDP, or its own unix
name)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.proc import wait_for
from tests.helpers.programs import assert_no_tcp_listener, proc_net_ports, require_program, tcp_listening_ports
from tests.helpers.rules import (
    PYTHON,
    Runner,
    curl,
    curl_tcp,
    curl_unix,
    http_server,
    listing,
    make_docroot,
    ok,
    plain,
    run,
    running,
    serving,
    socat,
    unix_names,
    url,
    wait_file,
    wait_socket,
)

pytestmark = [pytest.mark.program("python3"), pytest.mark.both_engines]

UNIX_BODY = b"served over the unix socket\n"
TCP_BODY = b"served over real TCP\n"


@pytest.fixture
def runner() -> Iterator[Runner]:
    with running() as r:
        yield r


@pytest.fixture
def sites(tmp_path: Path) -> tuple[Path, Path]:
    """Two docroots whose hello.txt tell which server answered: (unix one, TCP one)."""
    return make_docroot(tmp_path, "unix", UNIX_BODY), make_docroot(tmp_path, "tcp", TCP_BODY)


def tcp_server(runner: Runner, port: int, root: Path, host: str = "127.0.0.1") -> None:
    """A plain http.server on real TCP host:port (no shim), once it serves."""
    p = runner.popen(http_server(port, root, host))
    serving(p)
    wait_for(lambda: port in tcp_listening_ports(), 10, f"TCP port {port} listening")


# --- in / out -------------------------------------------------------------------------------------------------


def test_in_rule_converts_the_server_not_its_clients(runner: Runner, sockdir: Path, sites: tuple[Path, Path]
                                                     ) -> None:
    """Server under `in,...`: its bind becomes a unix socket that plain curl
    reaches; curl under the same `in` rule connects over real TCP (to a plain
    server on the same port)."""
    port = 24001
    rule = f"in,port={port},path={sockdir}/%p.sock"
    server = runner.start([rule], http_server(port, sites[0]))
    wait_socket(sockdir / f"{port}.sock", server)
    assert_no_tcp_listener(port)
    assert curl_unix(sockdir / f"{port}.sock") == UNIX_BODY
    tcp_server(runner, port, sites[1])
    assert ok(run([rule], curl(url(port)))) == TCP_BODY
    assert listing(sockdir) == [f"{port}.sock"]


def test_out_rule_converts_the_client_not_servers(runner: Runner, sockdir: Path, sites: tuple[Path, Path]) -> None:
    """Server under `out,...`: it binds real TCP and writes no file. curl under
    the `out` rule reaches a unix server (here http.server converted by an
    `in` rule); plain curl reaches the TCP one."""
    port = 24002
    out_rule = f"out,port={port},path={sockdir}/srv.sock"
    server = runner.start([out_rule], http_server(port, sites[1]))
    assert serving(server) == port
    wait_for(lambda: port in tcp_listening_ports(), 10, f"TCP port {port} listening")
    assert listing(sockdir) == []
    assert ok(curl_tcp(port)) == TCP_BODY

    unix = runner.start([f"in,port={port},path={sockdir}/srv.sock"], http_server(port, sites[0]))
    wait_socket(sockdir / "srv.sock", unix)
    assert ok(run([out_rule], curl(url(port)))) == UNIX_BODY
    assert ok(curl_tcp(port)) == TCP_BODY


def test_rule_without_direction_converts_both(runner: Runner, sockdir: Path, sites: tuple[Path, Path]) -> None:
    port = 24003
    rule = f"port={port},path={sockdir}/%p.sock"
    server = runner.start([rule], http_server(port, sites[0]))
    wait_socket(sockdir / f"{port}.sock", server)
    assert_no_tcp_listener(port)
    assert ok(run([rule], curl(url(port)))) == UNIX_BODY


# --- socket type ----------------------------------------------------------------------------------------------

TYPE_WORDS = {"tcp": "stream", "stream": "stream", "udp": "dgram", "dgram": "dgram", "datagram": "dgram"}


@pytest.mark.program("socat")
@pytest.mark.parametrize("word", list(TYPE_WORDS))
def test_type_keyword_converts_only_its_type(runner: Runner, sockdir: Path, word: str) -> None:
    """A socat TCP echo server and a socat UDP echo server on the same port,
    both under `WORD,path=D/%p.%t`: only the socket of WORD's type
    becomes D/P.tcp or D/P.udp; the other stays on real TCP or UDP. Clients
    under the same rule reach both."""
    port = 24010 + list(TYPE_WORDS).index(word)
    rule = f"{word},path={sockdir}/%p.%t"
    tcp = runner.start([rule], [socat(), f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", "EXEC:tr a-z A-Z"])
    udp = runner.start([rule], [socat(), f"UDP-RECVFROM:{port},bind=127.0.0.1,fork", "EXEC:tr a-z A-Z"])
    stream = TYPE_WORDS[word] == "stream"
    if stream:
        wait_socket(sockdir / f"{port}.tcp", tcp)
        wait_for(lambda: port in proc_net_ports("udp"), 10, f"real UDP port {port}")
        assert_no_tcp_listener(port)
    else:
        wait_file(sockdir / f"{port}.udp", udp)
        wait_for(lambda: port in tcp_listening_ports(), 10, f"real TCP port {port} listening")
        assert port not in proc_net_ports("udp"), f"a real UDP socket is bound to port {port}"
    assert listing(sockdir) == [f"{port}.tcp" if stream else f"{port}.udp"]

    answer = run([rule], [socat(), "-t", "5", "-", f"TCP:127.0.0.1:{port}"], input=b"over tcp\n", timeout=30)
    assert ok(answer) == b"OVER TCP\n"
    answer = run([rule], [socat(), "-t", "3", "-", f"UDP:127.0.0.1:{port}"], input=b"over udp\n", timeout=30)
    assert ok(answer) == b"OVER UDP\n"
    # the plain client reaches the one left on IP
    if stream:
        answer = plain([socat(), "-t", "3", "-", f"UDP:127.0.0.1:{port}"], input=b"plain udp\n", timeout=30)
        assert ok(answer) == b"PLAIN UDP\n"
    else:
        answer = plain([socat(), "-t", "5", "-", f"TCP:127.0.0.1:{port}"], input=b"plain tcp\n", timeout=30)
        assert ok(answer) == b"PLAIN TCP\n"


# --- addr= ----------------------------------------------------------------------------------------------------

ADDR_CASES = [
    # (rule's addr=, where http.server binds, converted?)
    ("127.0.0.1", "127.0.0.1", True),
    ("127.0.0.1", "127.0.0.2", False),
    ("127.0.0.0/30", "127.0.0.3", True),
    ("127.0.0.0/30", "127.0.0.4", False),
    ("::1", "::1", True),
    ("::1", "127.0.0.1", False),
    ("::/120", "::1", True),
    ("fd00::/8", "::1", False),
    ("127.0.0.0/8", "::ffff:127.0.0.1", True),  # IPv4-mapped: matches the IPv4 rule
    ("::ffff:127.0.0.1", "127.0.0.1", False),   # an IPv6 rule does not match a plain IPv4 bind
]


@pytest.mark.parametrize(("addr", "bind", "converted"), ADDR_CASES,
                         ids=[f"{a}@{b}" for a, b, _ in ADDR_CASES])
def test_addr_match_for_servers(runner: Runner, sockdir: Path, sites: tuple[Path, Path], addr: str, bind: str,
                                converted: bool) -> None:
    port = 24020 + ADDR_CASES.index((addr, bind, converted))
    server = runner.start([f"in,addr={addr},port={port},path={sockdir}/%p.sock"], http_server(port, sites[0], bind))
    sock = sockdir / f"{port}.sock"
    if converted:
        wait_socket(sock, server)
        assert port not in tcp_listening_ports()
        assert curl_unix(sock) == UNIX_BODY
    else:
        assert serving(server) == port
        wait_for(lambda: port in tcp_listening_ports(), 10, f"TCP port {port} listening")
        assert listing(sockdir) == []
        host = bind.removeprefix("::ffff:")
        assert ok(curl_tcp(port, host)) == UNIX_BODY


CLIENT_CASES = [
    # (rule's addr=, where curl connects, converted?)
    ("127.0.0.1", "127.0.0.1", True),
    ("127.0.0.0/8", "::ffff:127.0.0.1", True),  # curl's AF_INET6 socket to a mapped address
    ("127.0.0.1/32", "::ffff:127.0.0.1", True),
    ("::1", "::1", True),
    ("::/127", "::1", True),
    ("::1", "127.0.0.1", False),
    ("127.0.0.2", "127.0.0.1", False),
    ("fd00::/8", "::1", False),
]


@pytest.mark.parametrize(("addr", "host", "converted"), CLIENT_CASES,
                         ids=[f"{a}@{h}" for a, h, _ in CLIENT_CASES])
def test_addr_match_for_clients(runner: Runner, sockdir: Path, sites: tuple[Path, Path], addr: str, host: str,
                                converted: bool) -> None:
    """curl under `out,addr=X,port=P,path=D/srv.sock`: reaches the unix server
    when the address it connects to matches, else the plain TCP server."""
    port = 24040 + CLIENT_CASES.index((addr, host, converted))
    unix = runner.start([f"in,port={port},path={sockdir}/srv.sock"], http_server(port, sites[0]))
    wait_socket(sockdir / "srv.sock", unix)
    tcp_host = "::" if ":" in host and not host.startswith("::ffff:") else "127.0.0.1"
    tcp_server(runner, port, sites[1], tcp_host)
    answer = ok(run([f"out,addr={addr},port={port},path={sockdir}/srv.sock"], curl(url(port, host))))
    assert answer == (UNIX_BODY if converted else TCP_BODY)


# --- port= ----------------------------------------------------------------------------------------------------

LISTENERS = r"""
import socket, sys, time
socks = []
for port in sys.argv[1:]:
    s = socket.socket()
    s.bind(("127.0.0.1", int(port)))
    s.listen(4)
    socks.append(s)
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("spec", ["24061", "24062-24064"])
def test_port_and_port_range(runner: Runner, sockdir: Path, spec: str) -> None:
    """One program listening on the ports around P (or P-Q) under
    `in,port=SPEC,path=D/%p.sock`: the ports in the range are unix sockets,
    the ones just outside are real TCP listeners."""
    lo, _, hi = spec.partition("-")
    first, last = int(lo), int(hi or lo)
    ports = list(range(first - 1, last + 2))
    prog = runner.start([f"in,port={spec},path={sockdir}/%p.sock"], [PYTHON, "-c", LISTENERS, *map(str, ports)])
    prog.out.wait_for("ready")
    listening = tcp_listening_ports()
    for port in ports:
        inside = first <= port <= last
        assert (sockdir / f"{port}.sock").exists() == inside, (port, listing(sockdir))
        assert (port in listening) == (not inside), (port, sorted(listening & set(ports)))
    assert listing(sockdir) == [f"{p}.sock" for p in range(first, last + 1)]


@pytest.mark.program("socat")
def test_udp_echo_through_a_port_rule(runner: Runner, sockdir: Path) -> None:
    """A UDP echo server and its client under `udp,port=P,path=D/%p.%t`: the
    client's implicit reply address (D/N.udp, N outside port=P) is reported to
    the server as 127.0.0.1:N, and the server's answer to it must reach the
    client, as it does without port=."""
    port = 24075
    rule = f"udp,port={port},path={sockdir}/%p.%t"
    server = runner.start([rule], [socat(), f"UDP-RECVFROM:{port},bind=127.0.0.1,fork", "EXEC:tr a-z A-Z"])
    wait_file(sockdir / f"{port}.udp", server)
    answer = run([rule], [socat(), "-t", "3", "-", f"UDP:127.0.0.1:{port}"], input=b"echo me\n", timeout=30)
    assert ok(answer) == b"ECHO ME\n", server.err.drain()


def test_port_range_for_clients(runner: Runner, sockdir: Path, sites: tuple[Path, Path]) -> None:
    """curl under `out,port=P-Q,path=...`: a destination port inside goes to the
    unix server, one outside to real TCP."""
    unix = runner.start(["in,port=24070,path=" + str(sockdir / "srv.sock")], http_server(24070, sites[0]))
    wait_socket(sockdir / "srv.sock", unix)
    tcp_server(runner, 24073, sites[1])
    rule = f"out,port=24070-24072,path={sockdir}/srv.sock"
    assert ok(run([rule], curl(url(24070)))) == UNIX_BODY
    assert ok(run([rule], curl(url(24072)))) == UNIX_BODY
    assert ok(run([rule], curl(url(24073)))) == TCP_BODY


# --- from-unix= -----------------------------------------------------------------------------------------------

GLOBS = [
    # (glob, D standing for the socket directory: does it match D/orig/app-1.sock?)
    ("D/orig/*.sock", True),
    ("D/*.sock", False),            # * does not cross /
    ("D/**.sock", False),           # nor does ** that is not a whole component
    ("D/**/app-1.sock", True),      # a whole ** does
    ("D/orig/**/app-1.sock", True),  # zero components too
    ("**/orig/app-1.sock", True),
    ("app-?.sock", True),           # no /: the last component
    ("orig/app-?.sock", False),     # a / makes it the whole path
    ("D/orig/app-?.sock", True),
    ("D/orig/app?1.sock", True),
    ("D/orig/app-??.sock", False),
    ("D/orig/app-[0-9].sock", True),
    ("D/orig/app-[123].sock", True),
    ("D/orig/app-[!0-9].sock", False),
    ("D/orig/app-[a-z].sock", False),
    ("D/orig/app-1.sock", True),
    ("D/orig/app-1.soc", False),
]


@pytest.mark.program("socat")
@pytest.mark.parametrize(("glob", "matches"), GLOBS, ids=[g for g, _ in GLOBS])
def test_from_unix_glob_server(runner: Runner, sockdir: Path, glob: str, matches: bool) -> None:
    """socat UNIX-LISTEN:D/orig/app-1.sock under `from-unix=GLOB,path=D/new.sock`:
    the listener ends up at D/new.sock when GLOB matches, else where socat asked."""
    (sockdir / "orig").mkdir()
    orig, new = sockdir / "orig" / "app-1.sock", sockdir / "new.sock"
    pattern = f"{sockdir}{glob[1:]}" if glob.startswith("D/") else glob
    server = runner.start([f"from-unix={pattern},path={new}"],
                          [socat(), f"UNIX-LISTEN:{orig},fork", "EXEC:tr a-z A-Z"])
    wait_socket(new if matches else orig, server)
    assert not (orig if matches else new).exists(), listing(sockdir)
    answer = plain([socat(), "-t", "5", "-", f"UNIX-CONNECT:{new if matches else orig}"], input=b"glob\n", timeout=30)
    assert ok(answer) == b"GLOB\n"


@pytest.mark.program("socat")
def test_from_unix_client_and_nc(runner: Runner, sockdir: Path) -> None:
    """Clients: socat and nc -U under `out,from-unix=...` connecting to a path
    nobody listens on reach the server at the rule's path; an `in` rule does
    not touch their connect."""
    nc = require_program("nc")
    real = sockdir / "real.sock"
    server = runner.popen([socat(), f"UNIX-LISTEN:{real},fork", "EXEC:tr a-z A-Z"])
    wait_socket(real, server)
    ghost = sockdir / "ghost" / "app.sock"
    rule = f"out,from-unix={sockdir}/ghost/*,path={real}"
    assert ok(run([rule], [socat(), "-t", "5", "-", f"UNIX-CONNECT:{ghost}"], input=b"socat\n", timeout=30)) \
        == b"SOCAT\n"
    assert ok(run([rule], [nc, "-N", "-U", str(ghost)], input=b"netcat\n", timeout=30)) == b"NETCAT\n"
    p = run([f"in,from-unix={sockdir}/ghost/*,path={real}"], [socat(), "-t", "5", "-", f"UNIX-CONNECT:{ghost}"],
            input=b"x\n", timeout=30)
    assert p.returncode != 0 and b"No such file or directory" in p.stderr, p


def test_from_unix_nc_listener(runner: Runner, sockdir: Path) -> None:
    """nc -lU under a from-unix rule listens at the rule's path."""
    nc = require_program("nc")
    orig, new = sockdir / "nc-orig.sock", sockdir / "nc-new.sock"
    server = runner.start([f"in,from-unix={sockdir}/nc-*.sock,path={new}"], [nc, "-lU", str(orig)],
                          stdin=subprocess.PIPE)
    wait_for(lambda: new.exists() or server.proc.poll() is not None, 15, f"{new}")
    server.check_alive("listening")
    assert not orig.exists()
    assert ok(plain([nc, "-N", "-U", str(new)], input=b"to nc\n", timeout=30)) == b""
    server.out.wait_for("to nc\n")


# --- from-abstract= -------------------------------------------------------------------------------------------


@pytest.mark.program("socat")
@pytest.mark.parametrize(("pattern", "matches"), [("{id}-*", True), ("{id}-ap?", True), ("{id}-[!a]*", False),
                                                  ("other-*", False)])
def test_from_abstract_server(runner: Runner, sockdir: Path, pattern: str, matches: bool) -> None:
    """socat ABSTRACT-LISTEN:NAME under `from-abstract=GLOB,path=D/abs.sock`."""
    ident = f"unsock-test-{uuid.uuid4().hex[:12]}"
    name, new = f"{ident}-app", sockdir / "abs.sock"
    server = runner.start([f"from-abstract={pattern.format(id=ident)},path={new}"],
                          [socat(), f"ABSTRACT-LISTEN:{name},fork", "EXEC:tr a-z A-Z"])
    if matches:
        wait_socket(new, server)
        assert f"@{name}" not in unix_names()
        assert ok(plain([socat(), "-t", "5", "-", f"UNIX-CONNECT:{new}"], input=b"abs\n", timeout=30)) == b"ABS\n"
    else:
        wait_for(lambda: f"@{name}" in unix_names() or not server.alive(), 15, f"@{name} bound")
        server.check_alive("binding")
        assert listing(sockdir) == []
        answer = plain([socat(), "-t", "5", "-", f"ABSTRACT-CONNECT:{name}"], input=b"abs\n", timeout=30)
        assert ok(answer) == b"ABS\n"


@pytest.mark.program("socat")
def test_from_abstract_client(runner: Runner, sockdir: Path) -> None:
    """socat ABSTRACT-CONNECT:NAME under `out,from-abstract=...` reaches a server
    at a path (and, with `abstract=`, at another abstract name)."""
    ident = f"unsock-test-{uuid.uuid4().hex[:12]}"
    real = sockdir / "real.sock"
    server = runner.popen([socat(), f"UNIX-LISTEN:{real},fork", "EXEC:tr a-z A-Z"])
    wait_socket(real, server)
    runner.popen([socat(), f"ABSTRACT-LISTEN:{ident}-other,fork", "EXEC:rev"])
    wait_for(lambda: f"@{ident}-other" in unix_names(), 15, "the abstract server")
    connect = [socat(), "-t", "5", "-", f"ABSTRACT-CONNECT:{ident}-ghost"]
    assert ok(run([f"out,from-abstract={ident}-*,path={real}"], connect, input=b"abs\n", timeout=30)) == b"ABS\n"
    assert ok(run([f"out,from-abstract={ident}-gh*,abstract={ident}-other"], connect, input=b"abc\n",
                  timeout=30)) == b"cba\n"
    p = plain(connect, input=b"x\n", timeout=30)
    assert p.returncode != 0 and b"Connection refused" in p.stderr, p
