"""``unsock doctor``: what unsock needs on this system, each found or not, with the fix.

Every check gives one :class:`Check`: ``ok``, ``missing`` (a kernel feature or file is not
there), ``problem`` (it is there but unusable), or ``note`` (information, or something missing
that what was asked for does not need). :func:`healthy` is true when nothing needed is missing.
The kernel is probed with real system calls where that is safe; where it is not, its version
says. ``/proc`` (and so ``/proc/sys``) is a parameter, for tests of what the real one cannot be
made to say.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import pwd
import re
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .config import parse_dir
from .engines.choose import choose, program_libc, resolve
from .environment import default_dir_path, inherited_rules
from .errors import UnsockError
from .library import library_path, supervisor_path
from .rules import TipcAction, VsockAction

Status = Literal["ok", "note", "missing", "problem"]

#: System call numbers (pidfd_open and pidfd_getfd are the same on every architecture).
_SECCOMP_NR = {"x86_64": 317, "aarch64": 277}
_PIDFD_OPEN, _PIDFD_GETFD = 434, 438
_SECCOMP_GET_NOTIF_SIZES = 3


@dataclass(frozen=True)
class Check:
    status: Status
    what: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.status}: {self.what}" + (f": {self.fix}" if self.fix else "")


def _need(needed: bool, status: Status, what: str, fix: str, unneeded: str = " (not needed here)") -> Check:
    """A failed check: as it is when needed, a note (saying so) otherwise."""
    return Check(status if needed else "note", what + ("" if needed else unneeded), fix)


def _open_socket(family: int, kind: int) -> None:
    socket.socket(family, kind).close()


@dataclass(frozen=True)
class Host:
    """Where the checks look: the /proc root, how a socket is opened, whether system calls may
    probe the kernel (off: its version alone says)."""

    proc: Path = Path("/proc")
    open_socket: Callable[[int, int], None] = _open_socket
    probe: bool = True

    def read(self, *parts: str) -> str | None:
        try:
            return self.proc.joinpath(*parts).read_text().strip()
        except OSError:
            return None

    def kernel(self) -> tuple[int, int] | None:
        release = self.read("sys", "kernel", "osrelease")
        m = re.match(r"(\d+)\.(\d+)", release or "")
        return (int(m[1]), int(m[2])) if m else None


@dataclass(frozen=True)
class Options:
    program: str | None = None
    engine: str = "auto"
    user: str | None = None
    directory: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    host: Host = field(default_factory=Host)


# -- the engines ---------------------------------------------------------------------------------


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _syscall(nr: int, *args: int | ctypes.c_void_p) -> int:
    """The system call's result, or minus its errno."""
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    result = int(libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) if isinstance(a, int) else a for a in args)))
    return -ctypes.get_errno() if result < 0 else result


def probe_notif_sizes() -> int:
    """0 if seccomp(SECCOMP_GET_NOTIF_SIZES) answers, else its errno (ENOSYS: unknown architecture)."""
    nr = _SECCOMP_NR.get(platform.machine())
    if nr is None:
        return errno.ENOSYS
    sizes = (ctypes.c_uint16 * 3)()
    result = _syscall(nr, _SECCOMP_GET_NOTIF_SIZES, 0, ctypes.cast(sizes, ctypes.c_void_p))
    return -result if result < 0 else 0


def probe_pidfd_getfd() -> int:
    """0 if pidfd_open and pidfd_getfd work on this process, else the errno."""
    pidfd = _syscall(_PIDFD_OPEN, os.getpid(), 0)
    if pidfd < 0:
        return -pidfd
    try:
        fd = _syscall(_PIDFD_GETFD, pidfd, pidfd, 0)
        if fd < 0:
            return -fd
        os.close(fd)
        return 0
    finally:
        os.close(pidfd)


def _version_check(host: Host, needed: bool, feature: str, since: tuple[int, int], why: str) -> Check:
    kernel = host.kernel()
    if kernel is None:
        return Check("note", f"{feature} (Linux {since[0]}.{since[1]}): the kernel version cannot be read")
    shown = f"{kernel[0]}.{kernel[1]}"
    if kernel >= since:
        return Check("ok", f"{feature} (Linux {since[0]}.{since[1]}; this is {shown})")
    return _need(needed, "missing", f"{feature} needs Linux {since[0]}.{since[1]}, this is {shown}: {why}",
                 "upgrade the kernel, or run programs with --engine preload")


