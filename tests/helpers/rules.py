"""Running real programs under `unsock run -r RULE ... -- PROGRAM` (and -f FILE),
for the integration tests of the rule language (docs/rules.md)."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tests.helpers.output import OutputReader, unsock_cli
from tests.helpers.proc import stop, wait_for
from tests.helpers.programs import plain_env, require_program, tcp_listening_ports
from tests.helpers.shim import bound_unix_paths

PYTHON = sys.executable  # a real python3 binary (not a pyenv shim script that forks more processes)
HELLO = b"hello from http.server\n"
DECISION = r"unsock: (bind|connect|send) fd \d+ "  # a line of the decision log

#: The engine `unsock run` is given (None: its default); set for a whole test by the
#: `unsock_engine` fixture of tests/integration (modules marked both_engines run under each).
ENGINE: str | None = None


def run_args(
    rules: Sequence[str] = (), cmd: Sequence[str] = (), *, files: Sequence[Path] = (), verbose: bool = False,
    log: Path | None = None, options: Sequence[str] = (),
) -> list[str]:
    """`unsock run [-v] [--log F] OPTIONS -r R... -f F... -- CMD`."""
    args = [*unsock_cli(), "run"]
    if ENGINE is not None and not any(o.startswith("--engine") for o in options):
        args += ["--engine", ENGINE]
    if verbose:
        args.append("-v")
    if log is not None:
        args += ["--log", str(log)]
    args += list(options)
    for r in rules:
        args += ["-r", r]
    for f in files:
        args += ["-f", str(f)]
    return [*args, "--", *cmd]


class Started:
    """A background program: its process and its stdout/stderr readers."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.out = OutputReader(proc.stdout)
        self.err = OutputReader(proc.stderr)

    @property
    def pid(self) -> int:
        """The program's pid: under the seccomp engine `unsock run` becomes the supervisor,
        whose one child is the program."""
        pid = self.proc.pid
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/exe").resolve().name == "unsock-supervisor":
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                if len(children) == 1:
                    return int(children[0])
        return pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check_alive(self, what: str) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"the program exited {self.proc.returncode} before {what}:\n"
                f"stdout: {self.out.drain()}\nstderr: {self.err.drain()}"
            )


