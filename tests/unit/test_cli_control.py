"""`unsock control`: every command round-trips through `show --json`; errors are one line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import Cli
from tests.unit.test_controlfile import deny_reading_as_root


def show(cli: Cli, path: Path) -> dict[str, Any]:
    p = cli("control", "show", "--json", str(path))
    assert p.returncode == 0, p.stderr
    out: dict[str, Any] = json.loads(p.stdout)
    return out


@pytest.mark.parametrize(
    ("args", "dest"),
    [
        (["vsock", "--port", "5678"], {"family": "AF_VSOCK", "cid": 0xFFFFFFFF, "cid_name": "any", "port": 5678}),
        (["vsock", "--port", "5678", "--cid", "-1"], {"family": "AF_VSOCK", "cid": 0xFFFFFFFF, "cid_name": "any",
                                                       "port": 5678}),
        (["vsock", "--port", "1", "--cid", "host"], {"family": "AF_VSOCK", "cid": 2, "cid_name": "host", "port": 1}),
        (["vsock", "--port", "1", "--cid", "1"], {"family": "AF_VSOCK", "cid": 1, "cid_name": "local", "port": 1}),
        (["vsock", "--port", "-1", "--cid", "77"], {"family": "AF_VSOCK", "cid": 77, "port": 0xFFFFFFFF}),
        (["tipc", "--type", "128", "--lower", "99"],
         {"family": "AF_TIPC", "addrtype": 2, "addrtype_name": "service address", "scope": 2, "scope_name": "cluster",
          "type": 128, "lower": 99, "upper": 0}),
        (["tipc", "--type", "128", "--lower", "1", "--upper", "9", "--addrtype", "range", "--scope", "node"],
         {"family": "AF_TIPC", "addrtype": 1, "addrtype_name": "service range", "scope": 3, "scope_name": "node",
          "type": 128, "lower": 1, "upper": 9}),
        (["tipc", "--type", "7", "--lower", "16781313", "--addrtype", "3"],
         {"family": "AF_TIPC", "addrtype": 3, "addrtype_name": "socket id", "scope": 2, "scope_name": "cluster",
          "type": 7, "lower": 16781313, "upper": 0}),
    ],
)  # fmt: skip
def test_create_and_show(cli: Cli, tmp_path: Path, args: list[str], dest: dict[str, Any]) -> None:
    path = tmp_path / "8080.sock"
    p = cli("control", args[0], str(path), *args[1:])
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"wrote {path}: ")
    fields = show(cli, path)
    assert fields["dest"] == dest
    assert fields["kind"] == args[0] and fields["proxy"] is None and fields["parameters"] == []
    human = cli("control", "show", str(path))
    assert human.returncode == 0 and human.stdout.startswith(f"{path}: ")


def test_firecracker_relative_uds_is_stored_absolute(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "fc.vsock").touch()
    p = cli("control", "firecracker", "1.sock", "--uds", "fc.vsock", "--port", "52", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    fields = show(cli, tmp_path / "1.sock")
    assert fields["kind"] == "firecracker" and fields["options"] == 1 and fields["proxy_len"] == 110
    assert fields["proxy"] == {"family": "AF_UNIX", "path": str((tmp_path / "fc.vsock").resolve())}
    assert fields["dest"]["port"] == 52


def test_firecracker_missing_relative_uds(cli: Cli, tmp_path: Path) -> None:
    p = cli("control", "firecracker", "1.sock", "--uds", "fc.vsock", "--port", "52", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr == ("unsock: the Firecracker socket fc.vsock does not exist: "
                        "a relative --uds path must exist, or give an absolute one\n")  # fmt: skip
    assert not (tmp_path / "1.sock").exists()


def test_firecracker_absolute_missing_uds_is_kept(cli: Cli, tmp_path: Path) -> None:
    p = cli("control", "firecracker", str(tmp_path / "1.sock"), "--uds", "/run/none/v.sock", "--port", "52")
    assert p.returncode == 0, p.stderr
    assert show(cli, tmp_path / "1.sock")["proxy"]["path"] == "/run/none/v.sock"


def test_parameters_round_trip(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "1.sock"
    p = cli("control", "vsock", str(path), "--port", "5", "--param", "SOL_SOCKET:SO_RCVTIMEO:1.5",
            "--param", "SOL_SOCKET:SO_RCVBUF:65536", "--param", "SOL_TIPC:TIPC_GROUP_JOIN:1,2,3",
            "--param", "1:47:10000000000")  # fmt: skip
    assert p.returncode == 0, p.stderr
    params = show(cli, path)["parameters"]
    assert [(q["encoding"], q["value"], q["optlen"]) for q in params] == [
        ("timeval", 1.5, 16), ("int32", 65536, 4), ("tipc_group_req", [1, 2, 3, 0], 16), ("int64", 10000000000, 8)
    ]  # fmt: skip
    assert params[0]["level_name"] == "SOL_SOCKET" and params[0]["option_name"] == "SO_RCVTIMEO"
    assert show(cli, path)["options_count"] == 4


def test_refuses_to_overwrite_and_force_replaces(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "1.sock"
    assert cli("control", "vsock", str(path), "--port", "1").returncode == 0
    before = path.read_bytes()
    p = cli("control", "vsock", str(path), "--port", "2")
    assert p.returncode == 1
    assert p.stderr == f"unsock: {path} exists: pass --force to replace it\n"
    assert path.read_bytes() == before
    p = cli("control", "tipc", str(path), "--type", "128", "--lower", "1", "--force")
    assert p.returncode == 0, p.stderr
    assert show(cli, path)["kind"] == "tipc"


def test_force_does_not_replace_a_directory(cli: Cli, tmp_path: Path) -> None:
    p = cli("control", "vsock", str(tmp_path), "--port", "1", "--force")
    assert p.returncode == 1
    assert p.stderr.startswith(f"unsock: {tmp_path} exists and is a directory: not replacing it")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vsock", "F", "--port", "x"], "--port 'x' is not valid"),
        (["vsock", "F", "--port", "4294967296"], "--port '4294967296' is not valid"),
        (["vsock", "F", "--port", "1", "--cid", "guest"], "--cid 'guest' is not valid: use hypervisor, local"),
        (["tipc", "F", "--type", "1", "--lower", "1", "--addrtype", "9"], "TIPC address type 9 is unknown"),
        (["tipc", "F", "--type", "1", "--lower", "1", "--scope", "far"], "--scope 'far' is not valid"),
        (["vsock", "F", "--port", "1", *["--param", "1:8:1"] * 5], "5 --param options given, at most 4 fit"),
        (["vsock", "F", "--port", "1", "--param", "SOL_SOCKET:SO_RCVBUF"], "--param 'SOL_SOCKET:SO_RCVBUF' is not"),
        (["vsock", "F"], "the following arguments are required: --port"),
        (["tipc", "F", "--type", "1"], "the following arguments are required: --lower"),
        (["firecracker", "F", "--port", "1"], "the following arguments are required: --uds"),
        (["frob"], "argument KIND: invalid choice"),
    ],
)
def test_usage_errors(cli: Cli, tmp_path: Path, args: list[str], message: str) -> None:
    p = cli("control", *args, cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and p.stderr.startswith(f"unsock: {message}"), p.stderr
    assert not (tmp_path / "F").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "the file is empty"),
        (lambda p: p.write_bytes(b"x" * 10), "the file is truncated: 10 of 452 bytes"),
        (lambda p: p.write_bytes(b"x" * 500), "the file has the wrong size: 500 bytes"),
        (lambda p: p.write_bytes(b"x" * 452), "wrong magic"),
        (lambda p: p.mkdir(), "is a directory, not a control file"),
        (lambda p: os.mkfifo(p), "is a FIFO, not a control file"),
        (lambda p: None, "no such file"),
    ],
)
def test_show_malformed(cli: Cli, tmp_path: Path, make: Any, message: str) -> None:
    path = tmp_path / "1.sock"
    make(path)
    for extra in ([], ["--json"]):
        p = cli("control", "show", *extra, str(path))
        assert p.returncode == 1
        assert p.stdout == ""
        assert p.stderr.count("\n") == 1 and p.stderr.startswith("unsock: ") and message in p.stderr, p.stderr


def test_show_unreadable(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "1.sock"
    assert cli("control", "vsock", str(path), "--port", "1").returncode == 0
    path.chmod(0)
    deny_reading_as_root(monkeypatch)
    p = cli("control", "show", str(path))
    assert (p.returncode, p.stdout) == (1, "")
    assert p.stderr == f"unsock: {path}: cannot read it: permission denied: check its permissions\n"
