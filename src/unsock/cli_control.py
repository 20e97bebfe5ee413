"""``unsock control``: create and inspect control files (VSOCK, TIPC, Firecracker)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .controlfile import MAX_PARAMETERS, ControlFile, ControlFileError, Parameter, resolve_uds
from .names import TIPC_ADDR_NAME, TIPC_ADDRTYPES, TIPC_CLUSTER_SCOPE, TIPC_SCOPES, U32_MAX, VSOCK_CIDS
from .rules.control import control_action

EXIT_FAILED = 1
EXIT_USAGE = 2



def add_parser(sub: argparse._SubParsersAction[Any], parser_class: type[argparse.ArgumentParser]) -> None:
    """Add ``control`` and its subcommands to the top-level subparsers."""
    control = sub.add_parser(
        "control",
        help="create or inspect a control file (VSOCK, TIPC, Firecracker)",
        description="Create or inspect the control files that send a converted socket to AF_VSOCK, "
        "AF_TIPC or a Firecracker vsock multiplexer. Place the file where the socket would be "
        "(DIR/PORT.sock).",
    )
    csub: argparse._SubParsersAction[Any] = control.add_subparsers(
        dest="control_command", required=True, metavar="KIND", parser_class=parser_class
    )

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("file", metavar="FILE", help="the control file to write, e.g. DIR/8080.sock")
        p.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="LEVEL:OPTION:VALUE",
            help=f"a socket option to set, up to {MAX_PARAMETERS} times, "
            "e.g. SOL_SOCKET:SO_RCVTIMEO:1.5 or SOL_SOCKET:SO_RCVBUF:65536 or 1:8:65536",
        )
        p.add_argument("--force", action="store_true", help="replace an existing control file")

    vsock = csub.add_parser("vsock", help="bind/connect through AF_VSOCK")
    common(vsock)
    vsock.add_argument("--port", required=True, metavar="P", help="VSOCK port (-1: any)")
    vsock.add_argument(
        "--cid", default="any", metavar="C", help="context id: any (-1, default), host (2), local (1), or a number"
    )

    tipc = csub.add_parser("tipc", help="bind/connect through AF_TIPC")
    common(tipc)
    tipc.add_argument("--type", required=True, metavar="T", help="service type (or socket ref for --addrtype 3)")
    tipc.add_argument("--lower", required=True, metavar="L", help="instance / lower bound (or node for --addrtype 3)")
    tipc.add_argument(
        "--upper", metavar="U", help="upper bound (service range) or lookup domain (service address); default: "
        "the lower bound for a range, 0 otherwise"
    )
    tipc.add_argument(
        "--addrtype",
        default=str(TIPC_ADDR_NAME),
        metavar="A",
        help="2 or service (default), 1 or range, 3 or socket (id)",
    )
    tipc.add_argument("--scope", default=str(TIPC_CLUSTER_SCOPE), metavar="S", help="2 or cluster (default), 3 or node")

    fc = csub.add_parser("firecracker", help="connect through a Firecracker vsock multiplexer (CONNECT <port>)")
    common(fc)
    fc.add_argument("--uds", required=True, metavar="PATH", help="the multiplexer's unix socket (stored absolute)")
    fc.add_argument("--port", required=True, metavar="P", help="the guest's VSOCK port")

    show = csub.add_parser("show", help="print what a control file says, or what is wrong with it")
    show.add_argument("file", metavar="FILE")
    show.add_argument("--json", action="store_true", help="print the fields as JSON")


def _u32(option: str, text: str, *, names: dict[str, int] | None = None, allow_any: bool = False) -> int:
    names = names or {}
    key = text.strip().lower()
    if key in names:
        return names[key]
    try:
        value = int(key, 0)
    except ValueError:
        value = None
    if value == -1 and allow_any:
        return U32_MAX
    if value is None or not 0 <= value <= U32_MAX:
        choices = "".join(f"{n}, " for n in names)
        extra = "-1 (any), " if allow_any else ""
        raise ControlFileError(f"{option} '{text}' is not valid: use {choices}{extra}or a number from 0 to {U32_MAX}")
    return value


def _parameters(texts: list[str]) -> tuple[Parameter, ...]:
    if len(texts) > MAX_PARAMETERS:
        raise ControlFileError(
            f"{len(texts)} --param options given, at most {MAX_PARAMETERS} fit in a control file: drop some"
        )
    return tuple(Parameter.parse(t) for t in texts)


def _build(args: argparse.Namespace) -> ControlFile:
    params = _parameters(args.param)
    if args.control_command == "vsock":
        return ControlFile.vsock(
            port=_u32("--port", args.port, allow_any=True),
            cid=_u32("--cid", args.cid, names=VSOCK_CIDS, allow_any=True),
            parameters=params,
        )
    if args.control_command == "tipc":
        return ControlFile.tipc(
            type=_u32("--type", args.type),
            lower=_u32("--lower", args.lower),
            upper=None if args.upper is None else _u32("--upper", args.upper),
            addrtype=_u32("--addrtype", args.addrtype, names=TIPC_ADDRTYPES),
            scope=_u32("--scope", args.scope, names=TIPC_SCOPES),
            parameters=params,
        )
    port = _u32("--port", args.port)
    return ControlFile.firecracker(resolve_uds(args.uds), port, parameters=params)


def _show(args: argparse.Namespace) -> int:
    try:
        record = ControlFile.read(args.file)
    except ControlFileError as e:
        sys.stderr.write(f"unsock: {e}\n")
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"file": args.file, **record.to_dict()}, indent=2))
    else:
        lines = record.describe()
        print(f"{args.file}: {lines[0]}")
        for line in lines[1:]:
            print(line)
        action, left_out = control_action(record)
        if action is None:
            print(f"  as a rule target: none: {left_out}")
        else:
            print(f"  as a rule target: {action.canonical()}" + (f" (without {left_out})" if left_out else ""))
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``unsock control ...``; the exit status."""
    if args.control_command == "show":
        return _show(args)
    try:
        record = _build(args)
    except ControlFileError as e:
        sys.stderr.write(f"unsock: {e}\n")
        return EXIT_USAGE
    try:
        record.write(args.file, force=args.force)
    except ControlFileError as e:
        sys.stderr.write(f"unsock: {e}\n")
        return EXIT_FAILED
    lines = record.describe()
    print(f"wrote {args.file}: {lines[0]}")
    for line in lines[1:]:
        print(line)
    return 0
