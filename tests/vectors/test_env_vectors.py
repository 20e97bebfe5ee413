"""The shim, the seccomp engine's supervisor and the Python side parse the UNSOCK_* environment
identically."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cprog import compile_prog
from tests.vectors.cases import case_id, env_cases
from unsock import Config, ConfigError, library_path
from unsock.library import supervisor_path
from unsock.rules import compile_rules, parse_compiled, rules_from_config

CASES = env_cases()


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_python_agrees(case: dict[str, Any]) -> None:
    if "config" in case:
        config = Config.from_env(case["env"])
        assert config.canonical() == case["config"]
        rules = rules_from_config(config)
        assert [r.canonical() for r in rules] == case["rules"]
        assert parse_compiled(compile_rules(rules)) == rules
    else:
        with pytest.raises(ConfigError) as e:
            Config.from_env(case["env"])
        assert str(e.value) == case["error"]


def assert_logged_as(case: dict[str, Any], p: subprocess.CompletedProcess[str], engine: str) -> None:
    """The engine line, the configuration line and the rules, then one decision line; or the one
    error line."""
    lines = p.stderr.splitlines()
    if "config" in case:
        assert p.returncode == 0, p.stderr
        rules = [f"unsock: rule {i}: {text}" for i, text in enumerate(case["rules"], 1)]
        assert lines[: 2 + len(rules)] == [f"unsock: engine: {engine}", f"unsock: config: {case['config']}", *rules]
        assert len(lines) == 3 + len(rules) and "connect fd" in lines[-1], lines
    else:
        assert p.returncode != 0
        assert lines == [f"unsock: {case['error']}"]


# One decision without side effects: a TCP connect to port 9 of 127.0.0.1
# (refused over TCP or as a missing socket file, or rejected).
DECIDE = "import socket; socket.socket().connect_ex(('127.0.0.1', 9))"


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_shim_agrees(case: dict[str, Any]) -> None:
    """The shim logs its configuration and its rules before its first
    decision: the same line and the same rules as unsock.config and
    unsock.rules."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNSOCK_")}
    env.update(case["env"], LD_PRELOAD=str(library_path()), UNSOCK_DEBUG="1")
    p = subprocess.run([sys.executable, "-c", DECIDE], env=env, capture_output=True, text=True, timeout=30)
    assert_logged_as(case, p, f"preload, {library_path()} (glibc)")


@pytest.mark.program("musl-gcc")
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_supervisor_agrees(case: dict[str, Any]) -> None:
    """The same, from the supervisor running a statically linked program (decide.c, the same
    decision): the same lines, or the same one error line and a failure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNSOCK_") and k != "LD_PRELOAD"}
    env.update(case["env"], UNSOCK_DEBUG="1")
    decide = compile_prog(Path(__file__).with_name("decide.c"), static_musl=True)
    p = subprocess.run([str(supervisor_path()), "--", str(decide)], env=env, capture_output=True, text=True,
                       timeout=30)
    assert_logged_as(case, p, f"seccomp, {supervisor_path()}")


@pytest.mark.program("musl-gcc")
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_musl_shim_agrees(case: dict[str, Any]) -> None:
    """The same from the musl build of the shim, in a musl program (decide.c)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNSOCK_")}
    env.update(case["env"], LD_PRELOAD=str(library_path("musl")), UNSOCK_DEBUG="1")
    decide = compile_prog(Path(__file__).with_name("decide.c"), musl=True)
    p = subprocess.run([str(decide)], env=env, capture_output=True, text=True, timeout=30)
    assert_logged_as(case, p, f"preload, {library_path('musl')} (musl)")


def test_round_trip_through_environment() -> None:
    """Config.to_env() is read back by the shim as the same configuration."""
    cfg = Config.from_env({"UNSOCK_DIR": "/tmp/u", "UNSOCK_ADDR": "127.0.0.1/8", "UNSOCK_MODE": "640"})
    assert Config.from_env(cfg.to_env()) == cfg
