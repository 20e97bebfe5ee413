"""unsock rules: --print, --check and --compiled, with rules, the UNSOCK_* variables or both."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import Cli

FIX_PORT = "port 99999 is not a port: use 0 to 65535"
TABLE_HEADER = "#  direction  type    address     port  match  action                   options"


def test_print_is_the_default(cli: Cli) -> None:
    p = cli("rules", "-r", "in,tcp,port=8080,path=/run/app/http.sock", "-r", "out,addr=10.0.0.0/8,reject")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        TABLE_HEADER,
        "1  in         stream  any         8080  ip     path /run/app/http.sock  -",
        "2  out        any     10.0.0.0/8  any   ip     reject EACCES (13)       -",
    ]
    assert cli("rules", "--print", "-r", "in,tcp,port=8080,path=/run/app/http.sock", "-r",
               "out,addr=10.0.0.0/8,reject").stdout == p.stdout


def test_print_shows_every_kind_of_rule(tmp_path: Path, cli: Cli) -> None:
    p = cli("rules", "-r", "from-unix=/run/*.sock,path=/x,mode=600,noremove", "-r", "from-abstract=a*,ignore",
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


def test_compiled(cli: Cli) -> None:
    p = cli("rules", "--compiled", "-r", "tcp,in,port=80-80,path=/s", "-r", "blackhole")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "in,stream,port=80,path=/s\nin,blackhole\n"


def test_without_rules_the_variables_and_options_are_shown(cli: Cli) -> None:
    p = cli("rules", "--compiled", "--addr", "10.0.0.1/8", "--mode", "660", "--block-inet",
            env={"UNSOCK_DIR": "/run/a%", "UNSOCK_PORT": "80", "UNSOCK_ADDR": "1.2.3.4"})
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "dgram,addr=10.0.0.1/8,port=80,path=/run/a%%/%p.udp,mode=0660",
        "addr=10.0.0.1/8,port=80,path=/run/a%%/%p.sock,mode=0660",
        "addr=0.0.0.0/0,reject=13",
    ]


def test_without_anything_the_default_directory_is_used(tmp_path: Path, cli: Cli) -> None:
    p = cli("rules", "--compiled", env={"XDG_RUNTIME_DIR": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    assert p.stdout == (f"dgram,addr=127.175.0.0/32,path={tmp_path}/unsock/%p.udp\n"
                        f"addr=127.175.0.0/32,path={tmp_path}/unsock/%p.sock\n")


def test_an_inherited_unsock_rules_is_shown_and_checked(cli: Cli) -> None:
    p = cli("rules", "--compiled", env={"UNSOCK_RULES": "in,blackhole\nignore", "UNSOCK_DIR": "/ignored"})
    assert (p.returncode, p.stdout) == (0, "in,blackhole\nignore\n")
    p = cli("rules", "--check", env={"UNSOCK_RULES": "blackhole"})
    assert p.returncode == 1
    assert p.stderr == ("unsock: UNSOCK_RULES line 1 'blackhole' is not in the compiled form 'in,blackhole': "
                        "set it with 'unsock run -r' or 'unsock rules --compiled'\n")
    p = cli("rules", "-r", "ignore", "--compiled", env={"UNSOCK_RULES": "blackhole"})
    assert (p.returncode, p.stdout) == (0, "ignore\n")


def test_no_rules_table(cli: Cli) -> None:
    p = cli("rules", env={"UNSOCK_RULES": ""}, )
    assert p.returncode == 0  # the default configuration: two rules
    assert len(p.stdout.splitlines()) == 3


def test_check_valid_is_silent(tmp_path: Path, cli: Cli) -> None:
    f = tmp_path / "r"
    f.write_text("# rules\nin,port=80,path=/s\n")
    p = cli("rules", "--check", "-f", str(f), "-r", "ignore")
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")


def test_check_with_print_prints_when_valid(cli: Cli) -> None:
    p = cli("rules", "--check", "--print", "-r", "ignore")
    assert p.returncode == 0
    assert p.stdout.splitlines()[1].split() == ["1", "both", "any", "any", "any", "ip", "ignore", "-"]


def test_check_invalid_lists_every_error(tmp_path: Path, cli: Cli) -> None:
    f = tmp_path / "r"
    f.write_text("ignore\n\n  out,systemd\n")
    p = cli("rules", "--check", "-r", "in,port=99999,path=/tmp/x", "-f", str(f), "-f", str(tmp_path / "none"),
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


def test_check_of_a_bad_configuration_is_1(cli: Cli) -> None:
    p = cli("rules", "--check", "--dir", "relative")
    assert p.returncode == 1
    assert p.stderr.startswith("unsock: UNSOCK_DIR='relative' is not an absolute path")


def test_invalid_rules_without_check_are_a_usage_error(cli: Cli) -> None:
    p = cli("rules", "-r", "in,port=99999,path=/tmp/x")
    assert p.returncode == 2
    assert p.stderr == f"unsock: rule 1 'in,port=99999,path=/tmp/x' at position 9: {FIX_PORT}\n"


def test_an_empty_rule_list_is_refused(tmp_path: Path, cli: Cli) -> None:
    f = tmp_path / "r"
    f.write_text("# nothing yet\n\n")
    p = cli("rules", "--check", "-f", str(f))
    assert (p.returncode, p.stderr) == (1, f"unsock: no rule in {f}: add one, or leave out -f\n")


@pytest.mark.parametrize("option", [["--dir", "/x"], ["--addr", "::1"], ["--port", "80"], ["--mode", "600"],
                                    ["--block-inet"], ["--no-block-inet"]])
def test_options_that_rules_replace_are_refused(cli: Cli, option: list[str]) -> None:
    for given in (["-r", "ignore"], []):
        p = cli("rules", "--check", *given, *option, env={} if given else {"UNSOCK_RULES": "ignore"})
        assert p.returncode == 2
        flag = option[0].replace("--no-", "--")
        assert p.stderr == f"unsock: {flag} cannot be used with rules: say where sockets go in the rules instead\n"
