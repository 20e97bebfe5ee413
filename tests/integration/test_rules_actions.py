"""Every action and option of the rule language (docs/rules.md) with real
programs under `unsock run -r RULE -- PROGRAM` (and -f FILE): `path=` and its
placeholders, relative paths, `abstract=`, `reject` and `reject=ERRNO`,
`blackhole`, `ignore`, `noremove`, `mode=`, port 0 with `%p`,
`firecracker=UDS:PORT` through tests/integration/firecracker_mux.py, and a
`path=` target holding a control file."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.output import unsock_cli
from tests.helpers.proc import wait_for
from tests.helpers.programs import (
    assert_no_tcp_listener,
    plain_env,
    proc_net_ports,
    require_program,
    tcp_listening_ports,
)
from tests.helpers.rules import (
    HELLO,
    PYTHON,
    Runner,
    assert_no_tcp,
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
    sock_mode,
    unix_names,
    unix_names_of,
    url,
    wait_file,
    wait_socket,
)

pytestmark = [pytest.mark.program("python3"), pytest.mark.both_engines]

MUX = Path(__file__).with_name("firecracker_mux.py")


@pytest.fixture
def runner() -> Iterator[Runner]:
    with running() as r:
        yield r


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    return make_docroot(tmp_path)


# --- path= and its placeholders ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_path_placeholders_tcp(runner: Runner, sockdir: Path, docroot: Path, host: str) -> None:
    """%p %a %t %% in a path: http.server's file is named after its port,
    address and type; curl under an `out` rule with the same template reaches it."""
    port = 24101 if host == "127.0.0.1" else 24102
    template = f"{sockdir}/%p-%a-%t-%%.sock"
    server = runner.start([f"in,port={port},path={template}"], http_server(port, docroot, host))
    name = f"{port}-{host}-tcp-%.sock"
    wait_socket(sockdir / name, server)
    assert listing(sockdir) == [name]
    assert_no_tcp(port, host)
    assert curl_unix(sockdir / name) == HELLO
    assert ok(run([f"out,port={port},path={template}"], curl(url(port, host)))) == HELLO


@pytest.mark.program("socat")
def test_path_placeholders_udp(runner: Runner, sockdir: Path) -> None:
    """%t is udp for a datagram socket: a socat UDP echo server's file."""
    port = 24103
    template = f"{sockdir}/%p-%a-%t-%%.sock"
    server = runner.start([f"in,path={template}"],
                          [socat(), f"UDP-RECVFROM:{port},bind=127.0.0.1,fork", "EXEC:tr a-z A-Z"])
    wait_file(sockdir / f"{port}-127.0.0.1-udp-%.sock", server)
    assert port not in proc_net_ports("udp")
    answer = run([f"path={template}"], [socat(), "-t", "3", "-", f"UDP:127.0.0.1:{port}"], input=b"udp\n", timeout=30)
    assert ok(answer) == b"UDP\n"


BIND_AFTER_CHDIR = r"""
import os, socket, sys
os.chdir("/")
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
print("bound", os.getcwd(), flush=True)
s.accept()[0].close()
"""


def test_relative_path_made_absolute_from_rule_and_file(runner: Runner, sockdir: Path, tmp_path: Path) -> None:
    """A relative path= is made absolute with the directory `unsock run` was
    started in, for -r and for -f rules alike: a program that changes to /
    before binding still gets its file there."""
    (sockdir / "rel").mkdir()
    rules_file = tmp_path / "rules"
    rules_file.write_text("# relative paths\n\n   in,port=24105,path=rel/from-file.sock\n")
    prog = runner.start(["in,port=24104,path=rel/%p.sock"], [PYTHON, "-c", BIND_AFTER_CHDIR, "24104"], cwd=sockdir)
    prog.out.wait_for("bound /\n")
    wait_socket(sockdir / "rel" / "24104.sock", prog)
    prog = runner.start([], [PYTHON, "-c", BIND_AFTER_CHDIR, "24105"], files=[rules_file], cwd=sockdir)
    prog.out.wait_for("bound /\n")
    wait_socket(sockdir / "rel" / "from-file.sock", prog)
    assert not Path("/rel").exists()


# --- abstract= ----------------------------------------------------------------------------------------------


