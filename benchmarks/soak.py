"""python -m benchmarks.soak: a long run of real servers and clients under unsock (issue 13).

nginx and redis-server run under the shim for the whole soak; clients, under the shim as well,
take turns: the benchmark's httpreq (a connection per request) and wrk (keep-alive) against
nginx, redis-benchmark with -k 0 (a connection per request) and -k 1 (keep-alive) against redis.
By default at least 1,000,000 connections in all, as the servers count them.

It reports the errors (clients' and servers' own counts and logs, and connections the server did
not see; must be 0), and the open descriptors and resident memory of the servers (after a warm-up
of every phase, and at the end) and of each client (sampled a fifth into its run, and last before
it ended): descriptors may not grow (a client's by no more than the connections it holds at once),
RSS by no more than --rss-tolerance. Exit 1 otherwise, 2 if it could not run."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from .build import BuildError, build
from .cli import find_lib
from .contenders import HOST, PRELOAD, Setting
from .procs import Ports, RunFailed, tail
from .soak_servers import Nginx, Redis, Server, program
from .soak_watch import Sampler, Usage, group_pids, usage
from .workloads import PAGE


@dataclass(frozen=True)
class Phase:
    name: str
    client: str
    server: Server
    argv: list[str]
    connections: int  # the client's own connections, at least
    concurrency: int  # connections it holds at once
    errors: Callable[[str], int]  # errors the client reports in its output


@dataclass
class Row:
    """One line of the report."""

    name: str
    connections: int = 0
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    note: str = ""


@dataclass
class Flat:
    """A process's usage at the start and at the end, and whether that is flat."""

    who: str
    before: Usage | None
    after: Usage | None
    allowed_fds: int  # growth allowed: the connections a client may hold at one sample and not the other
    ok: bool = True
    note: str = ""


def wrk_errors(out: str) -> int:
    socket_errors = " ".join(re.findall(r"Socket errors:.*", out))
    n = sum(map(int, re.findall(r"(?:connect|read|write|timeout) (\d+)", socket_errors)))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return n + (int(m.group(1)) if m else 0)


def redis_errors(out: str) -> int:
    return len(re.findall(r"(?i)error", out))


def httpreq_errors(out: str) -> int:
    return 0 if re.search(r'"requests": \d+', out) else 1  # it stops at its first error, exiting 1


def phases(nginx: Nginx, redis: Redis, bins: Path, total: int, wrk_seconds: int,
           keepalive_requests: int) -> list[Phase]:
    """A connection per request for total connections, half through each server; keep-alive
    for wrk_seconds (nginx) and keepalive_requests per command (redis)."""
    http = total // 2
    per_command = (total - http + 1) // 2  # redis-benchmark -t set,get: two runs of -n requests
    rb = [program("redis-benchmark"), "-h", HOST, "-p", str(redis.port), "-t", "set,get", "-q"]
    return [
        Phase("nginx, httpreq: a connection per request", "httpreq", nginx,
              [str(bins / "httpreq"), f"tcp:{HOST}:{nginx.port}", str(http), PAGE], http, 1, httpreq_errors),
        Phase("nginx, wrk: keep-alive, 16 connections at a time", "wrk", nginx,
              [program("wrk"), "-t1", "-c16", f"-d{wrk_seconds}s", f"http://{HOST}:{nginx.port}{PAGE}"], 16, 16,
              wrk_errors),
        Phase("redis, redis-benchmark -k 0: a connection per request", "redis-benchmark -k 0", redis,
              [*rb, "-n", str(per_command), "-c", "8", "-k", "0"], 2 * per_command, 8, redis_errors),
        Phase("redis, redis-benchmark -k 1: keep-alive, 16 at a time", "redis-benchmark -k 1", redis,
              [*rb, "-n", str(keepalive_requests), "-c", "16", "-k", "1"], 32, 16, redis_errors),
    ]


def run_phase(p: Phase, setting: Setting, scratch: Path, timeout: float) -> tuple[Row, Flat]:
    before = p.server.counters()
    argv, env = PRELOAD.command(p.argv, setting)
    out_path = scratch / "client.out"
    started = time.monotonic()
    with out_path.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=scratch)
        sampler = Sampler(proc.pid)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired as e:
            proc.kill()
            proc.wait()
            raise RunFailed(f"{p.name}: the client did not finish within {timeout:.0f} s") from e
        finally:
            samples = sampler.stop()
    took = time.monotonic() - started
    text = out_path.read_text(errors="replace")
    p.server.bg.check_alive()
    after = p.server.counters()
    # Each counters() is a connection and a request of its own.
    conns = after["connections"] - before["connections"] - 1
    row = Row(p.name, conns, after["requests"] - before["requests"] - 1, p.errors(text), took)
    if code != 0:
        row.errors += 1
        row.note = f"exited {code}: {tail(text)}"
    server_errors = sum(after[k] - before[k] for k in ("dropped", "logged errors"))
    if server_errors:
        row.errors += server_errors
        row.note += f" {p.server.name} counted {server_errors} errors"
    if conns < p.connections:
        row.errors += p.connections - conns
        row.note += f" {p.server.name} saw {conns} connections of {p.connections}"
    flat = Flat(f"{p.client} (client of {p.server.name})", *(samples or (None, None)), allowed_fds=p.concurrency)
    return row, flat


def server_usage(s: Server) -> Usage | None:
    return usage(group_pids(s.bg.proc.pid))


