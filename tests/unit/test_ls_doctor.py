"""`unsock ls` and `unsock doctor` on a fake /proc, for what the real one cannot be made to
show: sockets of every kind side by side, an old kernel, seccomp without user notification,
Yama's scopes, a missing address family. (The real ones: tests/integration/test_ls.py and
test_doctor.py.)"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from unsock import doctor, ls
from unsock.rules import compile_rules, parse_rule

HEAD = "Num       RefCount Protocol Flags    Type St Inode Path\n"


def unix_line(inode: int, path: str, *, kind: int = 1, state: int = 1, listening: bool = False) -> str:
    flags = "00010000" if listening else "00000000"
    return f"0000000000000000: 00000002 00000000 {flags} {kind:04X} {state:02X} {inode} {path}\n"


def fake_proc(root: Path, table: list[str], processes: dict[int, tuple[int, list[str], list[int]]]) -> Path:
    """A /proc with net/unix and, per pid, (uid, argv, socket inodes)."""
    proc = root / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "unix").write_text(HEAD + "".join(table))
    for pid, (uid, argv, inodes) in processes.items():
        fd = proc / str(pid) / "fd"
        fd.mkdir(parents=True)
        for n, inode in enumerate(inodes, 3):
            os.symlink(f"socket:[{inode}]", fd / str(n))
        os.symlink("/dev/null", fd / "0")
        (proc / str(pid) / "status").write_text(f"Name:\tx\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n")
        (proc / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    return proc


def test_listing_from_proc(tmp_path: Path) -> None:
    d = tmp_path / "socks"
    d.mkdir()
    (d / "8080.sock").write_text("")
    os.chmod(d / "8080.sock", 0o660)
    table = [
        unix_line(111, f"{d}/8080.sock", listening=True),
        unix_line(112, f"{d}/8080.sock", state=3),  # accepted
        unix_line(113, f"{d}/8080.sock", state=3),
        unix_line(114, "@unsock:c1", state=3),  # a converted client's name: not a listing
        unix_line(115, "@unsock:c2", kind=2),
        unix_line(222, f"{d}/53.udp", kind=2),
        unix_line(333, "/run/other.sock", listening=True),
        unix_line(444, f"{d}/notaport.sock", listening=True),
        unix_line(555, f"{d}/99.sock"),  # bound, never listened
    ]
    proc = fake_proc(tmp_path, table, {
        100: (0, ["server", "-c", "a\nb"], [111]), 101: (0, ["server", "worker"], [111, 112]),
        200: (54321, ["dns"], [222]),
    })
    found = ls.list_sockets(ls.default_namings(), proc=proc)
    assert [(x.path, x.type, x.port, x.connections) for x in found] == [
        (f"{d}/53.udp", "dgram", 53, None), (f"{d}/8080.sock", "stream", 8080, 2)]
    dgram, stream = found
    assert [(h.pid, h.uid, h.command) for h in stream.holders] == [
        (100, 0, "server -c a\\nb"), (101, 0, "server worker")]
    assert (stream.mode, stream.uid, stream.stands_for) == (0o660, os.getuid(), "port 8080")
    assert (dgram.mode, dgram.uid, dgram.stands_for) == (None, 54321, "port 53")  # no file: the holder's user
    assert [x.path for x in ls.list_sockets(ls.default_namings(), uid=54321, proc=proc)] == [f"{d}/53.udp"]
    assert ls.list_sockets(ls.default_namings("/elsewhere"), proc=proc) == []

    table_text = ls.format_table(found).splitlines()
    assert table_text[0].split() == list(ls.HEADER)
    assert table_text[1].split()[:7] == [f"{d}/53.udp", "dgram", "port", "53", "gone", "54321", "-"]
    assert table_text[2].split() == [f"{d}/8080.sock", "stream", "port", "8080", "0660", "root", "2", "100",
                                     "server", "-c", "a\\nb", "-"]
    assert table_text[3].split() == ["101", "server", "worker"]
    assert ls.format_table([]) == "no converted sockets found\n"
    assert stream.to_json()["processes"][0]["argv"] == ["server", "-c", "a\nb"]


def test_listing_by_rules(tmp_path: Path) -> None:
    table = [
        unix_line(1, "/srv/127.0.0.1-tcp-80.sock", listening=True),
        unix_line(2, "/srv/::1-udp-53.sock", kind=2),
        unix_line(3, "@app-9000", listening=True),
        unix_line(4, "/srv/fixed.sock", listening=True),
        unix_line(5, "/srv/10.0.0.1-udp-80.sock", listening=True),  # %t of a stream socket is tcp
    ]
    proc = fake_proc(tmp_path, table, {})
    rules = [parse_rule("out,path=/srv/out-%p.sock"), parse_rule("in,path=/srv/%a-%t-%p.sock"),
             parse_rule("abstract=app-%p"), parse_rule("in,addr=127.0.0.1,port=8443,path=/srv/fixed.sock")]
    found = {x.path: x for x in ls.list_sockets(ls.rule_namings(rules), proc=proc)}
    assert {p: (x.stands_for, x.rule) for p, x in found.items()} == {
        "/srv/127.0.0.1-tcp-80.sock": ("127.0.0.1:80", 2), "/srv/::1-udp-53.sock": ("[::1]:53", 2),
        "@app-9000": ("port 9000", 3), "/srv/fixed.sock": ("127.0.0.1:8443", 4)}
    assert found["@app-9000"].rule_text == "abstract=app-%p"
    assert found["@app-9000"].holders == () and found["@app-9000"].uid is None
    assert ls.list_sockets(ls.rule_namings(rules), uid=0, proc=proc) == []  # nobody's known to be root's

    env = {"UNSOCK_RULES": compile_rules(rules)}
    assert {x.path for x in ls.list_sockets(ls.environment_namings(env), proc=proc)} == set(found)
    by_dir = ls.environment_namings({"UNSOCK_DIR": "/srv", "UNSOCK_ADDR": "127.0.0.1/32"})
    udp, tcp = "dgram,addr=127.0.0.1/32,path=/srv/%p.udp", "addr=127.0.0.1/32,path=/srv/%p.sock"
    assert [n.rule_text for n in by_dir] == [udp, tcp, tcp]  # the second rule: stream and dgram


def fake_sys(tmp_path: Path, release: str = "6.1.0", actions: str | None = "kill_process errno user_notif allow",
             yama: str | None = None) -> doctor.Host:
    kernel = tmp_path / "proc" / "sys" / "kernel"
    kernel.mkdir(parents=True)
    (kernel / "osrelease").write_text(release + "\n")
    if actions is not None:
        (kernel / "seccomp").mkdir()
        (kernel / "seccomp" / "actions_avail").write_text(actions + "\n")
    if yama is not None:
        (kernel / "yama").mkdir()
        (kernel / "yama" / "ptrace_scope").write_text(yama + "\n")
    return doctor.Host(proc=tmp_path / "proc", probe=False)


def lines(checks: list[doctor.Check]) -> list[str]:
    return [c.line() for c in checks]


def test_old_kernel(tmp_path: Path) -> None:
    checks = doctor.seccomp_checks(fake_sys(tmp_path, "5.4.0-150-generic"), needed=True)
    assert lines(checks) == [
        "ok: seccomp user notification (user_notif in actions_avail)",
        "missing: pidfd_getfd needs Linux 5.6, this is 5.4: the supervisor cannot reach sockets: upgrade the kernel, "
        "or run programs with --engine preload",
        "missing: SECCOMP_IOCTL_NOTIF_ADDFD needs Linux 5.9, this is 5.4: the supervisor cannot install sockets: "
        "upgrade the kernel, or run programs with --engine preload",
        "missing: SECCOMP_ADDFD_FLAG_SEND needs Linux 5.14, this is 5.4: the supervisor cannot answer accept: "
        "upgrade the kernel, or run programs with --engine preload",
        "note: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs Linux 5.19, this is 5.4: signals can interrupt "
        "converted calls (the supervisor does without it): Linux 5.19 or later is recommended",
        "ok: ptrace: no Yama restriction",
    ]
    assert not doctor.healthy(checks)
    unneeded = doctor.seccomp_checks(fake_sys(tmp_path / "b", "5.4.0"), needed=False)
    assert doctor.healthy(unneeded)
    assert unneeded[1].line().startswith("note: pidfd_getfd needs Linux 5.6, this is 5.4: the supervisor cannot "
                                         "reach sockets (not needed here): ")


def test_seccomp_without_user_notification(tmp_path: Path) -> None:
    checks = doctor.seccomp_checks(fake_sys(tmp_path, "5.10.0", actions="kill_process errno allow"), needed=True)
    assert checks[0].line() == ("missing: seccomp user notification: the kernel's seccomp has no user_notif: use a "
                                "kernel built with CONFIG_SECCOMP_FILTER (Linux 5.0 or later)")
    assert [c.status for c in checks[1:4]] == ["ok", "ok", "missing"]  # ADDFD_FLAG_SEND is 5.14


@pytest.mark.parametrize(("scope", "uid", "status"), [
    ("0", 1000, "ok"), ("1", 1000, "ok"), ("2", 0, "ok"), ("2", 1000, "problem"), ("3", 0, "problem")])
def test_yama(tmp_path: Path, scope: str, uid: int, status: str) -> None:
    check = doctor.yama_check(fake_sys(tmp_path, yama=scope), needed=True, uid=uid)
    assert check.status == status
    if status == "problem":
        assert "allow it with 'sysctl kernel.yama.ptrace_scope=1'" in check.fix
    assert doctor.yama_check(fake_sys(tmp_path / "n", yama=scope), needed=False, uid=uid).status in ("ok", "note")


def test_missing_family(tmp_path: Path) -> None:
    def no_vsock(family: int, kind: int) -> None:
        if family == 40:
            raise OSError(errno.EAFNOSUPPORT, os.strerror(errno.EAFNOSUPPORT))

    host = doctor.Host(proc=tmp_path, open_socket=no_vsock, probe=False)
    assert lines(doctor.family_checks(host, {})) == [
        "note: AF_VSOCK: this kernel has no vsock support (only vsock= rules need it): load it with "
        "'modprobe vsock' (on the host, for a container)",
        "ok: AF_TIPC is available",
    ]
    env = {"UNSOCK_RULES": compile_rules([parse_rule("in,port=80,vsock=2:5000")])}
    checks = doctor.family_checks(host, env)
    assert checks[0].status == "missing" and not doctor.healthy(checks)


def test_report() -> None:
    fine = [doctor.Check("ok", "a"), doctor.Check("note", "b", "c")]
    assert doctor.report(fine) == "ok: a\nnote: b: c\neverything needed is there\n"
    bad = [*fine, doctor.Check("missing", "d", "e"), doctor.Check("problem", "f", "g")]
    assert doctor.report(bad).endswith("missing: d: e\nproblem: f: g\n2 needed things missing or broken\n")
