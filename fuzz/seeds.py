"""Seed inputs of every target, made from the shared vectors (tests/vectors) in the layouts the
targets read (fuzz/input.h, fuzz/template.c, fuzz/addr.c)."""

from __future__ import annotations

import ipaddress
import json
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"

#: fuzz/input.h's fuzz_env_names, in order.
ENV_NAMES = ("UNSOCK_DIR", "UNSOCK_ADDR", "UNSOCK_PORT", "UNSOCK_MODE", "UNSOCK_BLOCK_INET", "UNSOCK_BLOCK_INET6",
             "UNSOCK_ACCEPT_CONVERT_ALL", "UNSOCK_ACCEPT_CONVERT_VSOCK", "UNSOCK_PEER_LOOPBACK",
             "UNSOCK_IP_AT_SOCKET", "UNSOCK_DEBUG", "UNSOCK_RULES", "UNSOCK_LOG_FILE")  # fmt: skip


def _json(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def encode_env(env: dict[str, str]) -> bytes:
    """The env target's input for env (only the variables it knows)."""
    return b"\0".join(bytes([ENV_NAMES.index(k)]) + v.encode("utf-8", "surrogateescape")
                      for k, v in env.items() if k in ENV_NAMES)


def decode_env(data: bytes) -> dict[str, str]:
    """What the env target reads from data (fuzz/input.h: fuzz_env_read)."""
    env: dict[str, str] = {}
    for seg in data.split(b"\0"):
        if seg:
            env[ENV_NAMES[seg[0] % len(ENV_NAMES)]] = seg[1:].decode("utf-8", "surrogateescape")
    return env


def rule_lists() -> list[list[str]]:
    """Every compiled rule list of the vectors."""
    lists: list[list[str]] = [c["rules"] for c in _json("rules.json")["cases"]]
    lists += _json("plans.json")["rule_lists"].values()
    lists += [c["rules"] for c in _json("env.json")["cases"] if "rules" in c]
    return lists


def env_seeds() -> Iterator[bytes]:
    for case in _json("env.json")["cases"]:
        yield encode_env(case["env"])
    yield encode_env({"UNSOCK_RULES": "in,port=80,path=/run/%p.sock", "UNSOCK_LOG_FILE": "/tmp/log"})


def rules_seeds() -> Iterator[bytes]:
    for rules in rule_lists():
        yield "\n".join(rules).encode()


def controlfile_seeds() -> Iterator[bytes]:
    for path in sorted((VECTORS / "controlfiles").glob("*.bin")):
        yield path.read_bytes()


def template_seeds() -> Iterator[bytes]:
    """fuzz/template.c: flags, port, 16 address bytes, the rule from its action on."""
    address = ipaddress.IPv6Address("::ffff:127.0.0.1").packed
    for rules in rule_lists():
        for rule in rules:
            for action in ("path=", "abstract="):
                at = rule.find(action)
                if at < 0:
                    continue
                for flags, port in ((0, 8080), (2 | 8, 0), (4, 65535)):
                    flags |= action == "abstract="
                    yield bytes([flags]) + struct.pack("<H", port) + address + rule[at + len(action):].encode()


CALLS = ("bind", "connect", "send", "fastopen")
DOMAINS = {"inet": 0, "inet6": 1, "unix": 2}
TYPES = {"stream": 0, "dgram": 1, "seqpacket": 2}


def sockaddr(text: str) -> bytes:
    """"127.0.0.1:80", "[::1]:80", "/path" or "@name" as the bytes a program hands over."""
    if text[0] in "/@":
        name = text.encode()
        return struct.pack("=H", socket.AF_UNIX) + (b"\0" + name[1:] if text[0] == "@" else name + b"\0")
    host, _, port = text.rpartition(":")
    ip = ipaddress.ip_address(host.strip("[]"))
    if ip.version == 4:
        return struct.pack("=H", socket.AF_INET) + struct.pack("!H", int(port)) + ip.packed + bytes(8)
    return struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", int(port), 0) + ip.packed + bytes(4)


def addr_input(rules: list[str], call: str, domain: str, sock_type: str, address: bytes | None, length: int,
               converted: bool = False, connecting: bool = False, peer: bytes | None = None) -> bytes:
    """fuzz/addr.c's input."""
    flags = converted | connecting << 1 | (address is None) << 2 | (peer is not None) << 3
    header = bytes([CALLS.index(call), DOMAINS[domain], TYPES[sock_type], flags]) + struct.pack("<H", length)
    header += bytes([len(peer or b"")])
    return "\n".join(rules).encode() + b"\0" + header + (address or b"") + (peer or b"")


def addr_seeds() -> Iterator[bytes]:
    doc = _json("plans.json")
    lists: dict[str, list[str]] = doc["rule_lists"]
    for c in doc["cases"]:
        address = sockaddr(c["address"])
        peer = sockaddr(c["peer"]) if c["peer"] else None
        rules = lists[c["rules"]]
        yield addr_input(rules, c["call"], c["domain"], c["type"], address, len(address), c["converted"],
                         c["connecting"], peer)
        # truncated, NULL, and longer than any address
        for length in (0, 1, 2, len(address) - 1):
            yield addr_input(rules, c["call"], c["domain"], c["type"], address[:length], length, c["converted"])
        yield addr_input(rules, c["call"], c["domain"], c["type"], None, len(address), c["converted"])
        yield addr_input(rules, c["call"], c["domain"], c["type"], address + bytes(200), len(address) + 200)


SEEDS = {"env": env_seeds, "rules": rules_seeds, "controlfile": controlfile_seeds, "template": template_seeds,
         "addr": addr_seeds}  # fmt: skip
