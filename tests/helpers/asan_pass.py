"""`make test-asan`: tests/shim once more, every probe under the shim built with AddressSanitizer
and UndefinedBehaviorSanitizer (tests/helpers/sanitizers.py), through UNSOCK_TEST_PRELOAD
(tests/shim/conftest.py). Any sanitizer report fails the pass, whether or not the test noticed it.

Only the glibc variants run: the musl ones take libunsock-musl.so, and no glibc sanitizer runtime
can serve a musl program.

    python -m tests.helpers.asan_pass [PYTEST ARGS...]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.helpers.sanitizers import ROOT, options, preload, reports


def main(argv: list[str]) -> int:
    try:
        ld_preload = preload("asan")
    except AssertionError as e:
        print(e, file=sys.stderr)
        return 1
    logdir = Path(tempfile.mkdtemp(prefix="unsock-asan-"))
    env = {**os.environ, "UNSOCK_TEST_PRELOAD": ld_preload, **options("asan", logdir)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/shim", "-k", "not musl", *argv]
    print(f"asan pass: LD_PRELOAD={ld_preload}", flush=True)
    started = time.monotonic()
    code = subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode
    found = reports(logdir)
    print(f"asan pass: {time.monotonic() - started:.0f} s, {len(found)} sanitizer report(s)", flush=True)
    for text in found:
        print(text, file=sys.stderr)
    shutil.rmtree(logdir, ignore_errors=True)
    if found:
        print("unsock: the sanitizers reported the findings above: fix the shim's C code they point at",
              file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
