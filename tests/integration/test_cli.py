"""The installed unsock command: lib, env, and run (validation before anything runs, the
default directory, exit status); the rest of the command line is tested in tests/unit."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import INVALID_OPTIONS
from unsock import library_path

UNSOCK = [sys.executable, "-m", "unsock"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("UNSOCK_") and k != "LD_PRELOAD"}
    base.update(env or {})
    return subprocess.run([*UNSOCK, *args], env=base, capture_output=True, text=True, timeout=60)


def test_lib_prints_the_installed_shim() -> None:
    p = run("lib")
    assert p.returncode == 0
    path = Path(p.stdout.strip())
    assert path.is_absolute() and path == library_path()
    assert path.read_bytes()[:4] == b"\x7fELF"


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("unsock")
    p = subprocess.run([str(script), "lib"], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == str(library_path())


@pytest.mark.parametrize(
    ("option", "message"),
    INVALID_OPTIONS,
)
def test_invalid_values_are_refused_before_running(tmp_path: Path, option: list[str], message: str) -> None:
    marker = tmp_path / "ran"
    p = run("run", *option, "--", "touch", str(marker))
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1
    assert p.stderr.startswith(f"unsock: {message}")
    assert not marker.exists()


def test_invalid_environment_is_refused_before_running(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    p = run("run", "--dir", "/tmp", "--", "touch", str(marker), env={"UNSOCK_MODE": "rw"})
    assert p.returncode == 2
    assert p.stderr == "unsock: UNSOCK_MODE='rw' is not a file mode: use octal permission bits such as 660 or 0700\n"
    assert not marker.exists()


def test_missing_program() -> None:
    p = run("run", "--dir", "/tmp", "--", "no-such-program-unsock")
    assert p.returncode == 127
    assert p.stderr.startswith("unsock: cannot run 'no-such-program-unsock'")


def exports(text: str) -> dict[str, str]:
    words = shlex.split(text)
    assert words[::2] == ["export"] * (len(words) // 2)
    return dict(w.split("=", 1) for w in words[1::2])


def test_env_options_override_environment_which_is_honoured() -> None:
    p = run("env", "--addr", "127.0.0.1/8", "--mode", "660", "--block-inet6",
            env={"UNSOCK_DIR": "/srv/socks", "UNSOCK_ADDR": "10.0.0.1", "UNSOCK_PORT": "80"})
    assert p.returncode == 0, p.stderr
    e = exports(p.stdout)
    assert e["UNSOCK_DIR"] == "/srv/socks"
    assert e["UNSOCK_ADDR"] == "127.0.0.1/8"
    assert e["UNSOCK_PORT"] == "80"
    assert e["UNSOCK_MODE"] == "0660"
    assert e["UNSOCK_BLOCK_INET6"] == "1"
    assert e["LD_PRELOAD"].split()[0] == str(library_path())
    assert e["UNSOCK_RULES"] == "dgram,addr=127.0.0.1/8,port=80,path=/srv/socks/%p.udp,mode=0660\n" \
        "addr=127.0.0.1/8,port=80,path=/srv/socks/%p.sock,mode=0660"


def test_env_keeps_other_preloads() -> None:
    p = run("env", "--dir", "/x", env={"LD_PRELOAD": "/usr/lib/other.so"})
    assert exports(p.stdout)["LD_PRELOAD"].split() == [str(library_path()), "/usr/lib/other.so"]


def test_no_block_option_overrides_environment() -> None:
    p = run("env", "--dir", "/x", "--no-block-inet", env={"UNSOCK_BLOCK_INET": "1"})
    assert exports(p.stdout)["UNSOCK_BLOCK_INET"] == "0"


def test_default_dir_is_private_under_xdg_runtime_dir(tmp_path: Path) -> None:
    p = run("run", "-v", "--", "sh", "-c", 'echo "$UNSOCK_DIR"', env={"XDG_RUNTIME_DIR": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    d = Path(p.stdout.strip())
    assert d == tmp_path / "unsock"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert f"socket directory {d}" in p.stderr


def test_default_dir_without_xdg_runtime_dir_is_private(tmp_path: Path) -> None:
    p = run("run", "--", "sh", "-c", 'echo "$UNSOCK_DIR"', env={"TMPDIR": str(tmp_path), "XDG_RUNTIME_DIR": ""})
    assert p.returncode == 0, p.stderr
    d = Path(p.stdout.strip())
    assert d == tmp_path / f"unsock-{os.getuid()}"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_default_dir_refuses_a_shared_directory(tmp_path: Path) -> None:
    shared = tmp_path / f"unsock-{os.getuid()}"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    p = run("run", "--", "true", env={"TMPDIR": str(tmp_path), "XDG_RUNTIME_DIR": ""})
    assert p.returncode == 2
    assert "is not a private directory of yours" in p.stderr


def test_exit_status_and_signals_pass_through() -> None:
    assert run("run", "--dir", "/tmp", "--", "sh", "-c", "exit 7").returncode == 7
    assert run("run", "--dir", "/tmp", "--", "sh", "-c", "kill -TERM $$").returncode == -15


def test_run_hands_the_variables_as_rules_and_keeps_them(tmp_path: Path) -> None:
    out = tmp_path / "env"
    script = f'printf "%s\\n%s\\n" "$UNSOCK_RULES" "$UNSOCK_DIR $UNSOCK_ADDR" > {shlex.quote(str(out))}'
    p = run("run", "--dir", str(tmp_path), "--addr", "127.0.0.1", "--", "sh", "-c", script)
    assert p.returncode == 0, p.stderr
    assert out.read_text().splitlines() == [
        f"dgram,addr=127.0.0.1/32,path={tmp_path}/%p.udp",
        f"addr=127.0.0.1/32,path={tmp_path}/%p.sock",
        f"{tmp_path} 127.0.0.1",
    ]


def test_run_inside_run_may_change_the_variables(tmp_path: Path) -> None:
    """The UNSOCK_RULES a program inherits from 'unsock run --dir' stands for its variables, so
    'unsock run --dir' inside it is no conflict with rules."""
    inner = [*UNSOCK, "run", "--dir", str(tmp_path / "b"), "--", "sh", "-c", 'echo "$UNSOCK_RULES"']
    p = run("run", "--dir", str(tmp_path / "a"), "--", *inner)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [f"dgram,addr=127.175.0.0/32,path={tmp_path}/b/%p.udp",
                                     f"addr=127.175.0.0/32,path={tmp_path}/b/%p.sock"]