class Runner:
    """Starts programs (under `unsock run`, or plain) and stops them at teardown."""

    def __init__(self) -> None:
        self.started: list[Started] = []

    def popen(self, args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None,
              stdin: int | None = subprocess.DEVNULL) -> Started:
        p = subprocess.Popen(
            list(args), env=dict(env) if env is not None else plain_env(), cwd=cwd, stdin=stdin,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
        s = Started(p)
        self.started.append(s)
        return s

    def start(self, rules: Sequence[str], cmd: Sequence[str], *, files: Sequence[Path] = (), verbose: bool = False,
              log: Path | None = None, options: Sequence[str] = (), cwd: Path | None = None,
              stdin: int | None = subprocess.DEVNULL, env: Mapping[str, str] | None = None) -> Started:
        """cmd under `unsock run` with those rules, in the background."""
        return self.popen(run_args(rules, cmd, files=files, verbose=verbose, log=log, options=options),
                          env=env, cwd=cwd, stdin=stdin)

    def stop_all(self) -> None:
        for s in self.started:
            stop(s.proc)
        self.started.clear()


@contextlib.contextmanager
def running() -> Iterator[Runner]:
    """A Runner whose programs are stopped at the end of the block (a test file's fixture)."""
    r = Runner()
    try:
        yield r
    finally:
        r.stop_all()


def run(rules: Sequence[str], cmd: Sequence[str], *, files: Sequence[Path] = (), verbose: bool = False,
        log: Path | None = None, options: Sequence[str] = (), timeout: float = 60, input: bytes | None = None,
        env: Mapping[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """cmd under `unsock run` with those rules, to completion (not checked)."""
    return subprocess.run(
        run_args(rules, cmd, files=files, verbose=verbose, log=log, options=options),
        env=dict(env) if env is not None else plain_env(), cwd=cwd, capture_output=True, timeout=timeout,
        input=input, check=False,
    )


def plain(cmd: Sequence[str], *, timeout: float = 60, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """cmd natively (no shim), to completion (not checked)."""
    return subprocess.run(list(cmd), env=plain_env(), capture_output=True, timeout=timeout, input=input, check=False)


def ok(p: subprocess.CompletedProcess[bytes]) -> bytes:
    """The stdout of a finished program that must have succeeded."""
    assert p.returncode == 0, (
        f"{p.args!r} exited {p.returncode}\nstdout: {p.stdout.decode(errors='replace')}\n"
        f"stderr: {p.stderr.decode(errors='replace')}"
    )
    return p.stdout


# --- programs -------------------------------------------------------------------------------------------------


def make_docroot(base: Path, name: str = "www", body: bytes = HELLO) -> Path:
    """A directory for http.server holding hello.txt with body."""
    root = base / name
    root.mkdir(exist_ok=True)
    (root / "hello.txt").write_bytes(body)
    return root


def http_server(port: int, docroot: Path, bind: str = "127.0.0.1") -> list[str]:
    """python3 -m http.server; prints "Serving HTTP on ... port N" once it listens."""
    return [PYTHON, "-u", "-m", "http.server", "--bind", bind, "--directory", str(docroot), str(port)]


def curl(*args: str, timeout: float = 15) -> list[str]:
    return [require_program("curl"), "-sS", "--fail", "--max-time", str(timeout), *args]


def url(port: int, host: str = "127.0.0.1", path: str = "/hello.txt") -> str:
    h = f"[{host}]" if ":" in host else host
    return f"http://{h}:{port}{path}"


def curl_unix(sock: Path, path: str = "/hello.txt") -> bytes:
    """HTTP GET natively over the unix socket file sock; fails the test if curl does."""
    return ok(plain(curl("--unix-socket", str(sock), f"http://x{path}")))


def curl_tcp(port: int, host: str = "127.0.0.1", path: str = "/hello.txt") -> subprocess.CompletedProcess[bytes]:
    """HTTP GET natively over real TCP (not checked)."""
    return plain(curl(url(port, host, path)))


def socat() -> str:
    return require_program("socat")


# --- waiting and looking --------------------------------------------------------------------------------------


def wait_socket(path: Path, prog: Started, timeout: float = 15) -> None:
    """Wait for a unix socket file at path that accepts connections (failing
    early if the program exits)."""

    def ready() -> bool:
        prog.check_alive(f"{path} appeared")
        return path.exists() and stat.S_ISSOCK(path.lstat().st_mode) and accepts(path)

    wait_for(ready, timeout, f"a listening socket at {path}")


def wait_file(path: Path, prog: Started, timeout: float = 15) -> None:
    """Wait for path to exist (a datagram socket file, say)."""

    def ready() -> bool:
        prog.check_alive(f"{path} appeared")
        return path.exists()

    wait_for(ready, timeout, f"{path}")


def accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        return s.connect_ex(str(path)) == 0


def serving(prog: Started, timeout: float = 15) -> int:
    """The port http.server says it serves on (its banner)."""
    m = prog.out.wait_for(r"Serving HTTP on \S+ port (\d+)", timeout)
    return int(m.group(1))


#: Names of every bound unix socket in this network namespace, abstract ones as @name.
unix_names = bound_unix_paths


def unix_names_of(pid: int) -> list[str]:
    """Bound names of the unix sockets process pid holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    names = []
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            parts = line.split()
            if len(parts) >= 8 and parts[6] in inodes:
                names.append(parts[7])
    return names


def assert_no_tcp(port: int, host: str = "127.0.0.1") -> None:
    """Nothing listens on real TCP host:port (IPv4 or IPv6): a connect is refused."""
    assert port not in tcp_listening_ports(), f"a real TCP socket listens on port {port}"
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        code = s.connect_ex((host, port))
    assert code == errno.ECONNREFUSED, f"TCP connect to {host}:{port} gave {errno.errorcode.get(code, code)}"


def listing(d: Path) -> list[str]:
    """Names under d, recursively, relative to d, sorted."""
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


def sock_mode(path: Path) -> int:
    st = path.lstat()
    assert stat.S_ISSOCK(st.st_mode), f"{path} is not a socket"
    return stat.S_IMODE(st.st_mode)


def compiled(*args: str) -> list[str]:
    """The rules `unsock rules --compiled ARGS` prints, one per line."""
    p = subprocess.run([*unsock_cli(), "rules", "--compiled", *args], env=plain_env(), capture_output=True,
                       timeout=30, check=False)
    assert p.returncode == 0, p.stderr.decode()
    return [line for line in p.stdout.decode().splitlines() if line]
