"""The command line with rules: unsock rules --print/--check/--compiled, unsock run -r/-f/--log, unsock env."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

UNSOCK = [sys.executable, "-m", "unsock"]
FIX_PORT = "port 99999 is not a port: use 0 to 65535"
TABLE_HEADER = "#  direction  type    address     port  match  action                   options"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("UNSOCK_") and k != "LD_PRELOAD"}
    base.update(env or {})
    return subprocess.run([*UNSOCK, *args], env=base, capture_output=True, text=True, timeout=60, cwd=cwd)


def exports(text: str) -> dict[str, str]:
    words = shlex.split(text)
    assert words[::2] == ["export"] * (len(words) // 2)
    return dict(w.split("=", 1) for w in words[1::2])


# --- unsock rules ------------------------------------------------------------


def test_print_is_the_default() -> None:
    p = run("rules", "-r", "in,tcp,port=8080,path=/run/app/http.sock", "-r", "out,addr=10.0.0.0/8,reject")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        TABLE_HEADER,
        "1  in         stream  any         8080  ip     path /run/app/http.sock  -",
        "2  out        any     10.0.0.0/8  any   ip     reject EACCES (13)       -",
    ]
    assert run("rules", "--print", "-r", "in,tcp,port=8080,path=/run/app/http.sock", "-r",
               "out,addr=10.0.0.0/8,reject").stdout == p.stdout


def test_print_shows_every_kind_of_rule(tmp_path: Path) -> None:
    p = run("rules", "-r", "from-unix=/run/*.sock,path=/x,mode=600,noremove", "-r", "from-abstract=a*,ignore",
            "-r", "udp,port=1-9,vsock=any:%p", "-r", "systemd=web", "-r", "firecracker=fc:5", "-r", "tipc=1:2@node",
            "-r", "abstract=n%p", "-r", "reject=ECONNREFUSED", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 9
    assert lines[1].split() == ["1", "both", "any", "-", "-", "unix", "/run/*.sock", "path", "/x", "mode=0600",
                                "noremove"]
    assert lines[2].split() == ["2", "both", "any", "-", "-", "abstract", "@a*", "ignore", "-"]
    assert lines[3].split() == ["3", "both", "dgram", "any", "1-9", "ip", "vsock", "any:%p", "-"]
    assert lines[4].split() == ["4", "in", "any", "any", "any", "ip", "systemd", "web", "-"]
    assert lines[5].split() == ["5", "out", "any", "any", "any", "ip", "firecracker", f"{tmp_path}/fc", "port", "5",
                                "-"]
    assert lines[6].split() == ["6", "both", "any", "any", "any", "ip", "tipc", "1:2:2@node", "-"]
    assert lines[7].split() == ["7", "both", "any", "any", "any", "ip", "abstract", "@n%p", "-"]
    assert lines[8].split() == ["8", "both", "any", "any", "any", "ip", "reject", "ECONNREFUSED", "(111)", "-"]


def test_compiled() -> None:
    p = run("rules", "--compiled", "-r", "tcp,in,port=80-80,path=/s", "-r", "blackhole")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "in,stream,port=80,path=/s\nin,blackhole\n"


def test_without_rules_the_variables_and_options_are_shown() -> None:
    p = run("rules", "--compiled", "--addr", "10.0.0.1/8", "--mode", "660", "--block-inet",
            env={"UNSOCK_DIR": "/run/a%", "UNSOCK_PORT": "80", "UNSOCK_ADDR": "1.2.3.4"})
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "dgram,addr=10.0.0.1/8,port=80,path=/run/a%%/%p.udp,mode=0660",
        "addr=10.0.0.1/8,port=80,path=/run/a%%/%p.sock,mode=0660",
        "addr=0.0.0.0/0,reject=13",
    ]


def test_without_anything_the_default_directory_is_used(tmp_path: Path) -> None:
    p = run("rules", "--compiled", env={"XDG_RUNTIME_DIR": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    assert p.stdout == (f"dgram,addr=127.175.0.0/32,path={tmp_path}/unsock/%p.udp\n"
                        f"addr=127.175.0.0/32,path={tmp_path}/unsock/%p.sock\n")


def test_an_inherited_unsock_rules_is_shown_and_checked() -> None:
    p = run("rules", "--compiled", env={"UNSOCK_RULES": "in,blackhole\nignore", "UNSOCK_DIR": "/ignored"})
    assert (p.returncode, p.stdout) == (0, "in,blackhole\nignore\n")
    p = run("rules", "--check", env={"UNSOCK_RULES": "blackhole"})
    assert p.returncode == 1
    assert p.stderr == ("unsock: UNSOCK_RULES line 1 'blackhole' is not in the compiled form 'in,blackhole': "
                        "set it with 'unsock run -r' or 'unsock rules --compiled'\n")
    p = run("rules", "-r", "ignore", "--compiled", env={"UNSOCK_RULES": "blackhole"})
    assert (p.returncode, p.stdout) == (0, "ignore\n")


def test_no_rules_table() -> None:
    p = run("rules", env={"UNSOCK_RULES": ""}, )
    assert p.returncode == 0  # the default configuration: two rules
    assert len(p.stdout.splitlines()) == 3


def test_check_valid_is_silent(tmp_path: Path) -> None:
    f = tmp_path / "r"
    f.write_text("# rules\nin,port=80,path=/s\n")
    p = run("rules", "--check", "-f", str(f), "-r", "ignore")
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")


def test_check_with_print_prints_when_valid() -> None:
    p = run("rules", "--check", "--print", "-r", "ignore")
    assert p.returncode == 0
    assert p.stdout.splitlines()[1].split() == ["1", "both", "any", "any", "any", "ip", "ignore", "-"]


def test_check_invalid_lists_every_error(tmp_path: Path) -> None:
    f = tmp_path / "r"
    f.write_text("ignore\n\n  out,systemd\n")
    p = run("rules", "--check", "-r", "in,port=99999,path=/tmp/x", "-f", str(f), "-f", str(tmp_path / "none"),
            "-r", "ignore,reject")
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr.splitlines() == [
        f"unsock: rule 1 'in,port=99999,path=/tmp/x' at position 9: {FIX_PORT}",
        f"unsock: {f}:3: rule 3 'out,systemd' at position 5: systemd is only for in (bind): remove out",
        f"unsock: cannot read rule file {tmp_path / 'none'}: No such file or directory: "
        "check the name and its permissions",
        "unsock: rule 4 'ignore,reject' at position 8: second action reject after ignore: "
        "a rule has exactly one action",
    ]


def test_an_empty_rule_list_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "r"
    f.write_text("# nothing yet\n\n")
    p = run("rules", "--check", "-f", str(f))
    assert (p.returncode, p.stderr) == (1, f"unsock: no rule in {f}: add one, or leave out -f\n")
    marker = tmp_path / "ran"
    p = run("run", "-f", str(f), "--", "touch", str(marker))
    assert (p.returncode, p.stderr) == (2, f"unsock: no rule in {f}: add one, or leave out -f\n")
    assert not marker.exists()


def test_check_of_a_bad_configuration_is_1() -> None:
    p = run("rules", "--check", "--dir", "relative")
    assert p.returncode == 1
    assert p.stderr.startswith("unsock: UNSOCK_DIR='relative' is not an absolute path")


def test_invalid_rules_without_check_are_a_usage_error() -> None:
    p = run("rules", "-r", "in,port=99999,path=/tmp/x")
    assert p.returncode == 2
    assert p.stderr == f"unsock: rule 1 'in,port=99999,path=/tmp/x' at position 9: {FIX_PORT}\n"


@pytest.mark.parametrize("option", [["--dir", "/x"], ["--addr", "::1"], ["--port", "80"], ["--mode", "600"],
                                    ["--block-inet"], ["--no-block-inet"]])
@pytest.mark.parametrize("command", ["rules", "env", "run"])
def test_options_that_rules_replace_are_refused(tmp_path: Path, command: str, option: list[str]) -> None:
    marker = tmp_path / "ran"
    extra = ["--", "touch", str(marker)] if command == "run" else []
    check = ["--check"] if command == "rules" else []
    p = run(command, *check, "-r", "ignore", *option, *extra)
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


def test_env_without_rules_exports_no_rules() -> None:
    p = run("env", "--dir", "/x")
    assert p.returncode == 0, p.stderr
    assert "UNSOCK_RULES" not in exports(p.stdout)
    assert exports(p.stdout)["UNSOCK_DIR"] == "/x"
