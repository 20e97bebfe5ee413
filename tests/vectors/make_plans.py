"""Writes plans.json: rule lists and socket calls with the plan the decision core makes for
each, in the decision log's words. The expected plans are what src/core/plan.c answers
(through rules_driver.c); `python -m tests.vectors.make_plans` rewrites the file, and a
reviewer reads the diff. Both the C core and unsock.rules.plan must agree with it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: Replaced by a private directory where a case puts a control file.
CTL = "/CTL"

RULES: dict[str, list[str]] = {
    "env": ["dgram,addr=127.175.0.0/32,path=/run/u/%p.udp", "addr=127.175.0.0/32,path=/run/u/%p.sock",
            "addr=0.0.0.0/0,reject=13"],
    "mixed": ["in,stream,port=8080,path=/run/app/http.sock,mode=0660", "out,addr=10.0.0.0/8,reject=111",
              "out,port=5432,abstract=pg-%p", "addr=127.0.0.1/32,port=9000-9099,path=/run/app/%t-%a-%p",
              "port=53,ignore", "in,addr=0000:0000:0000:0000:0000:0000:0000:0001/128,port=22,blackhole",
              "in,port=8000,systemd=http",
              "in,port=8001,systemd", "out,port=7000-7099,vsock=2:%p", "port=4000-4099,tipc=1000:%p:%p@node",
              "out,stream,port=6000,firecracker=/run/fc.sock:%p", "addr=127.0.0.0/8,path=/run/u/%p.sock,noremove"],
    "unix": ["from-unix=/old/*.sock,path=/new/%t.sock", "from-abstract=app-*,abstract=moved",
             "out,from-unix=/var/**,reject=2", "in,from-unix=/hole,blackhole", "from-unix=/v,ignore"],
    "long": ["addr=127.0.0.1/32,path=/" + "d" * 98 + "/%p.sock"],  # 107 bytes at port 80, 110 at 65535
    "control": [f"addr=127.0.0.1/32,path={CTL}/%p.sock"],
    "udp-in": ["in,dgram,path=/run/u/%p.sock"],
    "udp-fixed": ["path=/run/u/d.sock"],
}


def q(rules: str, call: str, domain: str, sock_type: str, address: str, converted: bool = False,
      control: str | None = None, peer: str | None = None, connecting: bool = False) -> dict[str, Any]:
    return {"rules": rules, "call": call, "domain": domain, "type": sock_type, "address": address,
            "converted": converted or connecting, "connecting": connecting, "control_file": control, "peer": peer}


QUERIES = [
    # the original's variables as rules
    q("env", "bind", "inet", "stream", "127.175.0.0:80"), q("env", "connect", "inet", "stream", "127.175.0.0:80"),
    q("env", "connect", "inet", "dgram", "127.175.0.0:53"), q("env", "send", "inet", "dgram", "127.175.0.0:53"),
    q("env", "send", "inet", "stream", "127.175.0.0:53"), q("env", "connect", "inet", "stream", "10.1.2.3:80"),
    q("env", "connect", "inet6", "stream", "[::1]:80"),
    q("env", "connect", "inet6", "stream", "[::ffff:127.175.0.0]:80"),
    q("env", "bind", "inet", "stream", "127.175.0.0:0"), q("env", "bind", "inet", "seqpacket", "127.175.0.0:80"),
    q("env", "bind", "inet6", "stream", "127.175.0.0:80"), q("env", "bind", "inet", "stream", "127.175.0.0:80", True),
    q("env", "connect", "inet", "dgram", "127.175.0.0:53", True),
    q("env", "send", "inet", "dgram", "127.175.0.0:53", True),
    q("env", "send", "inet", "stream", "127.175.0.0:53", True),
    q("env", "send", "inet", "dgram", "8.8.8.8:53", True), q("env", "send", "inet6", "dgram", "[::1]:53", True),
    q("env", "connect", "unix", "stream", "/run/x.sock"),
    # every action of the rule language
    q("mixed", "bind", "inet", "stream", "0.0.0.0:8080"), q("mixed", "connect", "inet", "stream", "127.0.0.1:8080"),
    q("mixed", "connect", "inet", "stream", "10.9.8.7:443"), q("mixed", "bind", "inet", "stream", "10.9.8.7:443"),
    q("mixed", "connect", "inet", "stream", "192.0.2.1:5432"), q("mixed", "connect", "inet", "dgram", "192.0.2.1:5432"),
    q("mixed", "connect", "inet", "stream", "127.0.0.1:9001"), q("mixed", "connect", "inet", "dgram", "127.0.0.1:9001"),
    q("mixed", "connect", "inet", "dgram", "127.0.0.1:53"), q("mixed", "send", "inet", "dgram", "127.0.0.1:53"),
    q("mixed", "bind", "inet6", "stream", "[::1]:22"), q("mixed", "bind", "inet6", "stream", "[::1]:0"),
    q("mixed", "connect", "inet6", "stream", "[::1]:22"), q("mixed", "bind", "inet", "stream", "0.0.0.0:8000"),
    q("mixed", "bind", "inet", "stream", "0.0.0.0:8001"), q("mixed", "connect", "inet", "stream", "192.0.2.1:7042"),
    q("mixed", "bind", "inet", "stream", "192.0.2.1:7042"), q("mixed", "send", "inet", "dgram", "192.0.2.1:7042"),
    q("mixed", "bind", "inet", "stream", "192.0.2.1:4000"), q("mixed", "connect", "inet", "stream", "192.0.2.1:4000"),
    q("mixed", "connect", "inet", "stream", "192.0.2.1:6000"), q("mixed", "connect", "inet", "dgram", "192.0.2.1:6000"),
    q("mixed", "bind", "inet", "stream", "127.0.0.1:0"), q("mixed", "connect", "inet", "stream", "127.0.0.9:0"),
    q("mixed", "connect", "inet", "stream", "127.0.0.1:7042", True),
    q("mixed", "connect", "inet", "dgram", "127.0.0.2:443", True),
    # unix sockets under from-unix / from-abstract
    q("unix", "connect", "unix", "stream", "/old/a.sock"), q("unix", "bind", "unix", "dgram", "/old/a.sock"),
    q("unix", "connect", "unix", "stream", "@app-1"), q("unix", "connect", "unix", "stream", "/var/run/x"),
    q("unix", "bind", "unix", "stream", "/var/run/x"), q("unix", "bind", "unix", "stream", "/hole"),
    q("unix", "connect", "unix", "stream", "/v"), q("unix", "send", "unix", "dgram", "/old/b.sock"),
    q("unix", "send", "unix", "dgram", "/var/x"), q("unix", "connect", "inet", "stream", "127.0.0.1:80"),
    # a target too long for sun_path
    q("long", "connect", "inet", "stream", "127.0.0.1:80"), q("long", "connect", "inet", "stream", "127.0.0.1:65535"),
    # control files at a path target
    q("control", "connect", "inet", "stream", "127.0.0.1:7001", control="vsock"),
    q("control", "bind", "inet", "stream", "127.0.0.1:7001", control="vsock"),
    q("control", "connect", "inet", "stream", "127.0.0.1:7002", control="tipc"),
    q("control", "bind", "inet", "stream", "127.0.0.1:7002", control="tipc-range"),
    q("control", "connect", "inet", "stream", "127.0.0.1:7003", control="firecracker"),
    q("control", "bind", "inet", "stream", "127.0.0.1:7003", control="firecracker"),
    q("control", "connect", "inet", "stream", "127.0.0.1:7004", control="bad"),
    q("control", "bind", "inet", "stream", "127.0.0.1:7004", control="bad"),
    q("control", "connect", "inet", "dgram", "127.0.0.1:7001", control="vsock"),
    q("control", "connect", "inet", "stream", "127.0.0.1:7005"),
    # TCP Fast Open's implicit connect
    q("env", "fastopen", "inet", "stream", "127.175.0.0:80"), q("env", "fastopen", "inet", "stream", "10.0.0.1:80"),
    q("env", "fastopen", "inet", "stream", "127.0.0.1:80"), q("env", "fastopen", "inet", "dgram", "127.175.0.0:53"),
    q("env", "fastopen", "inet", "stream", "127.175.0.0:80", True),
    q("mixed", "fastopen", "inet", "stream", "192.0.2.1:7042"),
    # a datagram server answering its clients
    q("udp-in", "send", "inet", "dgram", "127.0.0.1:45000", True),
    q("udp-in", "connect", "inet", "dgram", "127.0.0.1:45000", True),
    q("udp-in", "send", "inet", "stream", "127.0.0.1:45000", True),
    q("udp-in", "send", "inet", "dgram", "127.0.0.1:45000"),
    q("udp-fixed", "connect", "inet", "dgram", "127.0.0.1:45001", True, peer="@00012"),
    q("udp-fixed", "send", "inet", "dgram", "127.0.0.1:45001", True, peer="/run/u/client.sock"),
    q("udp-fixed", "connect", "inet", "dgram", "127.0.0.1:45001", True),
    # connecting again while a connect to a full backlog is under way
    q("env", "connect", "inet", "stream", "127.175.0.0:80", connecting=True),
]


def place_control_file(directory: Path, case: dict[str, Any]) -> None:
    """The control file a case asks for, at the path its rule gives."""
    from unsock.controlfile import ControlFile
    from unsock.names import TIPC_ADDR_NAME, TIPC_ADDR_NAMESEQ, TIPC_NODE_SCOPE

    kind = case["control_file"]
    if kind is None:
        return
    path = directory / f"{case['address'].rpartition(':')[2]}.sock"
    if kind == "bad":
        path.write_bytes(b"not a control file\n")
        return
    record = {
        "vsock": lambda: ControlFile.vsock(port=5000, cid=2),
        "tipc": lambda: ControlFile.tipc(1000, 42, addrtype=TIPC_ADDR_NAME, scope=TIPC_NODE_SCOPE),
        "tipc-range": lambda: ControlFile.tipc(1000, 40, 49, addrtype=TIPC_ADDR_NAMESEQ),
        "firecracker": lambda: ControlFile.firecracker("/run/fc.sock", 52),
    }[kind]()
    record.write(path)


def run_driver(driver: Path, rules: list[str], case: dict[str, Any], ctl: str) -> tuple[str, int]:
    text = "\n".join(rules).replace(CTL, ctl)
    peer = [case["peer"]] if case["peer"] else []
    p = subprocess.run([driver, "plan", text, case["call"], case["domain"], case["type"],
                        "connecting" if case["connecting"] else "1" if case["converted"] else "0", case["address"],
                        *peer],
                       capture_output=True, text=True, timeout=10, check=True)
    plan, err = p.stdout.splitlines()
    return plan.replace(ctl, CTL), int(err)


def main() -> None:
    import errno
    import tempfile

    from tests.helpers.cprog import compile_prog
    from tests.vectors.test_rules_vectors import CORE_SOURCES

    driver = compile_prog(HERE / "rules_driver.c", CORE_SOURCES)
    cases = []
    for case in QUERIES:
        with tempfile.TemporaryDirectory() as ctl:
            place_control_file(Path(ctl), case)
            plan, err = run_driver(driver, RULES[case["rules"]], case, ctl)
        cases.append({**case, "plan": plan, "errno": errno.errorcode[err] if err else None})
    doc = {"about": __doc__.split("\n\n")[0].replace("\n", " ") + " 'rules' names a list of 'rule_lists'; "
           "'control_file' is the kind of control file placed at the path the rule gives (make_plans.py); "
           f"{CTL} stands for the directory it is in.",
           "rule_lists": RULES, "cases": cases}
    (HERE / "plans.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
