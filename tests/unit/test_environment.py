"""unsock.environment: the rules every engine gets in UNSOCK_RULES, from rules or from the
UNSOCK_* variables, and the private default directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from unsock import ConfigError, UnsockError
from unsock.environment import default_dir, inherited_rules, prepare_environment
from unsock.rules import compile_rules, parse_rule

DIR_RULES = "dgram,addr=127.0.0.1/8,path=/run/a/%p.udp\naddr=127.0.0.1/8,path=/run/a/%p.sock"


def test_the_variables_are_handed_over_as_rules_and_kept() -> None:
    prepared = prepare_environment({"UNSOCK_ADDR": "127.0.0.1/8", "PATH": "/bin"}, {"UNSOCK_DIR": "/run/a"})
    assert prepared.env == {"UNSOCK_ADDR": "127.0.0.1/8", "PATH": "/bin", "UNSOCK_DIR": "/run/a",
                            "UNSOCK_RULES": DIR_RULES}
    assert compile_rules(prepared.rules) == DIR_RULES
    assert prepared.config is not None and prepared.config.dir == "/run/a"


def test_rules_given() -> None:
    rules = [parse_rule("out,port=5432,path=/run/pg.sock"), parse_rule("out,addr=10.0.0.0/8,reject")]
    prepared = prepare_environment({"UNSOCK_BLOCK_INET6": "1"}, rules=rules)
    assert prepared.env == {"UNSOCK_BLOCK_INET6": "1",
                            "UNSOCK_RULES": "out,port=5432,path=/run/pg.sock\nout,addr=10.0.0.0/8,reject=13"}
    assert prepared.rules == tuple(rules) and prepared.config is None


def test_an_empty_rule_list_is_refused() -> None:
    with pytest.raises(ConfigError, match="no rules given"):
        prepare_environment({}, rules=[])


@pytest.mark.parametrize("name", ["UNSOCK_DIR", "UNSOCK_ADDR", "UNSOCK_PORT", "UNSOCK_MODE", "UNSOCK_BLOCK_INET"])
def test_variables_that_rules_replace_are_refused_with_rules(name: str) -> None:
    with pytest.raises(UnsockError, match=f"^{name} cannot be used with rules"):
        prepare_environment({}, {name: "1"}, rules=[parse_rule("ignore")])
    with pytest.raises(UnsockError, match=f"^{name} cannot be used with rules"):
        prepare_environment({"UNSOCK_RULES": "ignore"}, {name: "1"})


def test_switches_are_checked_with_rules() -> None:
    with pytest.raises(ConfigError, match="UNSOCK_ACCEPT_CONVERT_ALL='yes' is not a valid switch"):
        prepare_environment({"UNSOCK_ACCEPT_CONVERT_ALL": "yes"}, rules=[parse_rule("ignore")])


def test_inherited_rules_apply() -> None:
    prepared = prepare_environment({"UNSOCK_RULES": "in,blackhole\nignore", "UNSOCK_DIR": "/run/a"})
    assert prepared.env["UNSOCK_RULES"] == "in,blackhole\nignore"
    assert prepared.config is None


def test_inherited_rules_of_the_variables_are_the_variables() -> None:
    """What 'unsock run --dir /run/a' hands a program may be changed by an 'unsock run' inside it."""
    base = {"UNSOCK_DIR": "/run/a", "UNSOCK_ADDR": "127.0.0.1/8", "UNSOCK_RULES": DIR_RULES}
    assert inherited_rules(base) is None
    prepared = prepare_environment(base, {"UNSOCK_DIR": "/run/b"})
    assert prepared.env["UNSOCK_RULES"] == DIR_RULES.replace("/run/a", "/run/b")
    assert inherited_rules({**base, "UNSOCK_DIR": "/run/b"}) is not None


def test_verbose_and_log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = prepare_environment({"UNSOCK_DIR": "/x"}, verbose=True).env
    assert env["UNSOCK_DEBUG"] == "1" and "UNSOCK_LOG_FILE" not in env
    env = prepare_environment({"UNSOCK_DIR": "/x"}, log_file="d.log").env
    assert (env["UNSOCK_DEBUG"], env["UNSOCK_LOG_FILE"]) == ("1", f"{tmp_path}/d.log")


def test_default_dir_when_none_is_given(tmp_path: Path) -> None:
    prepared = prepare_environment({"XDG_RUNTIME_DIR": str(tmp_path)})
    assert prepared.env["UNSOCK_DIR"] == f"{tmp_path}/unsock"
    assert prepared.env["UNSOCK_RULES"].endswith(f"path={tmp_path}/unsock/%p.sock")


def test_default_dir_is_private_under_xdg_runtime_dir(tmp_path: Path) -> None:
    d = Path(default_dir({"XDG_RUNTIME_DIR": str(tmp_path)}))
    assert d == tmp_path / "unsock"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert default_dir({"XDG_RUNTIME_DIR": str(tmp_path)}) == str(d)


def test_default_dir_without_xdg_runtime_dir_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    d = Path(default_dir({"XDG_RUNTIME_DIR": "relative"}))
    assert d == tmp_path / f"unsock-{os.getuid()}"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_default_dir_refuses_a_shared_directory(tmp_path: Path) -> None:
    shared = tmp_path / "unsock"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(UnsockError, match="is not a private directory of yours"):
        default_dir({"XDG_RUNTIME_DIR": str(tmp_path)})
