"""Invalid UNSOCK_* values given straight to the shim: one line starting
with "unsock: " on stderr and a non-zero exit before the program runs,
never a silent fallback to unconverted sockets."""

import shutil

import pytest

ECHO = shutil.which("echo") or "/bin/echo"

BAD = [
    ("UNSOCK_DIR", "relative/dir"),
    ("UNSOCK_DIR", "/" + "d" * 120),
    ("UNSOCK_ADDR", "garbage"),
    ("UNSOCK_ADDR", "127.0.0.1/33"),
    ("UNSOCK_ADDR", "1.2.3"),
    ("UNSOCK_ADDR", "256.0.0.1"),
    ("UNSOCK_ADDR", "127.0.0.1/"),
    ("UNSOCK_PORT", "70000"),
    ("UNSOCK_PORT", "-2"),
    ("UNSOCK_PORT", "80x"),
    ("UNSOCK_MODE", "999"),
    ("UNSOCK_MODE", "1777"),
    ("UNSOCK_MODE", "rw"),
    ("UNSOCK_BLOCK_INET", "yes"),
    ("UNSOCK_BLOCK_INET6", "true"),
    ("UNSOCK_ACCEPT_CONVERT_ALL", "2"),
]


@pytest.mark.parametrize(("name", "value"), BAD, ids=[f"{n}={v[:12]}" for n, v in BAD])
def test_invalid_value_stops_before_the_program(unsock, name, value):
    p = unsock.run([ECHO, "the program ran"], env=unsock.env(**{name: value}), check=False)
    assert p.returncode != 0
    assert p.stdout == b""
    lines = p.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("unsock: ") and name in lines[0], lines


def test_missing_dir_stops_before_the_program(unsock):
    env = unsock.env()
    del env["UNSOCK_DIR"]
    p = unsock.run([ECHO, "the program ran"], env=env, check=False)
    assert p.returncode != 0 and p.stdout == b""
    lines = p.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("unsock: UNSOCK_DIR"), lines


@pytest.mark.parametrize(("name", "value"), [
    ("UNSOCK_PORT", "-1"), ("UNSOCK_PORT", "0"), ("UNSOCK_PORT", "65535"), ("UNSOCK_MODE", "0700"),
    ("UNSOCK_MODE", "7"), ("UNSOCK_ADDR", "127.0.0.1"), ("UNSOCK_ADDR", "0.0.0.0/0"), ("UNSOCK_BLOCK_INET", "0"),
    ("UNSOCK_BLOCK_INET6", ""),
])
def test_valid_values_run_the_program(unsock, name, value):
    p = unsock.run([ECHO, "the program ran"], env=unsock.env(**{name: value}))
    assert p.stdout == b"the program ran\n" and p.stderr == b""


def test_trailing_slash_in_dir(unsock):
    env = unsock.env(UNSOCK_DIR=f"{unsock.dir}//")
    out = unsock.py("""
import socket
s = socket.socket()
s.bind(("127.0.0.2", 7500))
import os
print(os.listdir(os.environ["UNSOCK_DIR"]))
""", env=env)
    assert out.strip() == "['7500.sock']"
