"""Regenerate the control-file test vectors (``controlfiles/*.bin``) from ``controlfiles/index.json``.

    python tests/vectors/make_controlfiles.py

This is a second, deliberately plain encoder of ``struct unsock_socket_info`` (little-endian,
452 bytes) written from the field descriptions alone, so that the vectors do not come from the
code they test. Good cases are encoded from their ``fields``; bad ones from ``make``:

- ``{"empty": true}``: a 0-byte file
- ``{"garbage": SEED, "size": N}``: N deterministic pseudo-random bytes
- ``{"base": NAME, "patch": [[OFFSET, HEX], ...], "truncate": N, "append": N}``: the bytes of a
  good case, patched at offsets, cut to N bytes, or with N zero bytes appended.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "controlfiles"
INDEX = HERE / "index.json"

MAGIC = 0x4B534E55
SIZE = 452
FAMILIES = {"AF_UNIX": 1, "AF_TIPC": 30, "AF_VSOCK": 40}


def _sockaddr(addr: dict[str, Any] | None) -> bytes:
    if addr is None:
        return bytes(128)
    family = addr["family"]
    if family == "AF_UNIX":
        raw = struct.pack("<H", 1) + addr["path"].encode().ljust(108, b"\0")
    elif family == "AF_VSOCK":
        raw = struct.pack("<HHIIB3x", 40, 0, addr["port"], addr["cid"], addr.get("flags", 0))
    elif family == "AF_TIPC":
        raw = struct.pack("<HBbIII", 30, addr["addrtype"], addr["scope"], addr["type"], addr["lower"], addr["upper"])
    else:
        raise ValueError(family)
    return raw.ljust(128, b"\0")


def _value(p: dict[str, Any]) -> bytes:
    enc, v = p["encoding"], p["value"]
    if enc == "timeval":
        seconds = Decimal(str(v))
        sec = int(seconds)
        raw = struct.pack("<qq", sec, int((seconds - sec) * 1_000_000))
    elif enc == "int32":
        raw = struct.pack("<i", v)
    elif enc == "int64":
        raw = struct.pack("<q", v)
    elif enc == "uint64":
        raw = struct.pack("<Q", v)
    elif enc == "tipc_group_req":
        raw = struct.pack("<4I", *v)
    else:
        raise ValueError(enc)
    return raw.ljust(32, b"\0")


def encode(fields: dict[str, Any]) -> bytes:
    out = struct.pack(
        "<QQIIII", MAGIC, fields["options"], fields["proxy_len"], fields["dest_len"], fields["options_count"], 0
    )
    out += _sockaddr(fields["proxy"]) + _sockaddr(fields["dest"])
    params = fields["parameters"]
    for p in params:
        out += struct.pack("<II", p["level"], p["option"]) + _value(p)
    out += bytes(40 * (4 - len(params)))
    out += struct.pack("<I", 0)
    assert len(out) == SIZE
    return out


def _garbage(seed: int, size: int) -> bytes:
    out = b""
    block = str(seed).encode()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:size]


def make(case: dict[str, Any], good: dict[str, bytes]) -> bytes:
    if "fields" in case:
        return encode(case["fields"])
    spec = case["make"]
    if spec.get("empty"):
        return b""
    if "garbage" in spec:
        return _garbage(spec["garbage"], spec["size"])
    data = bytearray(good[spec["base"]])
    for offset, hexbytes in spec.get("patch", []):
        raw = bytes.fromhex(hexbytes)
        data[offset : offset + len(raw)] = raw
    if "truncate" in spec:
        del data[spec["truncate"] :]
    data += bytes(spec.get("append", 0))
    return bytes(data)


def cases() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(INDEX.read_text())["cases"]
    return result


def build_all() -> dict[str, bytes]:
    """name -> bytes of every case, good ones first (bad ones may derive from them)."""
    good: dict[str, bytes] = {}
    out: dict[str, bytes] = {}
    for case in sorted(cases(), key=lambda c: "fields" not in c):
        data = make(case, good)
        if "fields" in case:
            good[case["name"]] = data
        out[case["name"]] = data
    return out


def main() -> int:
    built = build_all()
    for case in cases():
        (HERE / case["file"]).write_bytes(built[case["name"]])
    print(f"wrote {len(built)} vectors to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
