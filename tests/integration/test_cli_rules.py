"""The installed command with rules: unsock run -r/-f/--log, unsock env (unsock rules: tests/unit)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

UNSOCK = [sys.executable, "-m", "unsock"]
FIX_PORT = "port 99999 is not a port: use 0 to 65535"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("UNSOCK_") and k != "LD_PRELOAD"}
    base.update(env or {})
    return subprocess.run([*UNSOCK, *args], env=base, capture_output=True, text=True, timeout=60, cwd=cwd)


def exports(text: str) -> dict[str, str]:
    words = shlex.split(text)
    assert words[::2] == ["export"] * (len(words) // 2)
    return dict(w.split("=", 1) for w in words[1::2])


def test_an_empty_rule_list_is_refused_before_running(tmp_path: Path) -> None:
    f = tmp_path / "r"
    f.write_text("# nothing yet\n\n")
    marker = tmp_path / "ran"
    p = run("run", "-f", str(f), "--", "touch", str(marker))
    assert (p.returncode, p.stderr) == (2, f"unsock: no rule in {f}: add one, or leave out -f\n")
    assert not marker.exists()


@pytest.mark.parametrize("option", [["--dir", "/x"], ["--addr", "::1"], ["--port", "80"], ["--mode", "600"],
                                    ["--block-inet"], ["--no-block-inet"]])
@pytest.mark.parametrize("command", ["env", "run"])
def test_options_that_rules_replace_are_refused(tmp_path: Path, command: str, option: list[str]) -> None:
    marker = tmp_path / "ran"
    extra = ["--", "touch", str(marker)] if command == "run" else []
    p = run(command, "-r", "ignore", *option, *extra)
    assert p.returncode == 2
    flag = option[0].replace("--no-", "--")
    assert p.stderr == f"unsock: {flag} cannot be used with rules: say where sockets go in the rules instead\n"
    assert not marker.exists()


# --- unsock run --------------------------------------------------------------


def test_run_refuses_invalid_rules_before_running(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    p = run("run", "-r", "ignore", "-r", "in,port=99999,path=/tmp/x", "-r", "bogus", "--", "touch", str(marker))
    assert p.returncode == 2
    assert p.stderr.splitlines() == [
        f"unsock: rule 2 'in,port=99999,path=/tmp/x' at position 9: {FIX_PORT}",
        "unsock: rule 3 'bogus' at position 1: unknown word 'bogus': use in, out, tcp, udp, stream, dgram, reject, "
        "blackhole, ignore, systemd, noremove or a KEY=VALUE field",
    ]
    assert not marker.exists()


def test_run_refuses_an_unreadable_rule_file(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    p = run("run", "-f", str(tmp_path / "missing"), "--", "touch", str(marker))
    assert p.returncode == 2
    assert p.stderr == (f"unsock: cannot read rule file {tmp_path / 'missing'}: No such file or directory: "
                        "check the name and its permissions\n")
    assert not marker.exists()


def test_run_sets_unsock_rules_in_command_line_order(tmp_path: Path) -> None:
    f = tmp_path / "rules"
    f.write_text("  out,addr=10.0.0.0/8,reject\n# x\nudp,path=rel/%p\n")
    out = tmp_path / "env"
    script = f'printf "%s\\n%s" "$UNSOCK_RULES" "${{UNSOCK_DIR-unset}}" > {shlex.quote(str(out))}'
    p = run("run", "-r", "in,tcp,port=8080,path=/run/app/http.sock", "-f", str(f), "--rule", "ignore", "--",
            "sh", "-c", script, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert out.read_text().splitlines() == [
        "in,stream,port=8080,path=/run/app/http.sock",
        "out,addr=10.0.0.0/8,reject=13",
        f"dgram,path={tmp_path}/rel/%p",
        "ignore",
        "unset",
    ]


def test_run_with_rules_keeps_the_switches_that_apply(tmp_path: Path) -> None:
    out = tmp_path / "env"
    p = run("run", "-r", "ignore", "--block-inet6", "--accept-convert-all", "--",
            "sh", "-c", f'echo "$UNSOCK_BLOCK_INET6 $UNSOCK_ACCEPT_CONVERT_ALL" > {shlex.quote(str(out))}')
    assert p.returncode == 0, p.stderr
    assert out.read_text() == "1 1\n"


def test_run_with_rules_checks_the_switches(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    p = run("run", "-r", "ignore", "--", "touch", str(marker), env={"UNSOCK_BLOCK_INET6": "yes"})
    assert p.returncode == 2
    assert p.stderr.startswith("unsock: UNSOCK_BLOCK_INET6='yes' is not a valid switch")
    assert not marker.exists()


def test_run_verbose_with_rules(tmp_path: Path) -> None:
    p = run("run", "-v", "-r", "ignore", "-r", "reject", "--", "true")
    assert p.returncode == 0, p.stderr
    assert "unsock: 2 rules in UNSOCK_RULES\n" in p.stderr


def test_log_sets_debug_and_an_absolute_log_file(tmp_path: Path) -> None:
    out = tmp_path / "env"
    script = f'echo "$UNSOCK_DEBUG $UNSOCK_LOG_FILE" > {shlex.quote(str(out))}'
    p = run("run", "--log", "decisions.log", "-r", "ignore", "--", "sh", "-c", script, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert out.read_text() == f"1 {tmp_path}/decisions.log\n"
    p = run("run", "--log", "d.log", "--dir", str(tmp_path), "--", "sh", "-c", script, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert out.read_text() == f"1 {tmp_path}/d.log\n"


# --- unsock env --------------------------------------------------------------


def test_env_with_rules_exports_them(tmp_path: Path) -> None:
    p = run("env", "-r", "in,port=80,path=/s", "-r", "out,reject", "--log", "x.log", cwd=tmp_path,
            env={"UNSOCK_DIR": "/old"})
    assert p.returncode == 0, p.stderr
    e = exports(p.stdout)
    assert e["UNSOCK_RULES"] == "in,port=80,path=/s\nout,reject=13"
    assert e["UNSOCK_DEBUG"] == "1"
    assert e["UNSOCK_LOG_FILE"] == f"{tmp_path}/x.log"
    assert "UNSOCK_ADDR" not in e


def test_env_without_rules_exports_the_rules_of_the_variables() -> None:
    p = run("env", "--dir", "/x")
    assert p.returncode == 0, p.stderr
    e = exports(p.stdout)
    assert e["UNSOCK_RULES"] == "dgram,addr=127.175.0.0/32,path=/x/%p.udp\naddr=127.175.0.0/32,path=/x/%p.sock"
    assert e["UNSOCK_DIR"] == "/x"