@pytest.mark.program("socat")
def test_abstract_target(runner: Runner, sockdir: Path, docroot: Path) -> None:
    """http.server under `in,abstract=NAME-%p`: /proc/net/unix lists @NAME-PORT,
    no file is made, nothing on TCP; socat ABSTRACT-CONNECT and curl
    --abstract-unix-socket fetch from it; curl under `out,abstract=...` too."""
    port = 24110
    name = f"unsock-test-{uuid.uuid4().hex[:12]}"
    server = runner.start([f"in,port={port},abstract={name}-%p"], http_server(port, docroot))
    wait_for(lambda: f"@{name}-{port}" in unix_names() or not server.alive(), 15, f"@{name}-{port}")
    server.check_alive("binding")
    assert listing(sockdir) == []
    assert_no_tcp_listener(port)
    raw = plain([socat(), "-t", "5", "-", f"ABSTRACT-CONNECT:{name}-{port}"],
                input=b"GET /hello.txt HTTP/1.0\r\n\r\n", timeout=30)
    assert ok(raw).startswith(b"HTTP/1.0 200 OK\r\n") and ok(raw).endswith(b"\r\n\r\n" + HELLO), raw.stdout
    assert ok(plain(curl("--abstract-unix-socket", f"{name}-{port}", "http://x/hello.txt"))) == HELLO
    assert ok(run([f"out,port={port},abstract={name}-%p"], curl(url(port)))) == HELLO


# --- reject -------------------------------------------------------------------------------------------------

REJECTS = [
    # (action, errno name, strerror, Python's exception name)
    ("reject", "EACCES", "Permission denied", "PermissionError"),
    ("reject=ECONNREFUSED", "ECONNREFUSED", "Connection refused", "ConnectionRefusedError"),
    ("reject=111", "ECONNREFUSED", "Connection refused", "ConnectionRefusedError"),
    ("reject=EADDRINUSE", "EADDRINUSE", "Address already in use", "OSError"),
]

CONNECT_ERRNO = r"""
import errno, socket, sys
s = socket.socket(socket.AF_INET, int(sys.argv[2]))
try:
    if s.type == socket.SOCK_STREAM:
        s.connect(("127.0.0.1", int(sys.argv[1])))
    else:
        s.sendto(b"x", ("127.0.0.1", int(sys.argv[1])))
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
"""


@pytest.mark.parametrize(("action", "name", "message", "exc"), REJECTS, ids=[r[0] for r in REJECTS])
def test_reject_server(sockdir: Path, docroot: Path, action: str, name: str, message: str, exc: str) -> None:
    """http.server under `in,...,reject[=E]` fails to start with that error;
    nothing listens and no file is made."""
    port = 24120 + [r[0] for r in REJECTS].index(action)
    p = run([f"in,port={port},{action}"], http_server(port, docroot), timeout=30)
    assert p.returncode != 0
    err = p.stderr.decode()
    assert f"{exc}: [Errno" in err and message in err, err
    assert port not in tcp_listening_ports()
    assert listing(sockdir) == []


@pytest.mark.program("nc")
@pytest.mark.parametrize(("action", "name", "message", "exc"), REJECTS[:3], ids=[r[0] for r in REJECTS[:3]])
def test_reject_client(runner: Runner, docroot: Path, action: str, name: str, message: str, exc: str) -> None:
    """With a plain http.server on real TCP port P, clients under
    `out,port=P,reject[=E]` fail with that error: curl exits 7, nc names the
    error, a Python connect() and a UDP sendto() get the errno. Plain curl
    reaches the server."""
    port = 24130 + [r[0] for r in REJECTS].index(action)
    server = runner.popen(http_server(port, docroot))
    assert serving(server) == port
    assert ok(curl_tcp(port)) == HELLO
    rule = f"out,port={port},{action}"
    p = run([rule], curl(url(port)))
    assert p.returncode == 7, p
    p = run([rule], [require_program("nc"), "-z", "-v", "-w", "5", "127.0.0.1", str(port)], timeout=30)
    assert p.returncode != 0 and message in p.stderr.decode(), p
    for sock_type in ("1", "2"):  # SOCK_STREAM, SOCK_DGRAM
        assert ok(run([rule], [PYTHON, "-c", CONNECT_ERRNO, str(port), sock_type])).decode().strip() == name


# --- blackhole ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("port", [24140, 0])
def test_blackhole(runner: Runner, sockdir: Path, docroot: Path, port: int) -> None:
    """http.server under `in,blackhole` starts and says it serves, but nothing
    listens on TCP, no file exists for its socket anywhere, and clients with
    the same port fail; it keeps running."""
    before = set(Path("/tmp").glob("unsock-blackhole-*"))
    server = runner.start([f"in,port={port},blackhole" if port else "in,blackhole"], http_server(port, docroot))
    shown = serving(server)
    assert shown != 0 and (port == 0 or shown == port)
    names = unix_names_of(server.pid)
    assert names, "http.server holds no unix socket"
    for n in names:
        assert n.startswith("@") or not Path(n).exists(), f"the blackhole socket's file {n} exists"
    assert set(Path("/tmp").glob("unsock-blackhole-*")) == before, "a blackhole directory was left behind"
    assert listing(sockdir) == []
    assert_no_tcp_listener(shown)
    assert curl_tcp(shown).returncode == 7
    assert run([f"out,port={shown},path={sockdir}/%p.sock"], curl(url(shown))).returncode == 7
    assert server.alive()


