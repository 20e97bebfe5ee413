"""What is measured: each workload is a server program, a client program and
the numbers parsed from the client's output. Workloads know nothing about
contenders; they are given the address to serve on or connect to."""

from __future__ import annotations

import json
import re
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from .contenders import Address, Tcp, Unix
from .procs import RunFailed

KIB = 1024


@dataclass(frozen=True)
class Sizes:
    bulk_chunk: int
    iperf3_args: tuple[str, ...]
    turns: int  # turns of each client in a workload that takes turns (and one to warm up)
    turn_ms: int  # milliseconds a turn lasts
    wrk_seconds: int
    wrk_connections: int
    call_iterations: int
    call_rounds: int


FULL = Sizes(
    bulk_chunk=64 * KIB, iperf3_args=("-t", "3"), turns=15, turn_ms=100, wrk_seconds=3, wrk_connections=16,
    call_iterations=4000, call_rounds=3,
)
QUICK = Sizes(
    bulk_chunk=64 * KIB, iperf3_args=("-n", "32M"), turns=2, turn_ms=20, wrk_seconds=1, wrk_connections=4,
    call_iterations=500, call_rounds=1,
)


@dataclass(frozen=True)
class Metric:
    id: str
    title: str
    unit: str
    higher_is_better: bool


@dataclass(frozen=True)
class RunCtx:
    bins: Path  # the compiled benchmark programs
    scratch: Path  # a fresh directory for this run
    sizes: Sizes

    def bin(self, name: str) -> str:
        return str(self.bins / name)

    def turns(self) -> str:
        """The count argument of a client that takes turns (bench.h, repeat)."""
        return f"turns:{self.sizes.turn_ms}"


class Workload(ABC):
    id: str
    metrics: tuple[Metric, ...]
    programs: tuple[str, ...] = ()  # external programs it needs
    unix_server: bool = True  # the server program can listen on a unix socket itself
    unix_client: bool = True  # the client program can connect to a unix socket itself
    why_not_unix: str = ""
    client_timeout: float = 300
    # The clients of all contenders run at once and take turns (runner.run_turns),
    # a unit of work after another: each metric is the median over the turns.
    takes_turns: bool = False

    @abstractmethod
    def server(self, addr: Address, ctx: RunCtx) -> list[str]:
        """Command line of the server, listening at addr."""

    @abstractmethod
    def client(self, addr: Address, ctx: RunCtx) -> list[str]:
        """Command line of the client, connecting to addr."""

    def parse(self, out: str) -> dict[str, float]:
        """Metric id -> value from the client's stdout (a workload that does
        not take turns)."""
        raise NotImplementedError(self.id)

    def turn(self, fields: list[int]) -> dict[str, float]:
        """Metric id -> value of one turn, from the client's line for it
        (bench.h, repeat: units done, nanoseconds, what more the client says):
        by default units per second."""
        return {m.id: fields[0] * 1e9 / fields[1] for m in self.metrics}

    def check(self, server_output: str) -> None:  # noqa: B027 - optional hook
        """Raise RunFailed if the server's output shows the run was broken."""


def turns_title(sizes: Sizes) -> str:
    return f"{sizes.turns} turns of {sizes.turn_ms} ms"


class Bulk(Workload):
    id = "bulk"
    takes_turns = True

    def __init__(self, sizes: Sizes) -> None:
        self.chunk = sizes.bulk_chunk
        self.metrics = (Metric("bulk", f"bulk, {self.chunk // KIB} KiB writes ({turns_title(sizes)})", "Gbit/s", True),)

    def server(self, addr: Address, ctx: RunCtx) -> list[str]:
        return [ctx.bin("bulk"), "server", addr.spec()]

    def client(self, addr: Address, ctx: RunCtx) -> list[str]:
        return [ctx.bin("bulk"), "client", addr.spec(), ctx.turns(), str(self.chunk)]

    def turn(self, fields: list[int]) -> dict[str, float]:
        return {"bulk": fields[0] * self.chunk * 8 / fields[1]}


