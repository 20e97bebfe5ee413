"""python -m benchmarks: build, run, report."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import report
from .build import BuildError, build
from .contenders import CONTENDERS, Setting
from .runner import log, run_all
from .workloads import FULL, QUICK, all_workloads

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="unsock side by side with TCP, native unix sockets and a socat proxy. "
        "Writes results.md, results.json and ratios.png to --out.",
    )
    p.add_argument("--quick", action="store_true", help="tiny sizes and one repeat: a smoke run of a few seconds")
    p.add_argument("--pin", action="store_true", help="pin the server and the client to two different CPUs")
    p.add_argument("--repeats", type=int, help="repeats (default 3, with --quick 1)")
    p.add_argument("--out", type=Path, default=ROOT / "build" / "bench", help="output directory (default build/bench)")
    p.add_argument("--build-dir", type=Path, help="where the C programs are compiled (default OUT/bin)")
    p.add_argument("--lib", type=Path, help="libunsock.so to use (default: the installed one, `unsock lib`)")
    p.add_argument("--workloads", help="comma-separated workload ids (default: all; see --list)")
    p.add_argument("--contenders", help="comma-separated contender names (default: all; see --list)")
    p.add_argument("--no-calls", action="store_true", help="skip the per-call shim cost measurement")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory (configs, logs)")
    p.add_argument("--list", action="store_true", help="list workloads and contenders, then exit")
    args = p.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


def find_lib(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit.resolve()
    try:
        from unsock import library_path

        return library_path()
    except Exception:  # not installed, or installed without its library
        return None


def unsock_cli() -> tuple[str, ...]:
    script = Path(sys.executable).parent / "unsock"
    return (str(script),) if script.exists() else (sys.executable, "-m", "unsock")


def pick(items: list[Any], names: str | None, what: str, key: str) -> list[Any]:
    if not names:
        return items
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = {getattr(i, key) for i in items}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise SystemExit(f"benchmarks: unknown {what}: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return [i for i in items if getattr(i, key) in wanted]


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} CPUs, Linux {platform.release()}, load average at start {load}"


def git_version() -> str:
    try:
        p = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                           text=True, timeout=10, check=False)
    except OSError:
        return "unknown"
    return p.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    repeats = args.repeats or (1 if args.quick else 3)
    workloads = pick(all_workloads(sizes), args.workloads, "workload", "id")
    contenders = pick(list(CONTENDERS), args.contenders, "contender", "name")
    if args.list:
        for w in all_workloads(sizes):
            print(f"workload   {w.id:<22} " + "; ".join(m.title for m in w.metrics))
        for c in CONTENDERS:
            print(f"contender  {c.name:<22} {c.title}")
        return 0

    cpus: tuple[int | None, int | None] = (None, None)
    if args.pin:
        allowed = sorted(os.sched_getaffinity(0))
        if len(allowed) < 2:
            print(f"benchmarks: --pin needs two CPUs, this process may use {len(allowed)}", file=sys.stderr)
            return 2
        cpus = (allowed[0], allowed[1])

    started = time.monotonic()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:
        bins = build((args.build_dir or out / "bin").resolve())
    except BuildError as e:
        print(f"benchmarks: {e}", file=sys.stderr)
        return 1

    meta: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "unsock": git_version(),
        "quick": args.quick,
        "repeats": repeats,
        "pinned": {"server_cpu": cpus[0], "client_cpu": cpus[1], "proxy": "unpinned"} if args.pin else None,
        "sizes": sizes.__dict__,
    }
    # Short paths (sun_path holds 108 bytes), on tmpfs where there is one, as
    # /run and $XDG_RUNTIME_DIR are: file creation on a disk file system is
    # slow and noisy, and every bind creates a socket file.
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else "/tmp"
    root = Path(tempfile.mkdtemp(prefix="ub-", dir=base))
    try:
        root.chmod(0o755)  # nginx workers run as www-data
        sockdir = root / "s"
        sockdir.mkdir(mode=0o755)
        scratch = root / "r"
        scratch.mkdir(mode=0o755)
        setting = Setting(lib=find_lib(args.lib), sockdir=sockdir, unsock_cli=unsock_cli())
        log(f"benchmarks: {len(workloads)} workloads x {len(contenders)} contenders x {repeats} repeats"
            f"{', pinned' if args.pin else ''}; scratch {root}")
        results = run_all(workloads, contenders, setting, bins, sizes, scratch, repeats, cpus,
                          with_calls=not args.no_calls)
    finally:
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    elapsed = time.monotonic() - started
    pin = f"server on CPU {cpus[0]}, client on CPU {cpus[1]}, proxy unpinned" if args.pin else "not pinned"
    meta["seconds"] = round(elapsed, 1)
    meta["run"] = (f"{'quick' if args.quick else 'full'} sizes, {repeats} repeat{'s' if repeats != 1 else ''}, "
                   f"{pin}, {elapsed:.0f} s, {meta['date']}, unsock {meta['unsock']}")
    chart = report.write_chart(results, out / "ratios.png")
    (out / "results.json").write_text(json.dumps(report.to_json(results, meta, chart), indent=1) + "\n")
    md = report.markdown(results, meta, chart)
    (out / "results.md").write_text(md)
    print(md)
    log(f"wrote {out / 'results.md'}, {out / 'results.json'}"
        + (f", {chart['path']}" if "path" in chart else f"; no chart: {chart['na']}"))
    log(f"total {elapsed:.1f} s")
    return 0