# --- ignore -------------------------------------------------------------------------------------------------


def test_ignore_before_a_broader_rule(runner: Runner, sockdir: Path, tmp_path: Path) -> None:
    """`in,port=P,ignore` then `in,path=D/%p.sock`: the server on P stays on
    real TCP (plain curl over TCP works), the one on Q becomes D/Q.sock.
    Clients likewise with `out` rules."""
    tcp_root = make_docroot(tmp_path, "tcp", b"tcp\n")
    unix_root = make_docroot(tmp_path, "unix", b"unix\n")
    kept, moved = 24150, 24151
    rules = [f"in,port={kept},ignore", f"in,path={sockdir}/%p.sock"]
    a = runner.start(rules, http_server(kept, tcp_root))
    b = runner.start(rules, http_server(moved, unix_root))
    wait_socket(sockdir / f"{moved}.sock", b)
    assert serving(a) == kept
    wait_for(lambda: kept in tcp_listening_ports(), 10, f"TCP port {kept} listening")
    assert listing(sockdir) == [f"{moved}.sock"]
    assert ok(curl_tcp(kept)) == b"tcp\n"
    assert curl_unix(sockdir / f"{moved}.sock") == b"unix\n"
    assert_no_tcp_listener(moved)
    client_rules = [f"out,port={kept},ignore", f"out,path={sockdir}/%p.sock"]
    assert ok(run(client_rules, curl(url(kept)))) == b"tcp\n"
    assert ok(run(client_rules, curl(url(moved)))) == b"unix\n"


# --- noremove, mode= ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("noremove", [False, True], ids=["removed", "noremove"])
def test_noremove(runner: Runner, sockdir: Path, docroot: Path, noremove: bool) -> None:
    """The socket file goes when http.server exits (^C), unless noremove; a
    server started again with the same rule replaces the stale file."""
    port = 24160 + noremove
    sock = sockdir / "app.sock"
    rule = f"in,port={port},path={sock}" + (",noremove" if noremove else "")
    for _ in range(2):
        server = runner.start([rule], http_server(port, docroot))
        wait_socket(sock, server)
        assert curl_unix(sock) == HELLO
        server.proc.send_signal(signal.SIGINT)
        server.proc.wait(15)
        assert sock.exists() == noremove, listing(sockdir)
        assert not (noremove and sock.exists() and curl_unix_alive(sock)), "nobody should answer on a stale file"


def curl_unix_alive(sock: Path) -> bool:
    return plain(curl("--unix-socket", str(sock), "http://x/hello.txt")).returncode == 0


@pytest.mark.parametrize("mode", ["0600", "0660", "0644", "0700"])
def test_mode(runner: Runner, sockdir: Path, docroot: Path, mode: str) -> None:
    port = 24170
    rule = f"in,port={port},path={sockdir}/%p.sock,mode={mode}"
    server = runner.start([rule], http_server(port, docroot))
    wait_socket(sockdir / f"{port}.sock", server)
    assert sock_mode(sockdir / f"{port}.sock") == int(mode, 8)
    assert curl_unix(sockdir / f"{port}.sock") == HELLO


@pytest.mark.program("socat")
def test_mode_and_noremove_on_datagram_sockets(runner: Runner, sockdir: Path) -> None:
    port = 24171
    sock = sockdir / f"{port}.udp"
    server = runner.start([f"udp,port={port},path={sockdir}/%p.udp,mode=0640,noremove"],
                          [socat(), f"UDP-RECVFROM:{port},bind=127.0.0.1,fork", "EXEC:cat"])
    wait_file(sock, server)
    assert sock_mode(sock) == 0o640
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(15)
    assert sock.exists()


# --- port 0 -------------------------------------------------------------------------------------------------

BIND_ZERO = r"""
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
print("port", s.getsockname()[1], flush=True)
time.sleep(60)
"""


def test_port_zero_with_placeholder(runner: Runner, sockdir: Path, docroot: Path) -> None:
    """bind(port 0) under `in,path=D/%p.sock`: getsockname() tells a port P and
    D/P.sock is the socket (Python, and http.server's banner)."""
    prog = runner.start([f"in,path={sockdir}/%p.sock"], [PYTHON, "-c", BIND_ZERO])
    port = int(prog.out.wait_for(r"port (\d+)\n").group(1))
    assert port != 0
    wait_socket(sockdir / f"{port}.sock", prog)
    server = runner.start([f"in,path={sockdir}/%p.sock"], http_server(0, docroot))
    shown = serving(server)
    assert shown not in (0, port)
    wait_socket(sockdir / f"{shown}.sock", server)
    assert curl_unix(sockdir / f"{shown}.sock") == HELLO
    assert ok(run([f"out,path={sockdir}/%p.sock"], curl(url(shown)))) == HELLO
    assert_no_tcp_listener(shown)
    assert sorted(listing(sockdir)) == sorted([f"{port}.sock", f"{shown}.sock"])


