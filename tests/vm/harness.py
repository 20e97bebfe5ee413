"""A small QEMU guest for tests that this machine's kernel cannot run.

The host kernel has no AF_VSOCK loopback transport and no AF_TIPC, so such tests
run inside a throw-away VM booting a stock Debian kernel under TCG (see
/work/shared/vm-harness.md for the measurements behind every choice here):

* ``Guest.prepare()`` (once per session) resolves the package that
  ``linux-image-amd64`` depends on, downloads it with ``apt-get download``,
  unpacks it with ``dpkg-deb -x``, runs ``depmod -b``, extracts the uncompressed
  ``vmlinux`` from the bzImage's xz stream and keeps only that and the needed
  modules in a cache directory keyed by kernel version (``build/vm/<version>/``,
  or ``$UNSOCK_VM_CACHE/<version>/``). It then writes a tiny gzip'd newc
  initramfs holding static busybox, ``/init`` and those modules.
* ``Guest.run(command, timeout)`` boots the guest once for one command. The guest
  loads the modules (9p/virtio, vsock loopback, TIPC), mounts the host's ``/``
  read-only over virtio-9p with a tmpfs overlay on top, mounts a per-run host
  directory read-write at the same path, brings ``lo`` up, chroots into the
  overlay and runs the command there: the host's programs, the project's
  ``.venv`` and its build are visible at the same paths. The command's stdout,
  stderr and exit status come back through the per-run directory.

Each boot costs about 7 s on two cores, so batch checks into one command (a
script) per boot. The guest has loopback networking only.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import io
import lzma
import os
import re
import shlex
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "GUEST_MODULES",
    "Guest",
    "GuestError",
    "GuestTimeout",
    "HarnessUnavailable",
    "Result",
    "default_cache_dir",
]

REPO = Path(__file__).resolve().parents[2]

QEMU = "qemu-system-x86_64"
META_PACKAGE = "linux-image-amd64"

# Modules the guest loads; their dependencies (from modules.dep) are added and
# everything is inserted in dependency order. Built-in ones are skipped.
GUEST_MODULES: tuple[str, ...] = (
    # virtio-9p for the host's / and the per-run directory, overlay for the writable root
    "virtio_pci",
    "9pnet_virtio",
    "9p",
    "overlay",
    # AF_VSOCK with the loopback transport (CID 1)
    "vsock",
    "vmw_vsock_virtio_transport_common",
    "vsock_loopback",
    # AF_TIPC (node-local; needs no bearer)
    "udp_tunnel",
    "ip6_udp_tunnel",
    "tipc",
)

GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Files of one run inside the shared directory.
CONTROL = ".unsock-vm"

INIT_SCRIPT = r"""#!/bin/busybox sh
# unsock test guest: load modules, build the root, run one command, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
SHARE="$1"
CTL="/newroot$SHARE/__CONTROL__"

fail() {
    echo "unsock-vm: init: $*" > /dev/console
    [ -d "$CTL" ] && echo "$*" > "$CTL/init-error"
    sync
    reboot -f
    sleep 60
}

[ -n "$SHARE" ] || fail "no shared directory given on the kernel command line"
while read -r m; do
    insmod "/modules/$m.ko" || fail "insmod $m failed"
done < /modules/order

mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /host \
    || fail "cannot mount the host's / over 9p"
mount -t tmpfs -o mode=0755 tmpfs /ovl || fail "cannot mount the overlay's tmpfs"
mkdir -p /ovl/upper /ovl/work
mount -t overlay -o lowerdir=/host,upperdir=/ovl/upper,workdir=/ovl/work overlay /newroot \
    || fail "cannot mount the overlay"
mkdir -p "/newroot$SHARE"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 share "/newroot$SHARE" \
    || fail "cannot mount the shared directory $SHARE"
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
mount -t tmpfs -o mode=0755 tmpfs /newroot/run
ip link set lo up || fail "cannot bring lo up"

env -i PATH="__PATH__" HOME=/root TERM=dumb LANG=C.UTF-8 UNSOCK_VM_DIR="$SHARE" \
    chroot /newroot /bin/sh "$SHARE/__CONTROL__/run.sh" \
    < /dev/null > "$CTL/stdout" 2> "$CTL/stderr"
