"""Builds the shim against musl (libunsock-musl.so) with musl-gcc, for musl programs on a glibc
system: `musl_shim.py MUSL_GCC OUTPUT DEPFILE SOURCE...`, run by src/preload/meson.build (the
depfile names every header read, so that meson rebuilds when one changes).

musl-gcc sees musl's headers only; the kernel's (linux/, asm/, asm-generic/) are made visible
to it through a private directory of links, as nothing else of glibc's may leak in."""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
from pathlib import Path

CFLAGS = ["-std=c11", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-fPIC", "-pthread", "-fvisibility=hidden",
          "-D_DEFAULT_SOURCE", "-DNDEBUG", "-D_FILE_OFFSET_BITS=64"]
LDFLAGS = ["-shared", "-pthread", "-Wl,-z,now", "-Wl,-z,relro"]


def kernel_headers(into: Path) -> None:
    arch = f"/usr/include/{platform.machine()}-linux-gnu/asm"
    for name, target in (("linux", "/usr/include/linux"), ("asm", arch), ("asm-generic", "/usr/include/asm-generic")):
        if not Path(target).is_dir():
            sys.exit(f"unsock: {target} is missing, which the musl build of the shim needs: install linux-libc-dev")
        (into / name).symlink_to(target)


def main() -> None:
    cc, output, depfile, *sources = sys.argv[1:]
    dirs = sorted({str(Path(s).parent) for s in sources})
    entry = ["-Wl,-e,unsock_tool_entry"] if platform.machine() in ("x86_64", "aarch64") else []
    deps: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "include").mkdir()
        kernel_headers(work / "include")
        objects = []
        for i, source in enumerate(sources):
            obj, dep = work / f"{i}.o", work / f"{i}.d"
            cmd = [cc, *CFLAGS, *(f"-I{d}" for d in dirs), "-isystem", str(work / "include"), "-MMD", "-MF", str(dep),
                   "-c", source, "-o", str(obj)]
            if subprocess.run(cmd, check=False).returncode != 0:
                sys.exit(1)
            objects.append(str(obj))
            deps.update(dep.read_text().replace("\\\n", " ").split(":", 1)[1].split())
        if subprocess.run([cc, *LDFLAGS, *entry, "-o", output, *objects], check=False).returncode != 0:
            sys.exit(1)
    Path(depfile).write_text(f"{output}: " + " ".join(sorted(d for d in deps if not d.startswith(tmp))) + "\n")


if __name__ == "__main__":
    main()
