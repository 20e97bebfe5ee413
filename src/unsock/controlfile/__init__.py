"""Control files: the 452-byte ``struct unsock_socket_info`` of the original unsock.

A control file sits where a converted socket would be (``DIR/PORT.sock``) and says where the
socket really goes: an ``AF_VSOCK`` or ``AF_TIPC`` address, or (Firecracker) a unix socket of a
vsock multiplexer plus the vsock port to ask it for. One job per module:

- :mod:`.record`: :class:`ControlFile`, the record's layout, packing, unpacking and validation
- :mod:`.addresses`: the socket addresses in it (VSOCK, TIPC, the Firecracker proxy's unix path)
- :mod:`.params`: the socket options it sets and their ``LEVEL:OPTION:VALUE`` syntax
- :mod:`.display`: ``unsock control show`` (lines and JSON fields)
- :mod:`.fileio`: reading and writing the files safely
"""

from ..names import (
    AF_TIPC,
    AF_UNIX,
    AF_VSOCK,
    CID_NAMES,
    FAMILY_NAMES,
    TIPC_ADDR_ID,
    TIPC_ADDR_NAME,
    TIPC_ADDR_NAMESEQ,
    TIPC_ADDRTYPE_NAMES,
    TIPC_CLUSTER_SCOPE,
    TIPC_NODE_SCOPE,
    TIPC_SCOPE_NAMES,
    TIPC_ZONE_SCOPE,
    VMADDR_CID_ANY,
    VMADDR_CID_HOST,
    VMADDR_CID_HYPERVISOR,
    VMADDR_CID_LOCAL,
    VMADDR_FLAG_TO_HOST,
    VMADDR_PORT_ANY,
)
from .addresses import SOCKADDR_UN_SIZE, SUN_PATH_MAX, Dest, TipcAddress, UnixAddress, VsockAddress
from .errors import ControlFileError
from .fileio import resolve_uds
from .params import (
    GROUP_REQ_OPTIONS,
    LEVEL_NAMES,
    LEVELS,
    MAX_PARAMETERS,
    OPTIONS,
    SOL_SOCKET,
    SOL_TCP,
    SOL_TIPC,
    SOL_VSOCK,
    TIMEVAL_OPTIONS,
    UINT64_OPTIONS,
    VALUE_SIZE,
    Parameter,
)
from .record import (
    KNOWN_OPTIONS,
    MAGIC,
    OPT_FIRECRACKER_PROXY,
    RECORD_SIZE,
    SOCKADDR_AREA,
    ControlFile,
    read_file,
    write_file,
)

__all__ = [
    "AF_TIPC",
    "AF_UNIX",
    "AF_VSOCK",
    "CID_NAMES",
    "FAMILY_NAMES",
    "GROUP_REQ_OPTIONS",
    "KNOWN_OPTIONS",
    "LEVELS",
    "LEVEL_NAMES",
    "MAGIC",
    "MAX_PARAMETERS",
    "OPTIONS",
    "OPT_FIRECRACKER_PROXY",
    "RECORD_SIZE",
    "SOCKADDR_AREA",
    "SOCKADDR_UN_SIZE",
    "SOL_SOCKET",
    "SOL_TCP",
    "SOL_TIPC",
    "SOL_VSOCK",
    "SUN_PATH_MAX",
    "TIMEVAL_OPTIONS",
    "TIPC_ADDRTYPE_NAMES",
    "TIPC_ADDR_ID",
    "TIPC_ADDR_NAME",
    "TIPC_ADDR_NAMESEQ",
    "TIPC_CLUSTER_SCOPE",
    "TIPC_NODE_SCOPE",
    "TIPC_SCOPE_NAMES",
    "TIPC_ZONE_SCOPE",
    "UINT64_OPTIONS",
    "VALUE_SIZE",
    "VMADDR_CID_ANY",
    "VMADDR_CID_HOST",
    "VMADDR_CID_HYPERVISOR",
    "VMADDR_CID_LOCAL",
    "VMADDR_FLAG_TO_HOST",
    "VMADDR_PORT_ANY",
    "ControlFile",
    "ControlFileError",
    "Dest",
    "Parameter",
    "TipcAddress",
    "UnixAddress",
    "VsockAddress",
    "read_file",
    "resolve_uds",
    "write_file",
]
