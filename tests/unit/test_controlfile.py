"""The control-file model: building, packing, reading, writing, every malformed case."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unsock.controlfile import (
    MAGIC,
    RECORD_SIZE,
    VMADDR_CID_ANY,
    ControlFile,
    ControlFileError,
    Parameter,
    TipcAddress,
    UnixAddress,
    VsockAddress,
    resolve_uds,
)
from unsock.errors import UnsockError


def test_sizes_and_layout() -> None:
    data = ControlFile.vsock(5678).pack()
    assert len(data) == RECORD_SIZE == 452
    assert int.from_bytes(data[0:8], "little") == MAGIC
    assert int.from_bytes(data[20:24], "little") == 16  # destLen = sizeof(struct sockaddr_vm)
    assert data[160:162] == (40).to_bytes(2, "little")  # AF_VSOCK
    assert int.from_bytes(data[164:168], "little") == 5678
    assert int.from_bytes(data[168:172], "little") == VMADDR_CID_ANY


def test_error_is_an_unsock_error() -> None:
    assert issubclass(ControlFileError, UnsockError)


@pytest.mark.parametrize(("cid", "expected"), [(-1, 0xFFFFFFFF), (2, 2), (1, 1), (42, 42)])
def test_vsock_cids(cid: int, expected: int) -> None:
    record = ControlFile.vsock(80, cid)
    assert isinstance(record.dest, VsockAddress) and record.dest.cid == expected
    assert ControlFile.unpack(record.pack()) == record


@pytest.mark.parametrize("addrtype", [1, 2, 3])
def test_tipc_every_addrtype(addrtype: int) -> None:
    record = ControlFile.tipc(128, 5, 9, addrtype=addrtype, scope=3)
    assert ControlFile.unpack(record.pack()) == record
    assert record.to_dict()["dest"]["addrtype"] == addrtype


def test_tipc_defaults_and_range_check() -> None:
    assert ControlFile.tipc(128, 5, addrtype=1).dest == TipcAddress(1, 2, 128, 5, 5)
    assert ControlFile.tipc(128, 5).dest == TipcAddress(2, 2, 128, 5, 0)
    with pytest.raises(ControlFileError, match=r"service range 9\.\.5 is empty"):
        ControlFile.tipc(128, 9, 5, addrtype=1)
    with pytest.raises(ControlFileError, match="scope 7 is unknown"):
        ControlFile.tipc(128, 9, scope=7)


def test_firecracker_record() -> None:
    record = ControlFile.firecracker("/run/fc.sock", 52)
    data = record.pack()
    assert int.from_bytes(data[8:16], "little") == 1
    assert int.from_bytes(data[16:20], "little") == 110  # sizeof(struct sockaddr_un)
    assert data[34 : 34 + len("/run/fc.sock")] == b"/run/fc.sock"
    assert ControlFile.unpack(data) == record
    assert record.kind == "firecracker"
    with pytest.raises(ControlFileError, match="at most 108 fit"):
        ControlFile.firecracker("/" + "x" * 108, 52)
    with pytest.raises(ControlFileError, match="definite VSOCK port"):
        ControlFile.firecracker("/run/fc.sock", -1)


def test_uds_of_108_bytes_fills_sun_path() -> None:
    path = "/" + "x" * 107
    record = ControlFile.firecracker(path, 1)
    assert ControlFile.unpack(record.pack()).proxy == UnixAddress(path)


@pytest.mark.parametrize(
    ("text", "encoding", "value", "optlen"),
    [
        ("SOL_SOCKET:SO_RCVTIMEO:1.5", "timeval", 1.5, 16),
        ("sol_socket:so_sndtimeo:3", "timeval", 3, 16),
        ("SOL_SOCKET:SO_RCVBUF:65536", "int32", 65536, 4),
        ("1:8:0x10", "int32", 16, 4),
        ("SOL_SOCKET:SO_MARK:-1", "int32", -1, 4),
        ("SOL_SOCKET:SO_MAX_PACING_RATE:10000000000", "int64", 10000000000, 8),
        ("SOL_SOCKET:SO_MAX_PACING_RATE:-3000000000", "int64", -3000000000, 8),
        ("SOL_TIPC:TIPC_IMPORTANCE:2", "int32", 2, 4),
        ("SOL_TIPC:TIPC_GROUP_JOIN:1000,1,2", "tipc_group_req", [1000, 1, 2, 0], 16),
        ("AF_VSOCK:SO_VM_SOCKETS_BUFFER_MAX_SIZE:1048576", "uint64", 1048576, 8),
        ("AF_VSOCK:SO_VM_SOCKETS_CONNECT_TIMEOUT:0.5", "timeval", 0.5, 16),
        ("271:130:5000", "int32", 5000, 4),
    ],
)
def test_parameter_encodings(text: str, encoding: str, value: object, optlen: int) -> None:
    p = Parameter.parse(text)
    assert p.decode() == (encoding, value, optlen)
    assert len(p.value) == 32


def test_timeval_bytes() -> None:
    p = Parameter.parse("SOL_SOCKET:SO_RCVTIMEO:1.5")
    assert p.value[:16] == (1).to_bytes(8, "little") + (500000).to_bytes(8, "little")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SO_RCVBUF:1", "is not LEVEL:OPTION:VALUE"),
        ("SOL_NOPE:SO_RCVBUF:1", "unknown level SOL_NOPE"),
        ("SOL_SOCKET:SO_NOPE:1", "unknown option SO_NOPE at level SOL_SOCKET"),
        ("0:8:1", "must both be non-zero"),
        ("SOL_SOCKET:0:1", "must both be non-zero"),
        ("SOL_SOCKET:SO_RCVBUF:big", "is not an integer"),
        ("SOL_SOCKET:SO_RCVBUF:3000000000", "is out of range"),
        ("SOL_SOCKET:SO_RCVTIMEO:-1", "is not a timeout"),
        ("SOL_SOCKET:SO_RCVTIMEO:0.0000001", "is not a timeout"),
        ("SOL_SOCKET:SO_RCVTIMEO:soon", "is not a number of seconds"),
        ("SOL_TIPC:TIPC_GROUP_JOIN:1", "is not a TIPC group"),
        ("AF_VSOCK:SO_VM_SOCKETS_BUFFER_MIN_SIZE:-1", "is out of range"),
    ],
)
def test_bad_parameters(text: str, message: str) -> None:
    with pytest.raises(ControlFileError, match=message) as e:
        Parameter.parse(text)
    assert "\n" not in str(e.value)


def test_at_most_four_parameters() -> None:
    params = tuple(Parameter.parse("SOL_SOCKET:SO_RCVBUF:1") for _ in range(5))
    with pytest.raises(ControlFileError, match="at most 4 fit"):
        ControlFile.vsock(1, parameters=params)


def test_options_count_zero_with_parameters_is_accepted() -> None:
    """The original ignores optionsCount; a record with 0 there still reads, and keeps its bytes."""
    data = bytearray(ControlFile.vsock(1, parameters=(Parameter.parse("SOL_SOCKET:SO_RCVBUF:1"),)).pack())
    data[24:28] = bytes(4)
    record = ControlFile.unpack(bytes(data))
    assert record.options_count == 0 and len(record.parameters) == 1
    assert record.pack() == bytes(data)


# --------------------------------------------------------------------------- files


def test_write_read_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "8080.sock"
    old = os.umask(0o077)
    try:
        ControlFile.vsock(5678).write(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert ControlFile.read(path) == ControlFile.vsock(5678)
    assert [p.name for p in tmp_path.iterdir()] == ["8080.sock"]  # no temporary left behind


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "8080.sock"
    path.write_bytes(b"precious")
    with pytest.raises(ControlFileError, match="exists: pass --force"):
        ControlFile.vsock(1).write(path)
    assert path.read_bytes() == b"precious"
    ControlFile.vsock(1).write(path, force=True)
    assert ControlFile.read(path) == ControlFile.vsock(1)
    assert len(list(tmp_path.iterdir())) == 1


def test_force_never_replaces_a_symlink_directory_or_socket(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"keep")
    link = tmp_path / "link.sock"
    link.symlink_to(target)
    directory = tmp_path / "dir.sock"
    directory.mkdir()
    sock_path = tmp_path / "s.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock_path))
    try:
        for path, what in ((link, "a symbolic link"), (directory, "a directory"), (sock_path, "a socket")):
            for force in (False, True):
                with pytest.raises(ControlFileError, match=f"exists and is {what}: not replacing it"):
                    ControlFile.vsock(1).write(path, force=force)
    finally:
        s.close()
    assert target.read_bytes() == b"keep" and link.is_symlink()
    assert directory.is_dir() and stat.S_ISSOCK(sock_path.lstat().st_mode)


def test_write_into_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ControlFileError, match="does not exist"):
        ControlFile.vsock(1).write(tmp_path / "nope" / "1.sock")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\x55" * 100, "the file is truncated: 100 of 452 bytes"),
        (b"\0" * 453, "the file has the wrong size: 453 bytes"),
        (b"\1" * 452, "wrong magic 0x101010101010101"),
    ],
)
def test_malformed_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.sock"
    path.write_bytes(content)
    with pytest.raises(ControlFileError) as e:
        ControlFile.read(path)
    assert str(e.value).startswith(f"{path}: {message}")
    assert path.read_bytes() == content  # never touched


def test_directory_fifo_socket_missing(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ControlFileError, match="is a FIFO, not a control file"):
        ControlFile.read(fifo)  # must not block
    with pytest.raises(ControlFileError, match="is a directory, not a control file"):
        ControlFile.read(tmp_path)
    with pytest.raises(ControlFileError, match="no such file"):
        ControlFile.read(tmp_path / "missing")
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(tmp_path / "s"))
    try:
        with pytest.raises(ControlFileError, match="is a socket, not a control file"):
            ControlFile.read(tmp_path / "s")
    finally:
        s.close()


def deny_reading_as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """root reads any file: there, make opening it fail as it would for anyone else."""
    if os.geteuid() != 0:
        return
    real_open = os.open

    def fake_open(path: str, flags: int, *args: int) -> int:
        if not flags & (os.O_WRONLY | os.O_RDWR) and os.stat(path).st_mode & 0o444 == 0:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", fake_open)


def test_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.sock"
    ControlFile.vsock(1).write(path)
    path.chmod(0)
    deny_reading_as_root(monkeypatch)
    with pytest.raises(ControlFileError, match="cannot read it: permission denied"):
        ControlFile.read(path)


def test_symlink_to_a_control_file_is_read(tmp_path: Path) -> None:
    ControlFile.vsock(7).write(tmp_path / "real")
    (tmp_path / "7.sock").symlink_to(tmp_path / "real")
    assert ControlFile.read(tmp_path / "7.sock") == ControlFile.vsock(7)


def test_resolve_uds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v.sock").touch()
    assert resolve_uds("v.sock") == str(tmp_path.resolve() / "v.sock")
    assert resolve_uds("/does/not/exist.sock") == "/does/not/exist.sock"
    with pytest.raises(ControlFileError, match="relative --uds path must exist"):
        resolve_uds("missing.sock")


# --------------------------------------------------------------------------- property

u32 = st.integers(0, 0xFFFFFFFF)
params = st.one_of(
    st.builds(lambda v: Parameter.parse(f"SOL_SOCKET:SO_RCVBUF:{v}"), st.integers(-(2**31), 2**31 - 1)),
    st.builds(lambda v: Parameter.of(1, 47, v), st.integers(2**32, 2**63 - 1)),
    st.builds(lambda s, u: Parameter.of(1, 20, f"{s}.{u:06d}"), st.integers(0, 10**9), st.integers(0, 999999)),
    st.builds(lambda a, b, c: Parameter.of(271, 135, [a, b, c]), u32, u32, u32),
    st.builds(lambda v: Parameter.of(40, 2, v), st.integers(0, 2**64 - 1)),
)
vsock = st.builds(ControlFile.vsock, port=u32, cid=u32, parameters=st.lists(params, max_size=4).map(tuple))
tipc = st.builds(
    lambda at, sc, a, b, c, ps: ControlFile.tipc(a, min(b, c), max(b, c), addrtype=at, scope=sc, parameters=ps),
    st.sampled_from([1, 2, 3]), st.sampled_from([1, 2, 3]), u32, u32, u32, st.lists(params, max_size=4).map(tuple),
)  # fmt: skip
firecracker = st.builds(
    ControlFile.firecracker,
    uds=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=100).map(lambda s: "/" + s),
    port=st.integers(0, 0xFFFFFFFE),
    parameters=st.lists(params, max_size=4).map(tuple),
)


@given(st.one_of(vsock, tipc, firecracker))
def test_pack_unpack_round_trip(record: ControlFile) -> None:
    data = record.pack()
    assert len(data) == RECORD_SIZE
    again = ControlFile.unpack(data)
    assert again == record
    assert again.pack() == data
    assert again.to_dict() == record.to_dict()


GOOD_VECTORS = [p.read_bytes() for p in sorted((Path(__file__).parents[1] / "vectors" / "controlfiles").glob("*.bin"))
                if p.stat().st_size == RECORD_SIZE]  # fmt: skip


@given(st.one_of(st.binary(max_size=RECORD_SIZE + 8),
                 st.tuples(st.sampled_from(GOOD_VECTORS), st.integers(0, RECORD_SIZE - 1), st.integers(0, 255))
                 .map(lambda t: t[0][: t[1]] + bytes([t[2]]) + t[0][t[1] + 1 :])))  # fmt: skip
def test_any_bytes_are_read_or_refused_with_a_control_file_error(data: bytes) -> None:
    """The reader fails only with ControlFileError, in one line (tests/fuzz checks it agrees with
    the shim's); what it accepts packs back to the same bytes."""
    try:
        record = ControlFile.unpack(data)
    except ControlFileError as e:
        assert "\n" not in str(e)
        return
    assert record.pack() == data
