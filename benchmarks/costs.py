"""python -m benchmarks.costs: what one connection costs, counted rather than timed (stable on a
shared machine). The connection-rate programs (benchmarks/c/connrate.c: connect, 1 byte each
way, close) run N connections natively on a unix socket and under the shim, the shim with early
sockets (the default) and with UNSOCK_IP_AT_SOCKET=1 (the IP socket made at socket() and swapped
at connect); under the floor shim (benchmarks/c/floorshim.c: an LD_PRELOAD that only rewrites
the addresses, with and without unsock's naming bind), the yardstick of what any such shim
costs; and natively over TCP and under the shim with no rule covering the address (the
unconverted path). For each side it reports the system calls per connection (strace -c) and, with
--instructions, the instructions per connection (valgrind --tool=callgrind). With --cpu it times
instead what a connection costs in CPU, both ends on one CPU (the one measurement here that is
timed: the ways take turns, which keeps it within about 1 % on a shared machine)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .build import FLOOR_SHIM, build
from .cli import ROOT, find_lib
from .contenders import UNCOVERED_ADDR, UNSOCK_ADDR, Address, Tcp, Unix, plain_env
from .procs import Background, RunFailed, Turner, listening, turn_order

PORT = 7790
BINS = ROOT / "build" / "bench" / "bin"
MODES = ("client-first", "server-first")


@dataclass(frozen=True)
class Way:
    name: str
    told: Address  # what the programs are told to use
    listens: Address  # where the server's socket then is
    env: dict[str, str]


def ways(lib: Path, sockdir: Path) -> list[Way]:
    """Each on a port of its own, so that all can run at once."""
    tcp = [Tcp(PORT + i) for i in range(7)]
    unix = [Unix(sockdir / f"{t.port}.sock") for t in tcp]
    shim = {"LD_PRELOAD": str(lib), "UNSOCK_DIR": str(sockdir), "UNSOCK_ADDR": UNSOCK_ADDR}
    floor = {"LD_PRELOAD": str(BINS / FLOOR_SHIM), "FLOORSHIM_DIR": str(sockdir)}
    return [
        Way("native unix", unix[0], unix[0], {}),
        Way("unsock", tcp[1], unix[1], shim),
        Way("unsock, UNSOCK_IP_AT_SOCKET=1", tcp[2], unix[2], {**shim, "UNSOCK_IP_AT_SOCKET": "1"}),
        Way("floor shim", tcp[3], unix[3], floor),
        Way("floor shim, naming its client", tcp[4], unix[4], {**floor, "FLOORSHIM_NAME": "1"}),
        Way("native TCP", tcp[5], tcp[5], {}),
        Way("unsock, the address not covered (TCP)", tcp[6], tcp[6], {**shim, "UNSOCK_ADDR": UNCOVERED_ADDR}),
    ]


def baseline_of(way: Way) -> str:
    return "native TCP" if isinstance(way.listens, Tcp) else "native unix"


def wait_listening(addr: Address, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not listening(addr):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"benchmarks.costs: the server did not start ({addr})")
        time.sleep(0.05)


def run(way: Way, connrate: Path, n: int, mode: str, sockdir: Path, tool: list[str], out: Path) -> None:
    """Server and client, each under tool, whose "{OUT}" names where it writes for that side."""
    for f in sockdir.iterdir():
        f.unlink()
    env = {**plain_env(), **way.env}
    addr = way.told.spec()

    def measured(side: str) -> list[str]:
        return [part.replace("{OUT}", str(out / side)) for part in tool]

    server = subprocess.Popen([*measured("server"), str(connrate), "server", addr, mode],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_listening(way.listens, server)
        subprocess.run([*measured("client"), str(connrate), "client", addr, str(n), mode],
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=600)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the tool and the server it runs
        server.wait(60)


STRACE_ROW = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)(?:\s+\d+)?\s+(\w+)\s*$")


def syscalls_per_connection(path: Path, n: int) -> dict[str, float]:
    """strace -c's table: the calls made about once per connection or more."""
    calls: dict[str, float] = {}
    for line in path.read_text().splitlines():
        m = STRACE_ROW.match(line)
        if m and m.group(2) != "total" and int(m.group(1)) >= n * 0.9:
            calls[m.group(2)] = int(m.group(1)) / n
    return calls


def instructions(path: Path) -> int:
    for line in path.read_text().splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise SystemExit(f"benchmarks.costs: no totals in {path}")


Counts = dict[str, dict[str, dict[str, float]]]  # way -> side -> what -> per connection


