"""Running every contender through every workload, interleaved: inside each
repeat, the contenders of each workload run one after the other, starting
one place further along the list every time."""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .contenders import NATIVE, PRELOAD, Address, Contender, Launcher, Setting, Side, SocatProxy, Tcp, Unix, plain_env
from .procs import Background, Ports, RunFailed, Turner, run_client, server_address, turn_order
from .workloads import Metric, RunCtx, Sizes, Workload

T = TypeVar("T")


def rotate(items: Sequence[T], k: int) -> list[T]:
    if not items:
        return []
    k %= len(items)
    return [*items[k:], *items[:k]]


@dataclass
class Cell:
    """The results of one contender on one metric: a value per repeat (None
    where that repeat failed), or why it cannot run at all."""

    values: list[float | None] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    na: str | None = None

    def ok(self) -> list[float]:
        return [v for v in self.values if v is not None]


@dataclass(frozen=True)
class CallVariant:
    """One column of the per-call cost table: a launcher and the kind of
    address the program uses."""

    name: str
    title: str
    launcher: Launcher
    transport: str  # "tcp" or "unix"


@dataclass
class Results:
    metrics: list[Metric]
    contenders: list[Contender]
    skipped: dict[str, str]  # contender name -> why it does not run here
    cells: dict[str, dict[str, Cell]]  # metric id -> contender name -> cell
    notes: dict[str, dict[str, str]]  # metric id -> contender name -> how it ran differently
    variants: list[CallVariant]
    calls: list[str]
    call_cells: dict[str, dict[str, Cell]]  # call -> variant name -> cell
    repeats: int


def program_missing(w: Workload) -> str | None:
    for prog in w.programs:
        if shutil.which(prog) is None and not any((Path(d) / prog).exists() for d in ("/usr/sbin", "/sbin")):
            return f"{prog} is not installed"
    return None


def server_side(w: Workload, c: Contender, setting: Setting) -> tuple[Side, str | None]:
    """The contender's server side for this workload, and a note if it had to
    differ; RunFailed if the workload cannot run this way at all."""
    side = c.server
    if side.transport == "unix" and not w.unix_server:
        if c.proxy is None or PRELOAD.unavailable(setting):
            raise RunFailed(f"{w.why_not_unix} (the server cannot listen on a unix socket without unsock)")
        return Side("tcp", PRELOAD), f"server put on its unix socket by unsock: {w.why_not_unix}"
    return side, None


def not_applicable(w: Workload, c: Contender, setting: Setting) -> str | None:
    missing = program_missing(w)
    if missing:
        return missing
    if c.proxy is not None and shutil.which(c.proxy.program) is None:
        return f"{c.proxy.program} is not installed"
    try:
        server_side(w, c, setting)
    except RunFailed as e:
        return str(e)
    if c.client.transport == "unix" and not w.unix_client:
        return w.why_not_unix
    return None


def port_of(addr: Address, setting: Setting) -> int:
    if isinstance(addr, Tcp):
        return addr.port
    return int(addr.path.name.removesuffix(".sock"))


@dataclass
class Started:
    """A contender's server side, up and listening, and the command line of its client."""

    server: Background
    procs: list[Background]  # the server and any proxy, to stop at the end
    argv: list[str]
    env: dict[str, str]

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()


