"""`python -m fuzz [--seconds N] [TARGET...]`: build, seed and run every fuzz target (or those
named) for N seconds each, then the differential check on what they found. Exits 1 with one
line naming the target and the input on any finding."""

from __future__ import annotations

import argparse
import sys
import time

from fuzz.run import BUILD, TARGETS, FuzzError, build, clang, differential, replay_regressions, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time per target (default 60)")
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help=f"one of {', '.join(TARGETS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target {sorted(unknown)[0]}: choose from {', '.join(TARGETS)}")
    cc = clang()
    if cc is None:
        print("fuzz: clang with libFuzzer is not installed: apt-get install clang libclang-rt-14-dev",
              file=sys.stderr)
        return 1
    started = time.monotonic()
    try:
        binaries = build(cc)
    except FuzzError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"fuzz: built in {time.monotonic() - started:.0f} s into {BUILD}", flush=True)
    failed = 0
    for target in args.targets or TARGETS:
        try:
            replay_regressions(binaries[target], target)
            r = run(binaries[target], target, args.seconds)
            checked = differential(binaries["replay"], target)
        except FuzzError as e:
            print(e, file=sys.stderr, flush=True)
            failed += 1
            continue
        also = f", {checked} inputs read alike by C and Python" if checked else ""
        print(f"fuzz: {target}: {r.executions} executions in {r.seconds} s, corpus {r.corpus_size}{also}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