class Iperf3(Workload):
    id = "iperf3"
    programs = ("iperf3",)
    unix_server = unix_client = False
    why_not_unix = "iperf3 has no unix-socket mode"

    def __init__(self, sizes: Sizes) -> None:
        self.metrics = (Metric("iperf3", f"iperf3 ({' '.join(sizes.iperf3_args)})", "Gbit/s", True),)

    def server(self, addr: Address, ctx: RunCtx) -> list[str]:
        assert isinstance(addr, Tcp)
        # -B: the default (::) is not a covered address, and TCP gets the same.
        return ["iperf3", "-s", "-B", "127.0.0.1", "-p", str(addr.port)]

    def client(self, addr: Address, ctx: RunCtx) -> list[str]:
        assert isinstance(addr, Tcp)
        return ["iperf3", "-c", "127.0.0.1", "-p", str(addr.port), *ctx.sizes.iperf3_args, "-J"]

    def parse(self, out: str) -> dict[str, float]:
        try:
            data = json.loads(out)
            if "error" in data:
                raise RunFailed(f"iperf3: {data['error']}")
            bps = data["end"]["sum_received"]["bits_per_second"]
        except (ValueError, KeyError, TypeError) as e:
            raise RunFailed(f"unexpected iperf3 output ({e}): {out.strip()[-200:]!r}") from e
        return {"iperf3": float(bps) / 1e9}


class ConnRate(Workload):
    takes_turns = True

    def __init__(self, sizes: Sizes, mode: str) -> None:
        self.mode = mode
        self.id = f"connrate-{mode}"
        who = "client" if mode == "client-first" else "server"
        self.metrics = (
            Metric(self.id, f"connection rate ({who} closes first, {turns_title(sizes)})", "conn/s", True),
        )

    def server(self, addr: Address, ctx: RunCtx) -> list[str]:
        return [ctx.bin("connrate"), "server", addr.spec(), self.mode]

    def client(self, addr: Address, ctx: RunCtx) -> list[str]:
        return [ctx.bin("connrate"), "client", addr.spec(), ctx.turns(), self.mode]


class Latency(Workload):
    id = "latency"
    takes_turns = True

    def __init__(self, sizes: Sizes) -> None:
        n = turns_title(sizes)
        self.metrics = (
            Metric("latency-p50", f"1-byte ping-pong p50 ({n})", "µs", False),
            Metric("latency-p99", f"1-byte ping-pong p99 ({n})", "µs", False),
        )

    def server(self, addr: Address, ctx: RunCtx) -> list[str]:
        return [ctx.bin("pingpong"), "server", addr.spec()]

    def client(self, addr: Address, ctx: RunCtx) -> list[str]:
        return [ctx.bin("pingpong"), "client", addr.spec(), ctx.turns()]

    def turn(self, fields: list[int]) -> dict[str, float]:
        return {"latency-p50": fields[2] / 1e3, "latency-p99": fields[3] / 1e3}


NGINX_CONF = Path("/etc/nginx/nginx.conf")
PAGE = "/small.html"
PAGE_SIZE = 1024
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
MODULES_INCLUDE = r"(?m)^\s*include\s+/etc/nginx/modules-enabled/\S*;$"


