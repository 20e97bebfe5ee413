"""`vsock=` and `tipc=` rules end to end in the guest (the host kernel has no
vsock loopback and no TIPC): python http.server under
`unsock run -r in,...,vsock=1:%p` (or `tipc=TYPE:%p`) and curl under
`unsock run -r out,...` with the matching rule, real traffic over the guest
kernel's vsock loopback (CID 1) and TIPC; nothing listens on TCP. The same
through the seccomp engine's supervisor with busybox-static's httpd and wget
(the *-seccomp cases). One guest boot runs every case."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.helpers.output import unsock_cli
from tests.helpers.programs import require_program
from tests.vm.harness import Guest, Result

# name: (server's TCP port, its rule, client's TCP port, its rule)
CASES = {
    "vsock": (8200, "in,port=8200,vsock=1:%p", 8200, "out,port=8200,vsock=1:%p"),
    "vsock-named": (8201, "in,port=8201,vsock=any:5001", 8202, "out,port=8202,vsock=local:5001"),
    "tipc": (8203, "in,port=8203,tipc=1000:%p", 8203, "out,port=8203,tipc=1000:%p"),
    "tipc-range": (8204, "in,port=8204,tipc=1001:8000:8999@node", 8205, "out,port=8205,tipc=1001:8500@node"),
    "vsock-seccomp": (8206, "in,port=8206,vsock=1:%p", 8206, "out,port=8206,vsock=1:%p"),
    "tipc-seccomp": (8207, "in,port=8207,tipc=1002:%p", 8207, "out,port=8207,tipc=1002:%p"),
}

# name: the targets the decision log names for the server's bind and the client's connect
TARGETS = {
    "vsock": ("vsock 1:8200", "vsock 1:8200"),
    "vsock-named": ("vsock 4294967295:5001", "vsock 1:5001"),
    "tipc": ("tipc 1000:8203:8203@cluster", "tipc 1000:8203@cluster"),
    "tipc-range": ("tipc 1001:8000:8999@node", "tipc 1001:8500@node"),
    "vsock-seccomp": ("vsock 1:8206", "vsock 1:8206"),
    "tipc-seccomp": ("tipc 1002:8207:8207@cluster", "tipc 1002:8207@cluster"),
}


@pytest.fixture(scope="module")
def share(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rules")


@pytest.fixture(scope="module")
def run(guest: Guest, share: Path) -> Result:
    unsock = shlex.join(unsock_cli())
    python = shlex.quote(sys.executable)
    busybox = shlex.quote(require_program("busybox"))
    lines = ["set -u"]
    for name, (sport, srule, cport, crule) in CASES.items():
        site = share / f"{name}-site"
        site.mkdir()
        (site / "index.html").write_text(f"hello over {name}\n")
        slog, clog = share / f"{name}.server.log", share / f"{name}.client.log"
        if name.endswith("-seccomp"):
            wget = (f"{unsock} run --engine seccomp -v -r {shlex.quote(crule)} -- {busybox} wget -q -O -"
                    f" http://127.0.0.1:{cport}/index.html 2>>{clog}")
            lines += [
                f"{unsock} run --engine seccomp --log {slog} -r {shlex.quote(srule)} -- {busybox} httpd -f"
                f" -p 127.0.0.1:{sport} -h {site} >{share}/{name}.server.out 2>&1 &",
                "server=$!",
                f"for i in $(seq 30); do got=$({wget}) && break; sleep 1; done",
                f"echo {name}: $got",
                f"echo {name} plain: $(curl -sS -m 2 http://127.0.0.1:{sport}/ 2>&1 | head -c 60)",
                "kill $server; wait $server 2>/dev/null",
            ]
            continue
        lines += [
            f"{unsock} run --log {slog} -r {shlex.quote(srule)} -- {python} -m http.server --bind 127.0.0.1"
            f" {sport} --directory {site} >{share}/{name}.server.out 2>&1 &",
            "server=$!",
            f"echo {name}: $({unsock} run -v -r {shlex.quote(crule)} -- curl -sS --retry 30 --retry-all-errors"
            f" --retry-delay 1 --max-time 20 http://127.0.0.1:{cport}/index.html 2>{clog})",
            f"echo {name} plain: $(curl -sS -m 2 http://127.0.0.1:{sport}/ 2>&1 | head -c 60)",
            "kill $server; wait $server 2>/dev/null",
        ]
    return guest.run("\n".join(lines) + "\n", timeout=240, share=share)


def line(run: Result, prefix: str) -> str:
    found = [ln for ln in run.stdout.splitlines() if ln.startswith(prefix)]
    assert found, f"no line {prefix!r} in:\n{run.stdout}\n{run.stderr}"
    return found[0]


@pytest.mark.parametrize("name", list(CASES))
def test_http_through_rule_target(run: Result, share: Path, name: str) -> None:
    sport, _, cport, _ = CASES[name]
    out = (share / f"{name}.server.out").read_text(errors="replace")
    assert line(run, f"{name}: ") == f"{name}: hello over {name}", out + (share / f"{name}.client.log").read_text()
    bound, connected = TARGETS[name]
    server_log = (share / f"{name}.server.log").read_text()
    assert re.search(rf"unsock: bind fd \d+ 127\.0\.0\.1:{sport} stream: rule 1 -> {re.escape(bound)}\n",
                     server_log), server_log
    client_log = (share / f"{name}.client.log").read_text()
    # curl connects without blocking: the log says the connect is under way (busybox's wget blocks)
    in_progress = "" if name.endswith("-seccomp") else r" \(in progress\)"
    assert re.search(rf"127\.0\.0\.1:{cport} stream: rule 1 -> {re.escape(connected)}{in_progress}\n",
                     client_log), client_log


@pytest.mark.parametrize("name", list(CASES))
def test_nothing_on_tcp(run: Result, name: str) -> None:
    plain = line(run, f"{name} plain:")
    assert "Connection refused" in plain or "Failed to connect" in plain or "Couldn't connect" in plain, plain