def test_port_zero_without_placeholder(runner: Runner, sockdir: Path) -> None:
    prog = runner.start([f"in,path={sockdir}/fixed.sock"], [PYTHON, "-c", BIND_ZERO])
    port = int(prog.out.wait_for(r"port (\d+)\n").group(1))
    assert port != 0
    wait_socket(sockdir / "fixed.sock", prog)
    assert listing(sockdir) == ["fixed.sock"]


@pytest.mark.program("nc")
def test_netcat_listens_on_port_zero(runner: Runner, sockdir: Path) -> None:
    """OpenBSD nc -l on port 0 under `in,path=D/%p.sock`: one socket file appears."""
    nc = require_program("nc")
    server = runner.start([f"in,path={sockdir}/%p.sock"], [nc, "-l", "127.0.0.1", "0"], stdin=subprocess.PIPE)
    wait_for(lambda: len(listing(sockdir)) == 1 or not server.alive(), 15, "nc's socket file")
    server.check_alive("listening")
    (name,) = listing(sockdir)
    assert name.endswith(".sock") and 1 <= int(name.removesuffix(".sock")) <= 65535, name
    assert ok(plain([nc, "-N", "-U", str(sockdir / name)], input=b"hi nc\n", timeout=30)) == b""
    server.out.wait_for("hi nc\n")


# --- firecracker= and control files ------------------------------------------------------------------------


@pytest.fixture
def mux(runner: Runner, sockdir: Path, docroot: Path) -> Path:
    """http.server on the unix socket D/guest.sock, and the test multiplexer at
    D/vsock relaying guest ports 8080 and 24181 to it."""
    guest = sockdir / "guest.sock"
    server = runner.start([f"in,port=24180,path={guest}"], http_server(24180, docroot))
    wait_socket(guest, server)
    uds = sockdir / "vsock"
    m = runner.popen([sys.executable, str(MUX), str(uds), "--map", f"8080={guest}", "--map", f"24181={guest}"])
    wait_socket(uds, m)
    return uds


def test_firecracker_rule(runner: Runner, sockdir: Path, docroot: Path, mux: Path) -> None:
    """curl under `out,port=P,firecracker=UDS:8080` (and `UDS:%p`) fetches
    through the multiplexer; a port outside the rule is left on TCP."""
    body = ok(run([f"out,port=24182,firecracker={mux}:8080"], curl(url(24182))))
    assert body == HELLO
    assert ok(run([f"out,port=24181,firecracker={mux}:%p"], curl(url(24181)))) == HELLO
    assert run([f"out,port=24181,firecracker={mux}:%p"], curl(url(24183))).returncode == 7
    assert_no_tcp_listener(24182)


def test_path_target_holding_a_control_file(runner: Runner, sockdir: Path, docroot: Path, mux: Path) -> None:
    """A `path=` target where `unsock control firecracker` wrote a control file
    behaves like the equivalent `firecracker=` rule: same body, same failure
    when the guest port is not served."""
    for guest_port, name in ((8080, "ok.ctl"), (9, "closed.ctl")):
        subprocess.run([*unsock_cli(), "control", "firecracker", str(sockdir / name), "--uds", str(mux),
                        "--port", str(guest_port)], env=plain_env(), check=True, capture_output=True, timeout=30)
    via_file = run([f"out,port=24184,path={sockdir}/ok.ctl"], curl(url(24184)))
    direct = run([f"out,port=24184,firecracker={mux}:8080"], curl(url(24184)))
    assert ok(via_file) == ok(direct) == HELLO
    closed_file = run([f"out,port=24184,path={sockdir}/closed.ctl"], curl(url(24184)))
    closed_direct = run([f"out,port=24184,firecracker={mux}:9"], curl(url(24184)))
    assert closed_file.returncode == closed_direct.returncode == 7, (closed_file, closed_direct)
    # the classic layout: D/%p.sock with a control file at D/PORT.sock
    subprocess.run([*unsock_cli(), "control", "firecracker", str(sockdir / "24185.sock"), "--uds", str(mux),
                    "--port", "8080"], env=plain_env(), check=True, capture_output=True, timeout=30)
    assert ok(run([f"out,path={sockdir}/%p.sock"], curl(url(24185)))) == HELLO