def start(w: Workload, c: Contender, setting: Setting, ctx: RunCtx, ports: Ports, cpu: int | None) -> Started:
    side, _ = server_side(w, c, setting)
    port = ports.take()
    told: Address = Tcp(port) if side.transport == "tcp" else Unix(setting.sock_path(port))
    server_at = server_address(told, side.launcher.converts, setting.sock_path(port))
    argv, env = side.launcher.command(w.server(told, ctx), setting)
    procs: list[Background] = []
    try:
        server = Background("server", argv, env, ctx.scratch, cpu=cpu)
        procs.append(server)
        server.wait_listening(server_at)
        target = server_at
        if c.proxy is not None:
            target = start_proxy(c.proxy, server_at, ports, ctx, procs)
        client_told: Address = Unix(target.path) if c.client.transport == "unix" and isinstance(target, Unix) \
            else Tcp(port_of(target, setting))
        reaches = server_address(client_told, c.client.launcher.converts, setting.sock_path(port_of(target, setting)))
        if reaches != target:
            raise RunFailed(f"contender {c.name}: the client would reach {reaches}, the server is at {target}")
        argv, env = c.client.launcher.command(w.client(client_told, ctx), setting)
        return Started(server, procs, argv, env)
    except BaseException:
        for p in reversed(procs):
            p.stop()
        raise


def run_once(
    w: Workload, c: Contender, setting: Setting, ctx: RunCtx, ports: Ports, cpus: tuple[int | None, int | None]
) -> dict[str, float]:
    up = start(w, c, setting, ctx, ports, cpus[0])
    try:
        out = run_client("client", up.argv, up.env, ctx.scratch, w.client_timeout, cpu=cpus[1])
        for p in up.procs:
            p.check_alive()
        w.check(up.server.output())
        return w.parse(out)
    finally:
        up.stop()


def record(cells: dict[str, dict[str, Cell]], w: Workload, name: str, rep: int,
           got: dict[str, float] | RunFailed) -> str:
    """Store one run's result in its cells; what the log shows of it."""
    for m in w.metrics:
        cell = cells[m.id][name]
        cell.values.append(None if isinstance(got, RunFailed) else got[m.id])
        if isinstance(got, RunFailed):
            cell.failures.append(f"repeat {rep + 1}: {got}")
    if isinstance(got, RunFailed):
        return f"FAILED: {got}"
    return ", ".join(f"{fmt(got[m.id])} {m.unit}" for m in w.metrics)


def run_or_failure(
    w: Workload, c: Contender, setting: Setting, ctx: RunCtx, ports: Ports, cpus: tuple[int | None, int | None]
) -> dict[str, float] | RunFailed:
    try:
        return run_once(w, c, setting, ctx, ports, cpus)
    except RunFailed as e:
        return e


def run_turns(
    w: Workload, cs: Sequence[Contender], setting: Setting, ctxs: Sequence[RunCtx], ports: Ports,
    cpus: tuple[int | None, int | None],
) -> list[dict[str, float] | RunFailed]:
    """All of cs at once, their clients taking turns one at a time (in a
    shuffled order each round, procs.turn_order), so that the machine's slow
    and fast moments fall on each alike; the first turn warms up. Each contender's value of a metric is
    the median over its turns (Workload.turn)."""
    ups: list[Started | None] = []
    turners: list[Turner | None] = []
    out: list[dict[str, float] | RunFailed] = []
    try:
        for c, ctx in zip(cs, ctxs, strict=True):
            started: Started | None = None
            try:
                started = start(w, c, setting, ctx, ports, cpus[0])
                turners.append(Turner("client", started.argv, started.env, ctx.scratch, cpus[1]))
                out.append({})
            except RunFailed as e:
                turners.append(None)
                out.append(e)
            ups.append(started)
        sizes = ctxs[0].sizes
        values: list[dict[str, list[float]]] = [{m.id: [] for m in w.metrics} for _ in cs]
        for turn in range(sizes.turns + 1):
            for i in turn_order(len(turners), turn):
                t = turners[i]
                if t is None:
                    continue
                try:
                    fields = t.turn(timeout=60 + sizes.turn_ms / 1000)
                except RunFailed as e:
                    turners[i], out[i] = None, e
                    continue
                if turn > 0:
                    for mid, v in w.turn(fields).items():
                        values[i][mid].append(v)
        for i, t in enumerate(turners):
            up = ups[i]
            if t is None or up is None:
                continue
            try:
                t.finish()
                for p in up.procs:
                    p.check_alive()
                w.check(up.server.output())
                out[i] = {mid: statistics.median(v) for mid, v in values[i].items()}
            except RunFailed as e:
                out[i] = e
        return out
    finally:
        for t in turners:
            if t is not None:
                t.stop()
        for up in ups:
            if up is not None:
                up.stop()