def count(lib: Path, n: int, instructions_too: bool = False, mode: str = MODES[0]) -> Counts:
    """System calls (by name) and, if asked, instructions ("instructions") per connection, for
    each way and side."""
    strace = shutil.which("strace")
    if strace is None or (instructions_too and shutil.which("valgrind") is None):
        raise SystemExit("benchmarks.costs: needs strace (and valgrind for --instructions): apt-get install them")
    connrate = build(BINS) / "connrate"
    counts: Counts = {}
    with tempfile.TemporaryDirectory(prefix="unsock-costs-") as tmp:
        sockdir, out = Path(tmp) / "sock", Path(tmp)
        sockdir.mkdir()
        for way in ways(lib, sockdir):
            run(way, connrate, n, mode, sockdir, [strace, "-f", "-c", "-o", "{OUT}.txt"], out)
            sides = counts[way.name] = {side: syscalls_per_connection(out / f"{side}.txt", n)
                                        for side in ("client", "server")}
            if instructions_too:
                run(way, connrate, n, mode, sockdir, ["valgrind", "--tool=callgrind", "--callgrind-out-file={OUT}.cg"],
                    out)
                for side in ("client", "server"):
                    sides[side]["instructions"] = instructions(out / f"{side}.cg") / n
    return counts


def cpu_per_connection(lib: Path, turns: int, turn_ms: int, cpu: int, mode: str = MODES[0]) -> dict[str, float]:
    """Microseconds of CPU per connection, both ends together, for each way: its server and
    client run on one CPU, so the rate is the inverse of what a connection costs them; the
    clients of all ways take turns (bench.h, repeat) so that the machine's moments fall
    on each alike. The median over the turns, the first one left out (warming up)."""
    connrate = build(BINS) / "connrate"
    with tempfile.TemporaryDirectory(prefix="unsock-costs-") as tmp:
        scratch, sockdir = Path(tmp), Path(tmp) / "sock"
        sockdir.mkdir()
        all_ways = ways(lib, sockdir)
        servers: list[Background] = []
        clients: list[Turner] = []
        try:
            for i, way in enumerate(all_ways):
                env = {**plain_env(), **way.env}
                server = Background(f"server-{i}", [str(connrate), "server", way.told.spec(), mode], env, scratch, cpu)
                servers.append(server)
                server.wait_listening(way.listens)
                clients.append(Turner(f"client-{i}", [str(connrate), "client", way.told.spec(), f"turns:{turn_ms}",
                                                      mode], env, scratch, cpu))
            rates: list[list[float]] = [[] for _ in all_ways]
            for turn in range(turns + 1):
                for i in turn_order(len(clients), turn):
                    n, ns = clients[i].turn(timeout=60)[:2]
                    if turn > 0:
                        rates[i].append(n * 1e9 / ns)
            for client in clients:
                client.finish()
        except RunFailed as e:
            raise SystemExit(f"benchmarks.costs: {e}") from e
        finally:
            for c in clients:
                c.stop()
            for s in servers:
                s.stop()
    return {way.name: 1e6 / statistics.median(r) for way, r in zip(all_ways, rates, strict=True)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.costs", description=__doc__)
    p.add_argument("-n", type=int, default=2000, help="connections (default 2000)")
    p.add_argument("--lib", type=Path, help="libunsock.so to use (default: the installed one)")
    p.add_argument("--instructions", action="store_true", help="also count instructions (valgrind, slow)")
    p.add_argument("--cpu", action="store_true",
                   help="instead: the CPU time a connection costs, both ends on one CPU (timed, about a minute)")
    p.add_argument("--turns", type=int, default=40, help="with --cpu: turns of each way (default 40)")
    p.add_argument("--mode", choices=MODES, default=MODES[0],
                   help="which end closes first (connrate.c; default client-first)")
    args = p.parse_args(argv)
    lib = find_lib(args.lib)
    if lib is None:
        raise SystemExit("benchmarks.costs: unsock is not installed: run make install")
    if args.cpu:
        cpu = max(os.sched_getaffinity(0))
        print(f"CPU per connection, server and client both on CPU {cpu} (connect, 1 byte each way, close, "
              f"{args.mode}; median of {args.turns} turns of 100 ms, the ways taking turns):")
        cost = cpu_per_connection(lib, args.turns, 100, cpu, args.mode)
        for w in ways(lib, Path("/")):
            base = baseline_of(w)
            extra = "" if w.name == base else \
                f" ({cost[w.name] - cost[base]:+.2f} µs, {cost[w.name] / cost[base] - 1:+.1%} over {base})"
            print(f"  {w.name}: {cost[w.name]:.2f} µs{extra}")
        return 0
    print(f"Per connection, over {args.n} connections (connect, 1 byte each way, close, {args.mode}):")
    for way, sides in count(lib, args.n, args.instructions, args.mode).items():
        print(f"{way}:")
        for side, calls in sides.items():
            ins = calls.pop("instructions", None)
            listed = ", ".join(f"{name} {round(c, 2):g}" for name, c in sorted(calls.items()))
            print(f"  {side}: {round(sum(calls.values()), 2):g} system calls ({listed})"
                  + (f", {ins:,.0f} instructions" if ins is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
