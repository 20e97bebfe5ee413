"""The ``unsock`` command."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence

from . import __version__, cli_control
from .config import format_ranges, parse_dir, parse_mode, parse_port, parse_ranges
from .errors import UnsockError
from .launch import build_environment, exec_program
from .library import library_path

EXIT_USAGE = 2
EXIT_NOT_FOUND = 127


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors in unsock's one-line form and status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"unsock: {message}: see '{self.prog} --help'\n")
        raise SystemExit(EXIT_USAGE)


def _config_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("configuration (each overrides its UNSOCK_* variable)")
    g.add_argument("--dir", metavar="DIR", help="socket directory (UNSOCK_DIR); default: a private per-user one")
    g.add_argument(
        "--addr",
        metavar="CIDR[,CIDR...]",
        help="IPv4/IPv6 addresses or ranges to convert (UNSOCK_ADDR), default 127.175.0.0/32",
    )
    g.add_argument("--port", metavar="N", help="convert only this port (UNSOCK_PORT), -1 for any")
    g.add_argument("--mode", metavar="OCTAL", help="permissions of created socket files (UNSOCK_MODE)")
    for flag, var in (
        ("block-inet", "UNSOCK_BLOCK_INET"),
        ("block-inet6", "UNSOCK_BLOCK_INET6"),
        ("accept-convert-all", "UNSOCK_ACCEPT_CONVERT_ALL"),
        ("accept-convert-vsock", "UNSOCK_ACCEPT_CONVERT_VSOCK"),
    ):
        g.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction, default=None, help=f"set {var}")
    p.add_argument("-v", "--verbose", action="store_true", help="log every decision of the shim to stderr")


def _overrides(args: argparse.Namespace) -> dict[str, str]:
    """UNSOCK_* values from the options, each validated on its own so that the
    message names the option's value."""
    out: dict[str, str] = {}
    if args.dir is not None:
        out["UNSOCK_DIR"] = parse_dir(args.dir)
    if args.addr is not None:
        parse_ranges(args.addr)  # validated; passed on as written
        out["UNSOCK_ADDR"] = args.addr
    if args.port is not None:
        out["UNSOCK_PORT"] = str(parse_port(args.port))
    if args.mode is not None:
        out["UNSOCK_MODE"] = f"{parse_mode(args.mode):04o}"
    for attr, var in (
        ("block_inet", "UNSOCK_BLOCK_INET"),
        ("block_inet6", "UNSOCK_BLOCK_INET6"),
        ("accept_convert_all", "UNSOCK_ACCEPT_CONVERT_ALL"),
        ("accept_convert_vsock", "UNSOCK_ACCEPT_CONVERT_VSOCK"),
    ):
        value = getattr(args, attr)
        if value is not None:
            out[var] = "1" if value else "0"
    return out


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="unsock",
        description="Run unmodified programs on Unix domain sockets instead of TCP.",
    )
    parser.add_argument("--version", action="version", version=f"unsock {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="run a program with its covered TCP sockets on unix sockets")
    _config_options(run)
    run.add_argument("program", nargs=argparse.REMAINDER, metavar="-- PROGRAM [ARGS...]")

    env = sub.add_parser("env", help="print the export lines that 'unsock run' would set")
    _config_options(env)

    sub.add_parser("lib", help="print the absolute path of libunsock.so")
    cli_control.add_parser(sub, _Parser)
    return parser


def _run(args: argparse.Namespace) -> int:
    program = list(args.program)
    if program and program[0] == "--":
        program = program[1:]
    if not program:
        raise UnsockError("no program given: use 'unsock run [OPTIONS] -- PROGRAM [ARGS...]'")
    env, config = build_environment(os.environ, _overrides(args), verbose=args.verbose)
    if args.verbose:
        sys.stderr.write(f"unsock: socket directory {config.dir}, converting {format_ranges(config.ranges)}\n")
    exec_program(program, env)


def _env(args: argparse.Namespace) -> int:
    env, _ = build_environment(os.environ, _overrides(args), verbose=args.verbose)
    for name in sorted(k for k in env if k.startswith("UNSOCK_") or k == "LD_PRELOAD"):
        print(f"export {name}={shlex.quote(env[name])}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "env":
            return _env(args)
        if args.command == "control":
            return cli_control.run(args)
        print(library_path())
        return 0
    except UnsockError as e:
        sys.stderr.write(f"unsock: {e}\n")
        return EXIT_NOT_FOUND if str(e).startswith("cannot run") else EXIT_USAGE