def seccomp_checks(host: Host, needed: bool, uid: int | None = None) -> list[Check]:
    """The kernel features of the seccomp engine, the Yama restriction, and the supervisor."""
    checks: list[Check] = []
    actions = host.read("sys", "kernel", "seccomp", "actions_avail")
    if actions is not None and "user_notif" not in actions.split():
        checks.append(_need(needed, "missing", "seccomp user notification: the kernel's seccomp has no user_notif",
                            "use a kernel built with CONFIG_SECCOMP_FILTER (Linux 5.0 or later)"))
    elif host.probe and platform.machine() in _SECCOMP_NR:
        err = probe_notif_sizes()
        if err == 0:
            checks.append(Check("ok", "seccomp user notification (SECCOMP_GET_NOTIF_SIZES answers)"))
        else:
            checks.append(_need(needed, "missing", f"seccomp user notification: SECCOMP_GET_NOTIF_SIZES fails "
                                f"({os.strerror(err)})", "use Linux 5.0 or later, or allow seccomp in the container"))
    elif actions is not None:
        checks.append(Check("ok", "seccomp user notification (user_notif in actions_avail)"))
    else:
        checks.append(_version_check(host, needed, "seccomp user notification", (5, 0), "no supervisor can run"))
    if host.probe:
        err = probe_pidfd_getfd()
        if err == 0:
            checks.append(Check("ok", "pidfd_getfd (works on this process)"))
        else:
            checks.append(_need(needed, "missing", f"pidfd_getfd (Linux 5.6) fails: {os.strerror(err)}",
                                "upgrade the kernel, or allow pidfd_open and pidfd_getfd in the container's "
                                "seccomp profile"))
    else:
        checks.append(_version_check(host, needed, "pidfd_getfd", (5, 6), "the supervisor cannot reach sockets"))
    checks.append(_version_check(host, needed, "SECCOMP_IOCTL_NOTIF_ADDFD", (5, 9),
                                 "the supervisor cannot install sockets"))
    checks.append(_version_check(host, needed, "SECCOMP_ADDFD_FLAG_SEND", (5, 14),
                                 "the supervisor cannot answer accept"))
    killable = _version_check(host, False, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", (5, 19), "")
    if killable.status != "ok":
        killable = Check("note", killable.what.removesuffix(" (not needed here)").removesuffix(": ")
                         + ": signals can interrupt converted calls (the supervisor does without it)",
                         "Linux 5.19 or later is recommended")
    checks.append(killable)
    checks.append(yama_check(host, needed, uid))
    if host.probe:
        checks.append(supervisor_check(needed))
    return checks


def yama_check(host: Host, needed: bool, uid: int | None = None) -> Check:
    """Yama's ptrace_scope: the supervisor needs ptrace access to its program (pidfd_getfd,
    process_vm_readv): scope 1 lets a parent have it, 2 only root, 3 nobody."""
    uid = os.getuid() if uid is None else uid
    scope = host.read("sys", "kernel", "yama", "ptrace_scope")
    if scope is None:
        return Check("ok", "ptrace: no Yama restriction")
    fix = "allow it with 'sysctl kernel.yama.ptrace_scope=1' (a parent may trace its children)"
    if scope in ("0", "1") or (scope == "2" and uid == 0):
        return Check("ok", f"ptrace: Yama ptrace_scope is {scope}, the supervisor may reach its program")
    if scope == "2":
        return _need(needed, "problem", "ptrace: Yama ptrace_scope is 2 (root only): the seccomp engine cannot "
                     "reach its program for this user", f"{fix}, or run as root")
    return _need(needed, "problem", f"ptrace: Yama ptrace_scope is {scope} (no ptrace at all): the seccomp engine "
                 "cannot run", f"{fix}; scope 3 can only be lowered by a reboot")


def supervisor_check(needed: bool) -> Check:
    """The supervisor's own --check: a filter with a listener and ADDFD, for real."""
    try:
        path = supervisor_path()
    except UnsockError as e:
        return _need(needed, "missing", "the seccomp supervisor", str(e))
    try:
        p = subprocess.run([str(path), "--check"], capture_output=True, text=True, timeout=30, check=False)
    except OSError as e:
        return _need(needed, "problem", f"the supervisor {path} cannot be started: {e.strerror}",
                     "reinstall unsock with pip")
    if p.returncode == 0:
        return Check("ok", f"seccomp engine: {path} --check passes")
    lines = [ln.removeprefix("unsock: ") for ln in p.stderr.splitlines() if ln.strip()]
    return _need(needed, "problem", f"seccomp engine: {lines[-1] if lines else f'--check exits {p.returncode}'}",
                 "use --engine preload for dynamically linked programs")


def shim_checks(needed: bool) -> list[Check]:
    """libunsock.so present, and preloaded by the dynamic loader without complaint."""
    try:
        lib = library_path()
    except UnsockError as e:
        return [_need(needed, "missing", "the shim", str(e))]
    true = resolve("true", {"PATH": os.defpath})
    if true is None:
        return [Check("ok", f"the shim {lib} is there (no 'true' program to preload it into)")]
    env = {"PATH": os.defpath, "LD_PRELOAD": str(lib), "UNSOCK_DIR": tempfile.gettempdir()}
    p = subprocess.run([true], env=env, capture_output=True, text=True, timeout=30, check=False)
    if p.returncode != 0 or "preload" in p.stderr:
        said = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"status {p.returncode}"
        return [_need(needed, "problem", f"the shim {lib} does not load: {said}", "reinstall unsock with pip")]
    return [Check("ok", f"the shim {lib} loads")]


# -- networks ------------------------------------------------------------------------------------

_AF_VSOCK, _AF_TIPC = 40, 30
_FAMILIES = (
    ("AF_VSOCK", _AF_VSOCK, socket.SOCK_STREAM, "vsock", "vsock= rules", VsockAction),
    ("AF_TIPC", _AF_TIPC, socket.SOCK_RDM, "tipc", "tipc= rules", TipcAction),
)


def family_checks(host: Host, env: Mapping[str, str]) -> list[Check]:
    """Whether the kernel has AF_VSOCK and AF_TIPC; needed when the environment's rules use them."""
    try:
        rules = inherited_rules(env) or []
    except UnsockError:
        rules = []
    checks = []
    for name, family, kind, module, users, action in _FAMILIES:
        needed = any(isinstance(r.action, action) for r in rules)
        try:
            host.open_socket(family, kind)
        except OSError as e:
            if e.errno in (errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT):
                checks.append(_need(needed, "missing", f"{name}: this kernel has no {module} support",
                                    f"load it with 'modprobe {module}' (on the host, for a container)",
                                    f" (only {users} need it)"))
            else:
                checks.append(_need(needed, "problem", f"{name}: socket() fails: {e.strerror}",
                                    "allow the family in the container's or service's restrictions"))
            continue
        checks.append(Check("ok", f"{name} is available"))
    return checks


# -- the program ---------------------------------------------------------------------------------


def engine_checks(program: str, engine: str, env: Mapping[str, str], uid: int) -> tuple[list[Check], set[str]]:
    """Which engine runs program and why, and the engines it needs."""
    path = resolve(program, env)
    if path is None:
        return [Check("problem", f"{program}: no such program", "check the name or give its path")], set()
    checks = []
    st = os.stat(path)
    if st.st_mode & (stat.S_ISUID | stat.S_ISGID) and uid != 0:
        checks.append(Check("problem", f"{path} is setuid or setgid: the loader ignores LD_PRELOAD for it "
                            "(AT_SECURE) and the seccomp engine's no_new_privs takes its privileges away",
                            "run it as root, or without the setuid bit"))
    if engine == "auto":
        choice = choose(program, env)
        checks.append(Check("ok", f"engine: auto picks {choice.engine}: {choice.why}"))
        return checks, {choice.engine}
    picked = choose(program, env)
    if engine == "preload" and picked.engine == "seccomp":
        checks.append(Check("problem", f"engine preload cannot convert {path}: {picked.why}",
                            "use --engine auto or --engine seccomp"))
        return checks, {"preload"}
    checks.append(Check("ok", f"engine: {engine}, as asked for"))
    if engine == "preload":
        try:
            library_path(program_libc(program, env))
        except UnsockError as e:
            checks.append(Check("missing", "the shim for its C library", str(e)))
    return checks, {engine}


# -- the socket directory and the user -----------------------------------------------------------


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gids: frozenset[int]

    @classmethod
    def named(cls, name: str) -> User:
        pw = pwd.getpwnam(name)
        return cls(name, pw.pw_uid, frozenset(os.getgrouplist(name, pw.pw_gid)))

    @classmethod
    def current(cls) -> User:
        uid = os.getuid()
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = str(uid)
        return cls(name, uid, frozenset([os.getgid(), *os.getgroups()]))

    def may(self, st: os.stat_result, bits: int) -> bool:
        """Whether this user has the access bits (4 r, 2 w, 1 x) on a file of stat st."""
        if self.uid == 0:
            return not (bits & 1) or stat.S_ISDIR(st.st_mode) or bool(st.st_mode & 0o111)
        shift = 6 if st.st_uid == self.uid else 3 if st.st_gid in self.gids else 0
        return (st.st_mode >> shift) & bits == bits


def unreachable(user: User, path: Path, bits: int) -> str | None:
    """Why user cannot reach path with the access bits (each directory on the way searchable,
    and so on the way to what a symbolic link points to), or None."""
    real = Path(os.path.realpath(path))
    if real != path:
        why = unreachable(user, real, bits)
        if why is not None:
            return why
    parts = path.parts
    for i in range(1, len(parts)):
        d = Path(*parts[:i])
        try:
            st = os.stat(d)
        except OSError as e:
            return f"{d}: {e.strerror}"
        if not user.may(st, 1):
            mode, owner = stat.S_IMODE(st.st_mode), _owner(st.st_uid)
            return f"{d} (mode {mode:04o}, owner {owner}) is not searchable by {user.name}"
    try:
        st = os.stat(path)
    except OSError as e:
        return f"{path}: {e.strerror}"
    if not user.may(st, bits):
        what = {4: "readable", 5: "readable and executable", 3: "writable"}.get(bits, "usable")
        return f"{path} (mode {stat.S_IMODE(st.st_mode):04o}) is not {what} by {user.name}"
    return None


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def unsock_paths() -> list[tuple[str, Path, int]]:
    """What running unsock needs: (what, path, access bits)."""
    found: list[tuple[str, Path, int]] = [("the Python interpreter", Path(sys.executable), 5)]
    found.append(("the unsock package", Path(__file__).resolve().parent / "__init__.py", 4))
    for what, get, bits in (("the shim", library_path, 4), ("the supervisor", supervisor_path, 5)):
        try:
            found.append((what, get(), bits))
        except UnsockError:
            continue
    return found


def user_checks(name: str) -> tuple[list[Check], User | None]:
    """Whether the user can run unsock: every directory on the way to the interpreter, the
    package, the shim and the supervisor searchable, each file readable (and executable)."""
    try:
        user = User.named(name)
    except KeyError:
        return [Check("problem", f"there is no user '{name}'", "give the name the service runs as")], None
    checks = []
    for what, path, bits in unsock_paths():
        why = unreachable(user, path, bits)
        if why is None:
            checks.append(Check("ok", f"{user.name} can reach {what} {path}"))
        else:
            checks.append(Check("problem", f"{user.name} cannot reach {what} {path}: {why}",
                                "install unsock where every user can reach it (e.g. a virtual environment "
                                "under /opt), or grant access to the directory"))
    return checks, user


def directory_check(directory: str, user: User) -> Check:
    """The socket directory: short enough, and writable by user (or creatable there)."""
    try:
        directory = parse_dir(directory)
    except UnsockError as e:
        return Check("problem", f"socket directory: {str(e).split(': ')[0]}", str(e).split(": ", 1)[-1])
    path = Path(directory)
    target = path
    while not target.exists() and target != target.parent:
        target = target.parent
    try:
        st = os.stat(target)
    except OSError as e:
        return Check("problem", f"socket directory {directory}: {e.strerror}", "create it, or pass --dir")
    if not stat.S_ISDIR(st.st_mode):
        return Check("problem", f"socket directory {directory}: {target} is not a directory", "pass another --dir")
    why = unreachable(user, target, 3)
    if why is not None:
        verb = "use" if target == path else "create"
        fix = (f"chown {user.name} {directory}, or choose a directory {user.name} may write to" if target == path
               else f"create it for {user.name} ('install -d -o {user.name} {directory}'), or pass another --dir")
        return Check("problem", f"socket directory {directory}: {user.name} cannot {verb} it: {why}",
                     fix)
    if target != path:
        return Check("ok", f"socket directory {directory} does not exist yet; {user.name} may create it")
    return Check("ok", f"socket directory {directory} ({len(os.fsencode(directory))} bytes) is writable by {user.name}")


def _default_directory(env: Mapping[str, str], user: User) -> str:
    """Where unsock run puts sockets without --dir (not created here): UNSOCK_DIR, else the
    private per-user directory (in /tmp for another user, whose XDG_RUNTIME_DIR is not known)."""
    return env.get("UNSOCK_DIR") or default_dir_path(env, user.uid)


# -- all of it -----------------------------------------------------------------------------------


def run_checks(options: Options) -> list[Check]:
    """Every check, in the order shown."""
    checks: list[Check] = []
    user = User.current()
    if options.user is not None:
        found, named = user_checks(options.user)
        checks += found
        user = named or user
    engines = {"seccomp" if options.engine == "seccomp" else "preload"}
    if options.program is not None:
        found, engines = engine_checks(options.program, options.engine, options.env, user.uid)
        checks += found
    checks += shim_checks("preload" in engines)
    checks += seccomp_checks(options.host, "seccomp" in engines, user.uid)
    checks += family_checks(options.host, options.env)
    checks.append(directory_check(options.directory or _default_directory(options.env, user), user))
    return checks


def healthy(checks: list[Check]) -> bool:
    return all(c.status in ("ok", "note") for c in checks)


def report(checks: list[Check]) -> str:
    lines = [c.line() for c in checks]
    bad = sum(c.status not in ("ok", "note") for c in checks)
    lines.append("everything needed is there" if not bad else f"{bad} needed thing{'s' if bad != 1 else ''} "
                 "missing or broken")
    return "\n".join(lines) + "\n"