def judge(f: Flat, rss_tolerance_kib: int) -> Flat:
    if f.before is None or f.after is None:
        f.note = "too short a run to sample"
        return f
    fds, rss = f.after.fds - f.before.fds, f.after.rss_kib - f.before.rss_kib
    allowed_rss = max(rss_tolerance_kib, f.before.rss_kib // 20)
    if fds > f.allowed_fds:
        f.ok, f.note = False, f"{fds} more descriptors"
    if rss > allowed_rss:
        f.ok, f.note = False, (f.note + "; " if f.note else "") + f"RSS grew {rss} KiB (allowed {allowed_rss})"
    return f


def settle(s: Server, before: Usage | None, seconds: float = 5) -> Usage | None:
    """The server's usage once the clients' last connections are closed (up to seconds)."""
    deadline = time.monotonic() + seconds
    now = server_usage(s)
    while before and now and now.fds > before.fds and time.monotonic() < deadline:
        time.sleep(0.1)
        now = server_usage(s)
    return now


def report(rows: list[Row], flats: list[Flat], took: float) -> str:
    conns = sum(r.connections for r in rows)
    errors = sum(r.errors for r in rows)
    lines = [f"soak: {conns:,} connections, {sum(r.requests for r in rows):,} requests, {errors} errors "
             f"in {took:.0f} s, nginx and redis-server and their clients under unsock", "",
             f"{'phase':58} {'connections':>11} {'requests':>10} {'errors':>6} {'seconds':>7} {'conn/s':>7}"]
    for r in rows:
        lines.append(f"{r.name:58} {r.connections:>11,} {r.requests:>10,} {r.errors:>6} {r.seconds:>7.1f} "
                     f"{r.connections / r.seconds if r.seconds else 0:>7.0f}{'  ' + r.note.strip() if r.note else ''}")
    lines += ["", f"{'process':44} {'fds before':>10} {'fds after':>9} {'RSS before':>10} {'RSS after':>10}  verdict"]
    for f in flats:
        b, a = f.before, f.after
        cells = (f"{b.fds:>10} {a.fds:>9} {b.rss_kib:>7} KiB {a.rss_kib:>6} KiB" if a and b else f"{'-':>10} {'-':>9}"
                 f" {'-':>10} {'-':>10}")
        lines.append(f"{f.who:44} {cells}  {'flat' if f.ok else 'GREW'}{': ' + f.note if f.note else ''}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[1])
    p.add_argument("--connections", type=int, help="connections in all, at least (default 1000000; --quick 2000)")
    p.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    p.add_argument("--rss-tolerance", type=int, default=1024, metavar="KIB",
                   help="RSS growth allowed per process, KiB (default 1024, or 5%% of it if more)")
    p.add_argument("--timeout", type=float, default=900, help="seconds any one phase may take (default 900)")
    p.add_argument("--lib", type=Path, help="libunsock.so to use (default: the installed one)")
    p.add_argument("--json", type=Path, help="also write the results there")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory (configs, logs)")
    args = p.parse_args(argv)
    if args.connections is None:
        args.connections = 2000 if args.quick else 1_000_000
    if args.connections < 100:
        p.error("--connections must be at least 100")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lib = find_lib(args.lib)
    scratch = Path(tempfile.mkdtemp(prefix="unsock-soak-"))
    scratch.chmod(0o755)  # nginx's workers (www-data) read its pages there
    sockdir = Path(tempfile.mkdtemp(prefix="us-", dir="/tmp"))
    setting = Setting(lib, sockdir, ())
    servers: list[Server] = []
    try:
        reason = PRELOAD.unavailable(setting)
        if reason:
            raise RunFailed(reason)
        bins = build(scratch / "bin")
        ports = Ports(sockdir)
        nginx = Nginx(ports.take(), setting, scratch)
        servers.append(nginx)
        redis = Redis(ports.take(), setting, scratch)
        servers.append(redis)
        n = args.connections
        warm = phases(nginx, redis, bins, min(2000, n // 10), 1, min(2000, n // 10))
        main_phases = phases(nginx, redis, bins, n, 1 if args.quick else max(2, n // 50_000),
                             max(1000, n // 10))
        log(f"warm-up, then {n:,} connections")
        for p in warm:
            row, _ = run_phase(p, setting, scratch, args.timeout)
            if row.errors:
                raise RunFailed(f"warm-up: {p.name}: {row.errors} errors {row.note}")
        start = {s.name: server_usage(s) for s in servers}
        started = time.monotonic()
        rows, flats = [], []
        for p in main_phases:
            log(p.name)
            row, flat = run_phase(p, setting, scratch, args.timeout)
            rows.append(row)
            flats.append(judge(flat, args.rss_tolerance))
            log(f"  {row.connections:,} connections, {row.errors} errors, {row.seconds:.1f} s")
        took = time.monotonic() - started
        for i, s in enumerate(servers):
            who = "nginx (master and workers)" if s.name == "nginx" else "redis-server"
            flats.insert(i, judge(Flat(who, start[s.name], settle(s, start[s.name]), 0), args.rss_tolerance))
    except (RunFailed, BuildError) as e:
        print(f"unsock: the soak could not run: {e}", file=sys.stderr)
        return 2
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(sockdir, ignore_errors=True)
        if args.keep:
            log(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(report(rows, flats, took))
    errors = sum(r.errors for r in rows)
    if args.json:
        args.json.write_text(json.dumps({"rows": [asdict(r) for r in rows], "processes": [asdict(f) for f in flats],
                                         "errors": errors, "seconds": took}, indent=1))
    if errors or not all(f.ok for f in flats):
        print("unsock: the soak found errors or growth (above): see which phase and process", file=sys.stderr)
        return 1
    return 0


def log(msg: str) -> None:
    print(f"soak: {msg}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
