"""python -m benchmarks.stress: the thread stress of the shim (tests/shim/progs/stress.c) for
minutes rather than the seconds tests/stress gives it: many threads doing socket, bind, connect,
accept, close, dup2 and fork on converted sockets at once, a token checked on every connection.
By default under ThreadSanitizer (the shim and the program built with it). It fails (exit 1) on
any sanitizer report, a deadlock, a token answered on the wrong socket, or a descriptor or socket
file left; it reports rounds and connections per second."""

from __future__ import annotations

import argparse
import sys
import time

from tests.helpers.stress import StressKind, run_stress


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.stress", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=300, help="how long to run (default 300)")
    p.add_argument("--threads", type=int, default=8, help="worker threads (default 8, at most 64)")
    p.add_argument("--kind", choices=["tsan", "asan", "plain"], default="tsan",
                   help="tsan: ThreadSanitizer (default); asan: ASan+UBSan; plain: the installed shim")
    args = p.parse_args(argv)
    if args.seconds <= 0 or not 1 <= args.threads <= 64:
        p.error("--seconds must be positive and --threads 1..64")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    kind: StressKind = args.kind
    print(f"stress: {kind}, {args.threads} threads, {args.seconds:.0f} s", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        r = run_stress(kind, args.seconds, args.threads)
    except AssertionError as e:
        print(f"unsock: the stress run failed: {e}", file=sys.stderr)
        return 1
    took = r["seconds"]
    print(f"{kind}: {r['rounds']:.0f} rounds, {r['connections']:.0f} connections, {r['forks']:.0f} forks in "
          f"{took:.1f} s ({r['rounds'] / took:.0f} rounds/s, {r['connections'] / took:.0f} connections/s); "
          f"socket files still owed at the end {r['files_owed']:.0f}, none left after exit; "
          f"no sanitizer report ({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