def start_proxy(proxy: SocatProxy, server_at: Address, ports: Ports, ctx: RunCtx, procs: list[Background]) -> Tcp:
    if not isinstance(server_at, Unix):
        raise RunFailed("the proxy needs a server on a unix socket")
    listen = Tcp(ports.take())
    bg = Background("proxy", proxy.argv(listen, server_at), plain_env(), ctx.scratch)  # unpinned
    procs.append(bg)
    bg.wait_listening(listen)
    return listen


def call_variants(contenders: Sequence[Contender]) -> list[CallVariant]:
    """A column per contender whose two sides are the same, that has no
    proxy and that converts or is a baseline, plus the preload engine on
    sockets it does not convert (the uncovered contender's per-call cost)."""
    out = [
        CallVariant(c.name, c.title, c.server.launcher, c.server.transport)
        for c in contenders
        if c.proxy is None and c.server == c.client and (c.server.launcher.converts or c.server.launcher == NATIVE)
    ]
    if any(v.launcher == PRELOAD for v in out):
        out.append(CallVariant("unsock-unconverted", "unsock (preload), unix sockets it does not convert",
                               PRELOAD, "unix"))
    return out


def run_calls(v: CallVariant, setting: Setting, ctx: RunCtx, ports: Ports, cpu: int | None) -> dict[str, float | None]:
    prog = ctx.bin("callcost")
    n = str(ctx.sizes.call_iterations)
    if v.transport == "tcp":
        argv = [prog, "tcp", str(ports.take()), str(ports.take()), n]
    else:
        d = ctx.scratch / "c"
        d.mkdir()
        argv = [prog, "unix", str(d), n]
    argv, env = v.launcher.command(argv, setting)
    out = run_client("callcost", argv, env, ctx.scratch, 600, cpu=cpu)
    try:
        data = json.loads(out.strip().splitlines()[-1])
        calls = data["calls"]
        assert isinstance(calls, dict)
    except (ValueError, KeyError, IndexError, AssertionError) as e:
        raise RunFailed(f"unexpected callcost output: {out.strip()[-200:]!r}") from e
    return {str(k): (None if val is None else float(val)) for k, val in calls.items()}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Progress:
    """Runs done out of all, and the time left at the pace so far."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()

    def step(self) -> str:
        self.done += 1
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done)
        return f"{self.done}/{self.total}, about {left / 60:.0f} min {left % 60:02.0f} s left"


def fmt(v: float) -> str:
    return f"{v:.3g}" if v < 1000 else f"{v:,.0f}"


def run_all(
    workloads: Sequence[Workload], contenders: Sequence[Contender], setting: Setting, bins: Path, sizes: Sizes,
    scratch_root: Path, repeats: int, cpus: tuple[int | None, int | None], with_calls: bool = True,
) -> Results:
    ports = Ports(setting.sockdir)
    skipped = {c.name: r for c in contenders if (r := c.unavailable(setting))}
    running = [c for c in contenders if c.name not in skipped]
    for name, why in skipped.items():
        log(f"not run: {name}: {why}")
    metrics = [m for w in workloads for m in w.metrics]
    cells: dict[str, dict[str, Cell]] = {m.id: {c.name: Cell() for c in running} for m in metrics}
    notes: dict[str, dict[str, str]] = {m.id: {} for m in metrics}
    applicable: dict[str, list[Contender]] = {}
    for w in workloads:
        applicable[w.id] = []
        for c in running:
            reason = not_applicable(w, c, setting)
            if reason:
                for m in w.metrics:
                    cells[m.id][c.name].na = reason
            else:
                applicable[w.id].append(c)
                note = server_side(w, c, setting)[1]
                if note:
                    for m in w.metrics:
                        notes[m.id][c.name] = note

    variants = call_variants(running) if with_calls else []
    calls: list[str] = []
    call_cells: dict[str, dict[str, Cell]] = {}
    seq = 0
    progress = Progress(repeats * (sum(len(applicable[w.id]) for w in workloads) + sizes.call_rounds * len(variants)))
    for rep in range(repeats):
        for wi, w in enumerate(workloads):
            order = rotate(applicable[w.id], rep + wi)
            ctxs = []
            for c in order:
                seq += 1
                scratch = scratch_root / f"{seq:04d}-{w.id}-{c.name}"
                scratch.mkdir()
                scratch.chmod(0o755)
                ctxs.append(RunCtx(bins, scratch, sizes))

            t0 = time.monotonic()
            if w.takes_turns and order:
                results = run_turns(w, order, setting, ctxs, ports, cpus)
                took = [(time.monotonic() - t0) / len(order)] * len(order)
            else:
                results, took = [], []
                for c, ctx in zip(order, ctxs, strict=True):
                    t0 = time.monotonic()
                    results.append(run_or_failure(w, c, setting, ctx, ports, cpus))
                    took.append(time.monotonic() - t0)
            for c, ctx, got, secs in zip(order, ctxs, results, took, strict=True):
                shown = record(cells, w, c.name, rep, got)
                if not isinstance(got, RunFailed):
                    shutil.rmtree(ctx.scratch, ignore_errors=True)
                log(f"[{rep + 1}/{repeats}] {w.id:<22} {c.name:<15} {shown}  ({secs:.1f} s; {progress.step()})")
        # Several short rounds per repeat, in rotating order: per-call times
        # of one process swing with where and next to what it runs.
        rounds: dict[str, list[dict[str, float | None]]] = {v.name: [] for v in variants}
        failed: dict[str, str] = {}
        for rnd in range(sizes.call_rounds):
            for v in rotate(variants, rep * sizes.call_rounds + rnd):
                seq += 1
                scratch = scratch_root / f"{seq:04d}-calls-{v.name}"
                scratch.mkdir()
                t0 = time.monotonic()
                try:
                    rounds[v.name].append(run_calls(v, setting, RunCtx(bins, scratch, sizes), ports, cpus[1]))
                    shown = "ok"
                except RunFailed as e:
                    failed.setdefault(v.name, str(e))
                    shown = f"FAILED: {e}"
                log(f"[{rep + 1}/{repeats}] {'calls, round ' + str(rnd + 1):<22} {v.name:<15} {shown}"
                    f"  ({time.monotonic() - t0:.1f} s; {progress.step()})")
        for v in variants:
            for res in rounds[v.name]:
                for call in res:
                    if call not in calls:
                        calls.append(call)
                        call_cells[call] = {x.name: Cell() for x in variants}
        for v in variants:
            for call in calls:
                cell = call_cells[call][v.name]
                vals = [x for res in rounds[v.name] if (x := res.get(call)) is not None]
                cell.values.extend([None] * (rep - len(cell.values)))
                cell.values.append(statistics.median(vals) if vals else None)
                if not vals and rounds[v.name]:
                    cell.na = "a TCP option: does not apply to a unix socket"
                elif not vals:
                    cell.failures.append(f"repeat {rep + 1}: {failed.get(v.name, 'no result')}")
    for per_contender in cells.values():
        for cell in per_contender.values():
            if cell.na is None and not cell.ok():
                cell.na = cell.failures[0] if cell.failures else "not run"
    for per_variant in call_cells.values():
        for cell in per_variant.values():
            if cell.na is None and not cell.ok():
                cell.na = cell.failures[0] if cell.failures else "not run"
    return Results(metrics, running, skipped, cells, notes, variants, calls, call_cells, repeats)
