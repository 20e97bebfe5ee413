"""`unsock run --dir D --addr X ...` and the equivalent `-r` rules behave
identically (docs/rules.md, "The original's variables are rules too"), proven
by running real programs in every form and comparing what happened: the
files created and their modes, the answers, the errors.

The forms: the options of `unsock run`; the UNSOCK_* variables with
LD_PRELOAD set by hand; `unsock run -r ...` with the rules that
`unsock rules --compiled` prints for the same options; and, where the docs
spell them out, the rules as written in docs/rules.md."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.proc import wait_for
from tests.helpers.programs import plain_env, proc_net_ports, tcp_listening_ports
from tests.helpers.rules import (
    HELLO,
    PYTHON,
    Runner,
    Started,
    compiled,
    curl,
    curl_unix,
    http_server,
    make_docroot,
    run_args,
    running,
    serving,
    socat,
    sock_mode,
    url,
    wait_file,
    wait_socket,
)
from unsock import library_path

pytestmark = [pytest.mark.program("python3"), pytest.mark.both_engines]

FORMS = ["options", "env", "compiled", "docs"]


def _default_mode() -> str:
    """The mode of a socket file made without mode=: 0777 less the umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    return oct(0o777 & ~mask)


DEFAULT = _default_mode()


@dataclass
class Form:
    """One way of asking for the same configuration."""

    kind: str
    dir: Path
    runner: Runner
    addr: str = "127.0.0.1"
    port: int | None = None
    mode: str | None = None
    block_inet: bool = False
    rules: list[str] = field(default_factory=list)

    def options(self) -> list[str]:
        opts = ["--dir", str(self.dir), "--addr", self.addr]
        if self.port is not None:
            opts += ["--port", str(self.port)]
        if self.mode is not None:
            opts += ["--mode", self.mode]
        if self.block_inet:
            opts.append("--block-inet")
        return opts

    def __post_init__(self) -> None:
        if self.kind == "compiled":
            self.rules = compiled(*self.options())
        elif self.kind == "docs":
            # docs/rules.md: `--dir /run/app --addr 127.0.0.1` is these two rules
            assert (self.addr, self.port, self.mode, self.block_inet) == ("127.0.0.1", None, None, False)
            self.rules = [f"dgram,addr=127.0.0.1/32,path={self.dir}/%p.udp",
                          f"addr=127.0.0.1/32,path={self.dir}/%p.sock"]

    def command(self, prog: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        if self.kind == "options":
            return run_args((), prog, options=self.options()), plain_env()
        if self.kind == "env":
            env = plain_env(LD_PRELOAD=str(library_path()), UNSOCK_DIR=str(self.dir), UNSOCK_ADDR=self.addr)
            if self.port is not None:
                env["UNSOCK_PORT"] = str(self.port)
            if self.mode is not None:
                env["UNSOCK_MODE"] = self.mode
            if self.block_inet:
                env["UNSOCK_BLOCK_INET"] = "1"
            return list(prog), env
        return run_args(self.rules, prog), plain_env()

    def start(self, prog: Sequence[str]) -> Started:
        args, env = self.command(prog)
        return self.runner.popen(args, env=env)

    def run(self, prog: Sequence[str], input: bytes | None = None, timeout: float = 30
            ) -> subprocess.CompletedProcess[bytes]:
        args, env = self.command(prog)
        return subprocess.run(args, env=env, input=input, capture_output=True, timeout=timeout, check=False)

    def files(self) -> dict[str, str]:
        """The directory's entries and their modes."""
        return {p.name: oct(sock_mode(p)) for p in sorted(self.dir.iterdir())}


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    return make_docroot(tmp_path)


@pytest.fixture
def dirs() -> Iterator[Callable[[], Path]]:
    """Makes fresh short socket directories (one per form), removed at the end."""
    made: list[Path] = []

    def make() -> Path:
        made.append(Path(tempfile.mkdtemp(prefix="us-eq-", dir="/tmp")))
        return made[-1]

    try:
        yield make
    finally:
        for d in made:
            shutil.rmtree(d, ignore_errors=True)


def answer(p: subprocess.CompletedProcess[bytes]) -> tuple[int, bytes]:
    return p.returncode, p.stdout


# --- scenarios: each runs real programs in one form and returns what it saw --------------------------------


def tcp(form: Form, docroot: Path) -> dict[str, Any]:
    """http.server on 127.0.0.1:P, curl over the file and curl in the same form over "TCP"."""
    port = 24201
    server = form.start(http_server(port, docroot))
    wait_socket(form.dir / f"{port}.sock", server)
    return {
        "files": form.files(),
        "tcp listening": port in tcp_listening_ports(),
        "curl over the file": curl_unix(form.dir / f"{port}.sock"),
        "curl in the form": answer(form.run(curl(url(port)))),
        "curl to an uncovered address": form.run(curl(url(port, "127.0.0.2"))).returncode,
    }


def udp(form: Form, docroot: Path) -> dict[str, Any]:
    """A socat UDP echo server and a socat UDP client, both in the form."""
    port = 24202
    server = form.start([socat(), f"UDP-RECVFROM:{port},bind=127.0.0.1,fork", "EXEC:tr a-z A-Z"])
    wait_file(form.dir / f"{port}.udp", server)
    files = form.files()
    echo = form.run([socat(), "-t", "3", "-", f"UDP:127.0.0.1:{port}"], input=b"datagram\n")
    wait_for(lambda: len(list(form.dir.iterdir())) == 1, 10, "the client's reply address to go")
    return {
        "files": files,
        "udp bound": port in proc_net_ports("udp"),
        "echo": answer(echo),
        "files after": form.files(),
    }


def ipv6(form: Form, docroot: Path) -> dict[str, Any]:
    port = 24203
    server = form.start(http_server(port, docroot, "::1"))
    wait_socket(form.dir / f"{port}.sock", server)
    return {
        "files": form.files(),
        "tcp listening": port in tcp_listening_ports(),
        "curl [::1]": answer(form.run(curl(url(port, "::1")))),
        "curl 127.0.0.1 (uncovered)": form.run(curl(url(port, "127.0.0.1"))).returncode,
    }


def port_only(form: Form, docroot: Path) -> dict[str, Any]:
    """UNSOCK_PORT=P: servers on P and P+1; only P becomes a file."""
    port = 24204
    a, b = form.start(http_server(port, docroot)), form.start(http_server(port + 1, docroot))
    wait_socket(form.dir / f"{port}.sock", a)
    assert serving(b) == port + 1
    wait_for(lambda: port + 1 in tcp_listening_ports(), 10, "the real TCP listener")
    return {
        "files": form.files(),
        "tcp listening": sorted({port, port + 1} & tcp_listening_ports()),
        "curl P": answer(form.run(curl(url(port)))),
        "curl P+1": answer(form.run(curl(url(port + 1)))),
    }


def mode(form: Form, docroot: Path) -> dict[str, Any]:
    """UNSOCK_MODE: the modes of a stream and a datagram socket file."""
    port = 24206
    server = form.start(http_server(port, docroot))
    udp_server = form.start([socat(), f"UDP-RECVFROM:{port},bind=127.0.0.1,fork", "EXEC:cat"])
    wait_socket(form.dir / f"{port}.sock", server)
    wait_file(form.dir / f"{port}.udp", udp_server)
    return {"files": form.files(), "curl": answer(form.run(curl(url(port))))}


PROBE = r"""
import errno, socket, sys
port = int(sys.argv[1])
def attempt(family, kind, host):
    s = socket.socket(family, kind)
    s.settimeout(5)
    try:
        if kind == socket.SOCK_STREAM:
            s.connect((host, port))
        else:
            s.sendto(b"x", (host, port))
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
    finally:
        s.close()
for family, kind, host in [
    (socket.AF_INET, socket.SOCK_STREAM, "127.0.0.2"),
    (socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.3"),
    (socket.AF_INET6, socket.SOCK_STREAM, "::ffff:127.0.0.2"),
    (socket.AF_INET6, socket.SOCK_STREAM, "::1"),
    (socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1"),
]:
    print(host, int(kind), attempt(family, kind, host))
"""


def block_inet(form: Form, docroot: Path) -> dict[str, Any]:
    """UNSOCK_BLOCK_INET=1: every uncovered IPv4 address (mapped ones too) is
    refused with EACCES, IPv6 is not; the covered address still works."""
    port = 24207
    server = form.start(http_server(port, docroot))
    wait_socket(form.dir / f"{port}.sock", server)
    other = form.run(http_server(port, docroot, "127.0.0.2"), timeout=30)
    return {
        "files": form.files(),
        "probe": form.run([PYTHON, "-c", PROBE, str(port)]).stdout.decode().splitlines(),
        "curl covered": answer(form.run(curl(url(port)))),
        "curl blocked": form.run(curl(url(port, "127.0.0.2"))).returncode,
        "server on 127.0.0.2": (other.returncode != 0, b"PermissionError: [Errno 13]" in other.stderr),
    }


SCENARIOS: dict[str, tuple[Callable[[Form, Path], dict[str, Any]], dict[str, Any], dict[str, Any]]] = {
    # name: (scenario, settings, the outcome expected)
    "tcp": (tcp, {}, {
        "files": {"24201.sock": DEFAULT},
        "tcp listening": False,
        "curl over the file": HELLO,
        "curl in the form": (0, HELLO),
        "curl to an uncovered address": 7,
    }),
    "udp": (udp, {}, {
        "files": {"24202.udp": DEFAULT},
        "udp bound": False,
        "echo": (0, b"DATAGRAM\n"),
        "files after": {"24202.udp": DEFAULT},
    }),
    "ipv6": (ipv6, {"addr": "::1"}, {
        "files": {"24203.sock": DEFAULT},
        "tcp listening": False,
        "curl [::1]": (0, HELLO),
        "curl 127.0.0.1 (uncovered)": 7,
    }),
    "UNSOCK_PORT": (port_only, {"addr": "127.0.0.1/8", "port": 24204}, {
        "files": {"24204.sock": DEFAULT},
        "tcp listening": [24205],
        "curl P": (0, HELLO),
        "curl P+1": (0, HELLO),
    }),
    "UNSOCK_MODE": (mode, {"mode": "0600"}, {
        "files": {"24206.sock": "0o600", "24206.udp": "0o600"},
        "curl": (0, HELLO),
    }),
    "UNSOCK_BLOCK_INET": (block_inet, {"block_inet": True}, {
        "files": {"24207.sock": DEFAULT},
        "probe": ["127.0.0.2 1 EACCES", "127.0.0.3 2 EACCES",
                  "::ffff:127.0.0.2 1 EACCES", "::1 1 ECONNREFUSED",
                  "127.0.0.1 1 ok"],
        "curl covered": (0, HELLO),
        "curl blocked": 7,
        "server on 127.0.0.2": (True, True),
    }),
}


@pytest.mark.program("socat")
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_options_env_and_rules_behave_identically(name: str, docroot: Path, dirs: Callable[[], Path]) -> None:
    scenario, settings, expected = SCENARIOS[name]
    outcomes: dict[str, dict[str, Any]] = {}
    for kind in FORMS:
        if kind == "docs" and settings:
            continue
        with running() as runner:
            form = Form(kind, dirs(), runner, **settings)
            outcomes[kind] = scenario(form, docroot)
    for kind, outcome in outcomes.items():
        assert outcome == expected, f"{name} in the {kind} form: {outcome}"
    assert all(o == outcomes["options"] for o in outcomes.values()), outcomes


def test_compiled_rules_are_the_documented_ones() -> None:
    """docs/rules.md: `--dir /run/app --addr 127.0.0.1` stands for exactly two
    rules; --port, --mode, more ranges, a % in the directory and
    --block-inet as documented."""
    assert compiled("--dir", "/run/app", "--addr", "127.0.0.1") == [
        "dgram,addr=127.0.0.1/32,path=/run/app/%p.udp",
        "addr=127.0.0.1/32,path=/run/app/%p.sock",
    ]
    assert compiled("--dir", "/run/a%b", "--addr", "127.0.0.0/8,::1", "--port", "80", "--mode", "0660",
                    "--block-inet") == [
        "dgram,addr=127.0.0.0/8,port=80,path=/run/a%%b/%p.udp,mode=0660",
        "addr=127.0.0.0/8,port=80,path=/run/a%%b/%p.sock,mode=0660",
        "dgram,addr=0000:0000:0000:0000:0000:0000:0000:0001/128,port=80,path=/run/a%%b/%p.udp,mode=0660",
        "addr=0000:0000:0000:0000:0000:0000:0000:0001/128,port=80,path=/run/a%%b/%p.sock,mode=0660",
        "addr=0.0.0.0/0,reject=13",
    ]