echo $? > "$CTL/rc"
sync
reboot -f
sleep 60
"""


class HarnessUnavailable(RuntimeError):
    """Something the guest needs is missing on the host; the message says what to install."""


class GuestError(RuntimeError):
    """The guest did not run the command to completion (boot failure, crash)."""


class GuestTimeout(GuestError, TimeoutError):
    """The guest did not finish within the timeout; qemu was killed."""


@dataclass(frozen=True)
class Result:
    """What one guest run produced."""

    returncode: int
    stdout: str
    stderr: str
    console: str = ""  # the guest's serial console (kernel and init messages)
    seconds: float = 0.0  # wall time of the boot, command included


def default_cache_dir() -> Path:
    """$UNSOCK_VM_CACHE, or build/vm/ in the repository (gitignored)."""
    env = os.environ.get("UNSOCK_VM_CACHE")
    return Path(env) if env else REPO / "build" / "vm"


def _which(name: str, install: str) -> str:
    path = shutil.which(name) or next(
        (str(p) for p in (Path(d) / name for d in ("/usr/sbin", "/sbin")) if p.exists()), None
    )
    if path is None:
        raise HarnessUnavailable(f"'{name}' not found: install {install}")
    return path


def _is_static_elf(path: Path) -> bool:
    """True for an ELF executable without a PT_INTERP (dynamic loader) program header."""
    with path.open("rb") as f:
        ident = f.read(64)
        if len(ident) < 64 or ident[:4] != b"\x7fELF" or ident[4] != 2:  # ELFCLASS64 only
            return False
        endian = "<" if ident[5] == 1 else ">"
        (phoff,) = struct.unpack_from(endian + "Q", ident, 32)
        phentsize, phnum = struct.unpack_from(endian + "HH", ident, 54)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(struct.unpack_from(endian + "I", table, i * phentsize)[0] != 3 for i in range(phnum))


def _static_busybox() -> Path:
    for candidate in (shutil.which("busybox"), "/bin/busybox", "/usr/bin/busybox"):
        if candidate and Path(candidate).exists() and _is_static_elf(Path(candidate)):
            return Path(candidate).resolve()
    raise HarnessUnavailable("no statically linked busybox found: install busybox-static")


def _run_tool(args: Sequence[str], what: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise HarnessUnavailable(f"{what} failed ({shlex.join(args)}): {detail[-1] if detail else proc.returncode}")
    return proc.stdout


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def resolve_kernel_package() -> str | None:
    """The package linux-image-amd64 currently depends on (e.g. linux-image-6.1.0-56-amd64),
    or None when apt knows no such package."""
    apt_cache = shutil.which("apt-cache")
    if apt_cache is None:
        return None
    proc = subprocess.run([apt_cache, "depends", META_PACKAGE], capture_output=True, text=True, check=False)
    found = re.findall(r"^\s*Depends:\s*(linux-image-\S+)", proc.stdout, re.MULTILINE)
    return found[0] if proc.returncode == 0 and found else None


def extract_vmlinux(bzimage: bytes) -> bytes:
    """The uncompressed ELF kernel inside a bzImage whose payload is xz-compressed."""
    magic = b"\xfd7zXZ\x00"
    start = bzimage.find(magic)
    while start >= 0:
        try:
            data = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(bzimage[start:])
        except lzma.LZMAError:
            data = b""
        if data.startswith(b"\x7fELF"):
            return data
        start = bzimage.find(magic, start + 1)
    raise GuestError("no xz-compressed ELF kernel found in the bzImage")


def _module_name(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    name = re.sub(r"\.ko(\.(xz|gz|zst))?$", "", name)
    return name.replace("-", "_")


def module_load_order(moddir: Path, wanted: Sequence[str]) -> list[tuple[str, Path]]:
    """(name, file) of the wanted modules and their dependencies, dependencies first.
    Built-in modules are left out; a module that is neither there nor built in is an error."""
    deps: dict[str, tuple[str, list[str]]] = {}
    for line in (moddir / "modules.dep").read_text().splitlines():
        target, _, rest = line.partition(":")
        deps[_module_name(target)] = (target, [_module_name(d) for d in rest.split()])
    builtin_file = moddir / "modules.builtin"
    builtin = {_module_name(line) for line in builtin_file.read_text().split()} if builtin_file.exists() else set()

    order: list[tuple[str, Path]] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        if name not in deps:
            if name in builtin:
                return
            raise GuestError(f"kernel module {name} is neither in modules.dep nor built in ({moddir})")
        target, needs = deps[name]
        for dep in needs:
            visit(dep)
        path = Path(target) if target.startswith("/") else moddir / target
        order.append((name, path))

    for name in wanted:
        visit(name)
    return order


def _read_module(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".ko.xz"):
        return lzma.decompress(data)
    if path.name.endswith(".ko.gz"):
        return gzip.decompress(data)
    if path.name.endswith(".ko"):
        return data
    raise GuestError(f"cannot decompress kernel module {path} (busybox insmod needs a plain .ko)")


class _Cpio:
    """A gzip'd newc cpio archive written in memory (no device nodes need root here)."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        encoded = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
        self.ino += 1
        self.buf.write(b"070701" + b"".join(b"%08X" % v for v in fields) + encoded)
        self.buf.write(b"\0" * (-(110 + len(encoded)) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * (-len(data) % 4))

    def directory(self, name: str) -> None:
        self._entry(name, 0o040755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, 0o100000 | mode, data)

    def chardev(self, name: str, major: int, minor: int) -> None:
        self._entry(name, 0o020600, rdev=(major, minor))

    def gzipped(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return gzip.compress(self.buf.getvalue(), compresslevel=6, mtime=0)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Guest:
    """A prepared kernel + initramfs; ``run`` boots it once per command."""

    def __init__(self, kernel: Path, initramfs: Path, version: str, qemu: str) -> None:
        self.kernel = kernel
        self.initramfs = initramfs
        self.version = version
        self.qemu = qemu

    # ---- preparation -------------------------------------------------------------------------

    @classmethod
    def prepare(cls, cache_dir: Path | None = None, modules: Sequence[str] = GUEST_MODULES) -> Guest:
        """Find (or download and unpack) the kernel, and build the initramfs; both are cached.
        Raises HarnessUnavailable with one line saying what to install when something is missing."""
        cache = (cache_dir or default_cache_dir()).resolve()
        qemu = _which(QEMU, "qemu-system-x86 (apt-get install --no-install-recommends qemu-system-x86)")
        busybox = _static_busybox()
        with _locked(cache / ".lock"):
            version = cls._kernel(cache, modules)
            kdir = cache / version
            order = (kdir / "modules" / "order").read_text().split()
            init = INIT_SCRIPT.replace("__CONTROL__", CONTROL).replace("__PATH__", GUEST_PATH)
            key = hashlib.sha256()
            for part in (init.encode(), busybox.read_bytes(), "\n".join(order).encode()):
                key.update(hashlib.sha256(part).digest())
            initramfs = kdir / f"initramfs-{key.hexdigest()[:16]}.cpio.gz"
            if not initramfs.exists():
                for old in kdir.glob("initramfs-*.cpio.gz"):
                    old.unlink()
                _write_atomically(initramfs, cls._initramfs(init, busybox, kdir / "modules", order))
        return cls(kdir / "vmlinux", initramfs, version, qemu)

    @staticmethod
    def _kernel(cache: Path, modules: Sequence[str]) -> str:
        """The kernel version whose vmlinux and modules are in the cache, fetching them if needed."""
        package = resolve_kernel_package()
        if package is None:
            cached = sorted(p.parent.name for p in cache.glob("*/complete"))
            if cached:
                return cached[-1]
            raise HarnessUnavailable(
                f"apt-cache knows no {META_PACKAGE} package to take the guest kernel from: run apt-get update"
            )
        version = package.removeprefix("linux-image-")
        kdir = cache / version
        stamp = kdir / "complete"
        if stamp.exists() and stamp.read_text().split() == sorted(modules):
            return version
        apt_get = _which("apt-get", "apt")
        dpkg_deb = _which("dpkg-deb", "dpkg")
        depmod = shutil.which("depmod") or next(
            (p for p in ("/usr/sbin/depmod", "/sbin/depmod") if Path(p).exists()), None
        )
        depmod_cmd = [depmod] if depmod else [str(_static_busybox()), "depmod"]
        with tempfile.TemporaryDirectory(prefix="unsock-vm-kernel-") as tmp_name:
            tmp = Path(tmp_name)
            _run_tool([apt_get, "download", package], f"downloading {package}", cwd=tmp)
            debs = list(tmp.glob("*.deb"))
            if len(debs) != 1:
                raise HarnessUnavailable(f"apt-get download {package} produced no single .deb in {tmp}")
            tree = tmp / "tree"
            _run_tool([dpkg_deb, "-x", str(debs[0]), str(tree)], f"unpacking {debs[0].name}")
            debs[0].unlink()
            _run_tool([*depmod_cmd, "-b", str(tree), version], "depmod (install kmod)")
            moddir = next(
                (
                    tree / d / "modules" / version
                    for d in ("lib", "usr/lib")
                    if (tree / d / "modules" / version / "modules.dep").exists()
                ),
                None,
            )
            bzimage = tree / "boot" / f"vmlinuz-{version}"
            if moddir is None or not bzimage.exists():
                raise GuestError(f"{package} has no boot/vmlinuz-{version} or modules.dep")

            staging = cache / f".{version}.{os.getpid()}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            (staging / "modules").mkdir(parents=True)
            (staging / "vmlinux").write_bytes(extract_vmlinux(bzimage.read_bytes()))
            order = module_load_order(moddir, modules)
            for name, path in order:
                (staging / "modules" / f"{name}.ko").write_bytes(_read_module(path))
            (staging / "modules" / "order").write_text("".join(f"{name}\n" for name, _ in order))
            (staging / "complete").write_text("\n".join(sorted(modules)) + "\n")
            shutil.rmtree(kdir, ignore_errors=True)
            staging.rename(kdir)
        for old in cache.glob("*/complete"):  # kernels linux-image-amd64 no longer points to
            if old.parent != kdir:
                shutil.rmtree(old.parent, ignore_errors=True)
        return version

    @staticmethod
    def _initramfs(init: str, busybox: Path, moddir: Path, order: Sequence[str]) -> bytes:
        cpio = _Cpio()
        for d in ("bin", "dev", "proc", "sys", "modules", "host", "ovl", "newroot"):
            cpio.directory(d)
        cpio.chardev("dev/console", 5, 1)
        cpio.chardev("dev/null", 1, 3)
        cpio.file("bin/busybox", busybox.read_bytes(), 0o755)
        cpio.file("init", init.encode(), 0o755)
        for name in order:
            cpio.file(f"modules/{name}.ko", (moddir / f"{name}.ko").read_bytes())
        cpio.file("modules/order", "".join(f"{n}\n" for n in order).encode())
        return cpio.gzipped()

    # ---- running -----------------------------------------------------------------------------

    def qemu_command(self, share: Path, console: Path, memory_mb: int = 1024, cpus: int = 2) -> list[str]:
        """The qemu command line booting the guest for the per-run directory share."""
        return [
            self.qemu, "-nodefaults", "-no-user-config", "-display", "none",
            "-machine", "q35", "-accel", "tcg", "-cpu", "max",
            "-m", str(memory_mb), "-smp", str(cpus), "-no-reboot",
            "-serial", f"file:{console}",
            "-kernel", str(self.kernel), "-initrd", str(self.initramfs),
            "-append", f"console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init -- {share}",
            "-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
            "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
            "-fsdev", f"local,id=share,path={share},security_model=none",
            "-device", "virtio-9p-pci,fsdev=share,mount_tag=share",
        ]  # fmt: skip

    def run(
        self,
        command: Sequence[str] | str,
        timeout: float = 120.0,
        *,
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        share: Path | None = None,
    ) -> Result:
        """Boot the guest once and run command in it, chrooted into an overlay of the host's /.

        command: an argument list (run with exec) or a shell script (run by the host's /bin/sh).
        timeout: seconds for the whole boot; qemu is killed after it and GuestTimeout raised.
        cwd: the guest command's working directory (default: this process's).
        env: variables added to the guest's minimal environment (PATH, HOME, LANG, TERM,
             UNSOCK_VM_DIR: the per-run directory, PYTHONDONTWRITEBYTECODE).
        share: an existing host directory to share read-write at the same path (default: a
             fresh temporary one, deleted afterwards); the guest sees it as $UNSOCK_VM_DIR.
        """
        script = command if isinstance(command, str) else "exec " + shlex.join(list(command))
        workdir = Path(cwd) if cwd is not None else Path.cwd()
        variables = {"PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
        with tempfile.TemporaryDirectory(prefix="unsock-vm-") as tmp_name:
            tmp = Path(tmp_name)
            shared = (share or tmp / "share").resolve()
            shared.mkdir(exist_ok=True)
            if re.search(r"\s", str(shared)):
                raise ValueError(f"the shared directory's path must not contain white space: {shared}")
            control = shared / CONTROL
            shutil.rmtree(control, ignore_errors=True)
            control.mkdir()
            try:
                exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in variables.items())
                (control / "run.sh").write_text(f"{exports}cd {shlex.quote(str(workdir))} || exit 125\n{script}\n")
                console = tmp / "console.log"
                return self._boot(self.qemu_command(shared, console), control, console, timeout)
            finally:
                shutil.rmtree(control, ignore_errors=True)

    @staticmethod
    def _boot(qemu: list[str], control: Path, console: Path, timeout: float) -> Result:
        def read(name: str) -> str:
            path = control / name
            return path.read_text(errors="replace") if path.exists() else ""

        def tail() -> str:
            text = console.read_text(errors="replace") if console.exists() else ""
            return "\n".join(text.splitlines()[-30:])

        started = time.monotonic()
        proc = subprocess.Popen(
            qemu, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            qemu_output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise GuestTimeout(
                f"guest did not finish within {timeout:g} s (qemu killed); "
                f"stdout so far: {read('stdout')[-2000:]!r}; console:\n{tail()}"
            ) from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        seconds = time.monotonic() - started
        rc = read("rc").strip()
        if proc.returncode != 0 or not rc.lstrip("-").isdigit():
            why = read("init-error").strip() or f"qemu exited with {proc.returncode}"
            raise GuestError(
                f"guest did not run the command: {why}; qemu said: {qemu_output.decode(errors='replace').strip()!r}; "
                f"console:\n{tail()}"
            )
        return Result(int(rc), read("stdout"), read("stderr"), console.read_text(errors="replace"), seconds)
