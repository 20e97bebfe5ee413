"""The decision log (docs/rules.md, "The decision log"): `unsock run -v` prints
one line per decision of the shim on stderr,
`unsock: CALL fd N ADDR TYPE: rule K -> OUTCOME` (or `no rule -> ...`);
`--log FILE` (UNSOCK_LOG_FILE) puts the lines in FILE and nothing on stderr;
without -v nothing is logged; UNSOCK_DEBUG=1 with LD_PRELOAD=$(unsock lib)
works the same without `unsock run`."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.output import unsock_cli
from tests.helpers.programs import plain_env
from tests.helpers.rules import (
    DECISION,
    PYTHON,
    Runner,
    compiled,
    curl,
    curl_unix,
    http_server,
    make_docroot,
    ok,
    run,
    running,
    url,
    wait_socket,
)

pytestmark = [pytest.mark.program("python3"), pytest.mark.both_engines]

BASE = 24301

# One call per decision; prints the descriptor of each.
PROBE = r"""
import errno, socket, sys
base = int(sys.argv[1])
s = socket.socket()
s.bind(("127.0.0.1", base))
s.listen(4)
print("bind", s.fileno())
c = socket.socket()
print("reject", c.fileno(), errno.errorcode[c.connect_ex(("127.0.0.1", base + 1))])
c2 = socket.socket()
print("norule", c2.fileno(), errno.errorcode[c2.connect_ex(("127.0.0.1", base + 2))])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"x", ("127.0.0.1", base + 3))
print("send", u.fileno())
c3 = socket.socket()
print("ignore", c3.fileno(), errno.errorcode[c3.connect_ex(("127.0.0.1", base + 4))])
c4 = socket.socket()
print("path", c4.fileno(), errno.errorcode.get(c4.connect_ex(("127.0.0.1", base)), "ok"))
"""


def probe_rules(d: Path) -> list[str]:
    return [
        f"in,port={BASE},path={d}/%p.sock",
        f"out,port={BASE + 1},reject=ECONNREFUSED",
        f"udp,port={BASE + 3},path={d}/%p.udp",
        f"out,port={BASE + 4},ignore",
        f"out,port={BASE},path={d}/%p.sock",
    ]


def expected_lines(d: Path, fds: dict[str, int]) -> list[str]:
    """Regexes of the decision lines the probe causes, in order."""
    sock, udp = re.escape(f"{d}/{BASE}.sock"), re.escape(f"{d}/{BASE + 3}.udp")
    return [
        rf"unsock: bind fd {fds['bind']} 127\.0\.0\.1:{BASE} stream: rule 1 -> path {sock}",
        rf"unsock: connect fd {fds['reject']} 127\.0\.0\.1:{BASE + 1} stream: rule 2 -> reject "
        r"Connection refused",
        rf"unsock: connect fd {fds['norule']} 127\.0\.0\.1:{BASE + 2} stream: no rule -> left alone",
        rf"unsock: send fd {fds['send']} 127\.0\.0\.1:{BASE + 3} dgram: rule 3 -> path {udp}",
        rf"unsock: connect fd {fds['ignore']} 127\.0\.0\.1:{BASE + 4} stream: rule 4 -> left alone",
        rf"unsock: connect fd {fds['path']} 127\.0\.0\.1:{BASE} stream: rule 5 -> path {sock}",
    ]


def probe_fds(stdout: bytes) -> dict[str, int]:
    """What the probe printed: the descriptor of each step (all of them must have run)."""
    lines = [line.split() for line in stdout.decode().splitlines()]
    fds = {w[0]: int(w[1]) for w in lines}
    assert list(fds) == ["bind", "reject", "norule", "send", "ignore", "path"], stdout
    outcome = {w[0]: w[2] for w in lines if len(w) > 2}
    assert outcome == {"reject": "ECONNREFUSED", "norule": "ECONNREFUSED", "ignore": "ECONNREFUSED", "path": "ok"}
    return fds


def decisions(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(DECISION, line)]


def assert_decisions(text: str, d: Path, fds: dict[str, int]) -> None:
    got = decisions(text)
    want = expected_lines(d, fds)
    assert len(got) == len(want), "one line per decision:\n" + "\n".join(got)
    for line, pattern in zip(got, want, strict=True):
        assert re.fullmatch(pattern, line), f"{line!r} does not match {pattern!r}"


@pytest.fixture
def runner() -> Iterator[Runner]:
    with running() as r:
        yield r


def test_verbose_logs_one_line_per_decision(sockdir: Path) -> None:
    p = run(probe_rules(sockdir), [PYTHON, "-c", PROBE, str(BASE)], verbose=True)
    assert_decisions(p.stderr.decode(), sockdir, probe_fds(ok(p)))
    assert all(line.startswith("unsock: ") for line in p.stderr.decode().splitlines()), p.stderr


def test_log_file_instead_of_stderr(sockdir: Path, tmp_path: Path) -> None:
    log = tmp_path / "decisions.log"
    p = run(probe_rules(sockdir), [PYTHON, "-c", PROBE, str(BASE)], log=log)
    fds = probe_fds(ok(p))
    assert b"unsock:" not in p.stderr, p.stderr
    assert_decisions(log.read_text(), sockdir, fds)
    # appended to, not replaced
    p = run(probe_rules(sockdir), [PYTHON, "-c", PROBE, str(BASE)], log=log)
    assert len(decisions(log.read_text())) == 2 * len(expected_lines(sockdir, fds))


def test_nothing_logged_without_verbose(sockdir: Path, tmp_path: Path) -> None:
    p = run(probe_rules(sockdir), [PYTHON, "-c", PROBE, str(BASE)])
    probe_fds(ok(p))
    assert p.stderr == b""
    assert list(tmp_path.iterdir()) == []


def test_unsock_debug_with_ld_preload(sockdir: Path, tmp_path: Path) -> None:
    """LD_PRELOAD=$(unsock lib) UNSOCK_RULES=... UNSOCK_DEBUG=1 logs as -v does;
    UNSOCK_LOG_FILE sends the lines to a file; without UNSOCK_DEBUG nothing."""
    lib = subprocess.run([*unsock_cli(), "lib"], env=plain_env(), capture_output=True, timeout=30,
                         check=True).stdout.decode().strip()
    rules = "\n".join(compiled(*[a for r in probe_rules(sockdir) for a in ("-r", r)]))
    cmd = [PYTHON, "-c", PROBE, str(BASE)]

    def direct(**env: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(cmd, env=plain_env(LD_PRELOAD=lib, UNSOCK_RULES=rules, **env), capture_output=True,
                              timeout=60, check=False)

    p = direct(UNSOCK_DEBUG="1")
    assert_decisions(p.stderr.decode(), sockdir, probe_fds(ok(p)))
    log = tmp_path / "direct.log"
    p = direct(UNSOCK_DEBUG="1", UNSOCK_LOG_FILE=str(log))
    fds = probe_fds(ok(p))
    assert b"unsock:" not in p.stderr
    assert_decisions(log.read_text(), sockdir, fds)
    p = direct()
    probe_fds(ok(p))
    assert p.stderr == b""


def test_variables_compiled_in_the_shim_are_numbered_as_documented(sockdir: Path) -> None:
    """UNSOCK_DIR / UNSOCK_ADDR without rules: rule 1 is the dgram one, rule 2
    the stream one, and the log names them so."""
    lib = subprocess.run([*unsock_cli(), "lib"], env=plain_env(), capture_output=True, timeout=30,
                         check=True).stdout.decode().strip()
    code = (f"import socket; s = socket.socket(); s.bind(('127.0.0.1', {BASE})); "
            f"u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', {BASE}))")
    p = subprocess.run([PYTHON, "-c", code], env=plain_env(LD_PRELOAD=lib, UNSOCK_DIR=str(sockdir),
                       UNSOCK_ADDR="127.0.0.1", UNSOCK_DEBUG="1"), capture_output=True, timeout=60, check=False)
    ok(p)
    got = decisions(p.stderr.decode())
    assert len(got) == 2, got
    assert re.fullmatch(rf"unsock: bind fd \d+ 127\.0\.0\.1:{BASE} stream: rule 2 -> path "
                        rf"{re.escape(str(sockdir))}/{BASE}\.sock", got[0]), got
    assert re.fullmatch(rf"unsock: bind fd \d+ 127\.0\.0\.1:{BASE} dgram: rule 1 -> path "
                        rf"{re.escape(str(sockdir))}/{BASE}\.udp", got[1]), got


def test_real_server_and_client_log(runner: Runner, sockdir: Path, tmp_path: Path) -> None:
    """http.server and curl under -v: the server's bind and curl's connect each
    make one decision line; a rejected curl logs the reject."""
    docroot = make_docroot(tmp_path)
    port = BASE + 10
    server = runner.start([f"in,port={port},path={sockdir}/%p.sock"], http_server(port, docroot), verbose=True)
    wait_socket(sockdir / f"{port}.sock", server)
    assert curl_unix(sockdir / f"{port}.sock")
    server.err.wait_for(rf"unsock: bind fd \d+ 127\.0\.0\.1:{port} stream: rule 1 -> path "
                        rf"{re.escape(str(sockdir))}/{port}\.sock\n")
    assert len(decisions(server.err.drain())) == 1, server.err.text
    p = run([f"out,port={port},path={sockdir}/%p.sock"], curl(url(port)), verbose=True)
    ok(p)
    got = decisions(p.stderr.decode())
    assert len(got) == 1 and re.fullmatch(rf"unsock: connect fd \d+ 127\.0\.0\.1:{port} stream: rule 1 -> path "
                                          rf"{re.escape(str(sockdir))}/{port}\.sock", got[0]), p.stderr
    p = run(["out,addr=127.0.0.1,reject"], curl(url(port)), verbose=True)
    assert p.returncode == 7
    got = decisions(p.stderr.decode())
    assert len(got) == 1 and re.fullmatch(rf"unsock: connect fd \d+ 127\.0\.0\.1:{port} stream: rule 1 -> "
                                          r"reject Permission denied", got[0]), p.stderr
