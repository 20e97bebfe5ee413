"""The numbers of the socket families, VSOCK and TIPC addresses and the names people give them:
one table each, for the control files, ``unsock control`` and the rules alike (Linux values)."""

from __future__ import annotations

from typing import Literal

#: The largest value of a 32-bit field; also VSOCK's "any" CID and port.
U32_MAX = 0xFFFFFFFF

AF_UNIX = 1
AF_INET = 2
AF_INET6 = 10
AF_TIPC = 30
AF_VSOCK = 40
FAMILY_NAMES = {AF_UNIX: "AF_UNIX", AF_INET: "AF_INET", AF_INET6: "AF_INET6", AF_TIPC: "AF_TIPC",
                AF_VSOCK: "AF_VSOCK"}

VMADDR_CID_HYPERVISOR = 0
VMADDR_CID_LOCAL = 1
VMADDR_CID_HOST = 2
VMADDR_CID_ANY = U32_MAX
VMADDR_PORT_ANY = U32_MAX
VMADDR_FLAG_TO_HOST = 0x01
#: VSOCK context ids by number, and by name (``--cid host``, ``vsock=host:%p``).
CID_NAMES = {
    VMADDR_CID_HYPERVISOR: "hypervisor",
    VMADDR_CID_LOCAL: "local",
    VMADDR_CID_HOST: "host",
    VMADDR_CID_ANY: "any",
}
VSOCK_CIDS = {name: cid for cid, name in CID_NAMES.items()}

TIPC_ADDR_NAMESEQ = 1  # service range {type, lower, upper}
TIPC_ADDR_NAME = 2  # service address {{type, instance}, domain}
TIPC_ADDR_ID = 3  # socket id {ref, node}
TIPC_ADDRTYPE_NAMES = {TIPC_ADDR_NAMESEQ: "service range", TIPC_ADDR_NAME: "service address", TIPC_ADDR_ID: "socket id"}
#: The words ``unsock control tipc --addrtype`` takes.
TIPC_ADDRTYPES = {"range": TIPC_ADDR_NAMESEQ, "nameseq": TIPC_ADDR_NAMESEQ, "service": TIPC_ADDR_NAME,
                  "name": TIPC_ADDR_NAME, "socket": TIPC_ADDR_ID, "id": TIPC_ADDR_ID}

TIPC_ZONE_SCOPE = 1
TIPC_CLUSTER_SCOPE = 2
TIPC_NODE_SCOPE = 3
TIPC_SCOPE_NAMES = {TIPC_ZONE_SCOPE: "zone", TIPC_CLUSTER_SCOPE: "cluster", TIPC_NODE_SCOPE: "node"}
TIPC_SCOPES = {name: scope for scope, name in TIPC_SCOPE_NAMES.items()}

#: The TIPC scopes a rule can name (``tipc=...@node``); zone has no rule form.
RuleScope = Literal["cluster", "node"]
RULE_SCOPES: dict[RuleScope, int] = {"cluster": TIPC_CLUSTER_SCOPE, "node": TIPC_NODE_SCOPE}
RULE_SCOPE_NAMES: dict[int, RuleScope] = {scope: name for name, scope in RULE_SCOPES.items()}