def nginx_config(stock: str, listen: Address, scratch: Path) -> str:
    """Debian's stock nginx.conf with only what must differ: the listen
    address (instead of the sites-enabled include), pid, log and temp paths
    in the scratch directory, and none of the host's dynamic modules."""
    www = scratch / "www"
    listen_on = f"unix:{listen.path}" if isinstance(listen, Unix) else f"127.0.0.1:{listen.port}"
    server = "\n".join([
        *(f"\t{kind}_temp_path {scratch}/{kind}_temp;" for kind in TEMP_PATHS),
        "\tserver {",
        f"\t\tlisten {listen_on};",
        "\t\tserver_name localhost;",
        f"\t\troot {www};",
        "\t\tlocation / {",
        "\t\t}",
        "\t}",
    ])
    replacements = [
        (r"(?m)^pid\s+.*;$", f"pid {scratch}/nginx.pid;"),
        (r"(?m)^error_log\s+.*;$", f"error_log {scratch}/error.log;"),
        (r"(?m)^(\s*)access_log\s+.*;$", rf"\g<1>access_log {scratch}/access.log;"),
        (r"(?m)^\s*include\s+/etc/nginx/sites-enabled/\*;$", server.replace("\\", "\\\\")),
    ]
    # Modules the host enables (Debian's libnginx-mod-*) are not loaded: they
    # may not match this nginx binary, and the benchmark needs none of them.
    conf = re.sub(MODULES_INCLUDE, "", stock)
    for pattern, new in replacements:
        conf, n = re.subn(pattern, new, conf)
        if n != 1:
            raise RunFailed(f"{NGINX_CONF} is not Debian's stock configuration (no single match for {pattern!r})")
    return conf


class Nginx(Workload):
    """nginx with the stock configuration serving a small file."""

    programs: tuple[str, ...] = ("nginx",)
    client_timeout = 120

    def server(self, addr: Address, ctx: RunCtx) -> list[str]:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        try:
            stock = NGINX_CONF.read_text()
        except OSError as e:
            raise RunFailed(f"cannot read {NGINX_CONF}: {e}") from e
        scratch = ctx.scratch
        www = scratch / "www"
        www.mkdir()
        body = "<!DOCTYPE html><html><body><pre>\n"
        body += "x" * (PAGE_SIZE - len(body) - len("</pre></body></html>\n")) + "</pre></body></html>\n"
        (www / PAGE.lstrip("/")).write_text(body)
        # Workers run as the stock `user www-data` when started as root.
        for d in (scratch, www):
            d.chmod(0o755)
        (scratch / "nginx.conf").write_text(nginx_config(stock, addr, scratch))
        return [nginx, "-c", str(scratch / "nginx.conf"), "-p", f"{scratch}/", "-e", str(scratch / "error.log"),
                "-g", "daemon off;"]

    def check(self, server_output: str) -> None:
        if "[emerg]" in server_output:
            raise RunFailed(f"nginx: {server_output.strip().splitlines()[-1]}")


class NginxWrk(Nginx):
    id = "nginx-wrk"
    programs = ("nginx", "wrk")
    unix_client = False
    why_not_unix = "wrk cannot connect to a unix socket"

    def __init__(self, sizes: Sizes) -> None:
        self.metrics = (
            Metric("nginx-wrk", f"nginx, wrk keep-alive ({sizes.wrk_connections} conns, {sizes.wrk_seconds} s)",
                   "req/s", True),
        )

    def client(self, addr: Address, ctx: RunCtx) -> list[str]:
        assert isinstance(addr, Tcp)
        s = ctx.sizes
        return ["wrk", "-t1", f"-c{s.wrk_connections}", f"-d{s.wrk_seconds}s", f"http://127.0.0.1:{addr.port}{PAGE}"]

    def parse(self, out: str) -> dict[str, float]:
        m = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if not m:
            raise RunFailed(f"unexpected wrk output: {out.strip()[-200:]!r}")
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
        if bad:
            raise RunFailed(f"wrk: {bad.group(0)}")
        return {"nginx-wrk": float(m.group(1))}


class NginxConnPerRequest(Nginx):
    id = "nginx-conn"
    takes_turns = True

    def __init__(self, sizes: Sizes) -> None:
        self.metrics = (
            Metric("nginx-conn", f"nginx, a connection per request ({turns_title(sizes)})", "req/s", True),
        )

    def client(self, addr: Address, ctx: RunCtx) -> list[str]:
        return [ctx.bin("httpreq"), addr.spec(), ctx.turns(), PAGE]


def all_workloads(sizes: Sizes) -> list[Workload]:
    return [
        Bulk(sizes),
        Iperf3(sizes),
        ConnRate(sizes, "client-first"),
        ConnRate(sizes, "server-first"),
        Latency(sizes),
        NginxWrk(sizes),
        NginxConnPerRequest(sizes),
    ]
