"""The ``unsock`` command."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import Any, cast

from . import __version__, cli_control, cli_docs, doctor, ls
from .api import Engine, engine_for, under_engine
from .config import format_ranges, parse_dir, parse_mode, parse_port, parse_ranges
from .engines import exec_program, preload
from .engines.choose import ENGINES, program_libc
from .environment import Environment, inherited_rules, prepare_environment
from .errors import ConfigError, UnsockError
from .library import LIBCS, library_path
from .rules import Rule, RulesError, compile_rules, format_table, parse_rules

EXIT_INVALID = 1
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
        ("peer-loopback", "UNSOCK_PEER_LOOPBACK"),
        ("ip-at-socket", "UNSOCK_IP_AT_SOCKET"),
    ):
        g.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction, default=None, help=f"set {var}")
    p.add_argument("-v", "--verbose", action="store_true", help="log every decision of the shim to stderr")


class _RuleSource(argparse.Action):
    """-r and -f append to one list, so that the rules keep the command line's order."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        sources: list[tuple[str, str]] = list(getattr(namespace, "rules", None) or [])
        sources.append((self.const, str(values)))
        namespace.rules = sources


def _rule_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("rules (docs/rules.md); they replace --dir, --addr, --port, --mode, --block-inet")
    g.add_argument("-r", "--rule", action=_RuleSource, const="-r", dest="rules", default=[], metavar="RULE",
                   help="a rule, e.g. in,tcp,port=8080,path=/run/app/http.sock (repeatable)")
    g.add_argument("-f", "--rules-file", action=_RuleSource, const="-f", dest="rules", default=[], metavar="FILE",
                   help="a file of rules, one per line (repeatable, mixed with -r in order)")


_REPLACED_BY_RULES = (("dir", "--dir"), ("addr", "--addr"), ("port", "--port"), ("mode", "--mode"),
                      ("block_inet", "--block-inet"))


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
        ("peer_loopback", "UNSOCK_PEER_LOOPBACK"),
        ("ip_at_socket", "UNSOCK_IP_AT_SOCKET"),
    ):
        value = getattr(args, attr)
        if value is not None:
            out[var] = "1" if value else "0"
    return out


def build_parser() -> argparse.ArgumentParser:
    """The whole command line (also what the manual page and the completion are made from)."""
    parser = _Parser(
        prog="unsock",
        description="Run unmodified programs on Unix domain sockets instead of TCP.",
    )
    parser.add_argument("--version", action="version", version=f"unsock {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="run a program with its covered TCP sockets on unix sockets")
    _config_options(run)
    _rule_options(run)
    run.add_argument("--log", metavar="FILE", help="append the shim's decision log to FILE (sets UNSOCK_DEBUG=1)")
    run.add_argument("--engine", choices=ENGINES, default=None,
                     help="how the program runs: preload (LD_PRELOAD), seccomp (a supervisor, for static and Go "
                     "programs) or auto (by the program's file; the default, also UNSOCK_ENGINE)")
    run.add_argument("program", nargs=argparse.REMAINDER, metavar="-- PROGRAM [ARGS...]")

    env = sub.add_parser("env", help="print the export lines that 'unsock run' would set")
    _config_options(env)
    _rule_options(env)
    env.add_argument("--log", metavar="FILE", help="as for 'unsock run'")

    rules = sub.add_parser(
        "rules",
        help="show or check the rules a program would run with",
        description="Show or check rules (-r/-f, else UNSOCK_RULES, else the ones the UNSOCK_* variables and "
        "the options stand for). Prints the table when no other output is asked for.",
    )
    _config_options(rules)
    _rule_options(rules)
    rules.add_argument("--print", action="store_true", help="print the rules as a table")
    rules.add_argument("--compiled", action="store_true", help="print the compiled form (UNSOCK_RULES)")
    rules.add_argument("--check", action="store_true",
                       help="only validate: print every error, exit 0 if there is none, 1 otherwise")
    rules.add_argument("--engine", choices=ENGINES, default=None, help="as for 'unsock run' (with PROGRAM)")
    rules.add_argument("program", nargs="?", metavar="PROGRAM",
                       help="also say which engine would run PROGRAM, and why")

    lib = sub.add_parser("lib", help="print the absolute path of libunsock.so (the build for this system's C "
                         "library)")
    lib.add_argument("--libc", choices=LIBCS, default=None,
                     help="the build for programs of this C library (libunsock-musl.so on a glibc system)")
    cli_control.add_parser(sub, _Parser)

    lister = sub.add_parser(
        "ls", help="list the live converted sockets, their ports and the processes holding them",
        description="List the converted sockets that are live now (stream listeners and bound datagram sockets): "
        "the socket file, the port or address it stands for, type, mode, owner, the established connections, "
        "each process holding it and the rule that made it. Read from /proc. Sockets are recognised by the "
        "names the rules (-r/-f) make, else those of --dir, else of UNSOCK_RULES or UNSOCK_DIR, else any "
        "DIR/PORT.sock and DIR/PORT.udp. Only your own, unless you are root or give --all.",
    )
    lister.add_argument("--dir", metavar="DIR", help="only DIR/PORT.sock and DIR/PORT.udp sockets")
    _rule_options(lister)
    lister.add_argument("-a", "--all", action="store_true", help="every user's sockets (the default for root)")
    lister.add_argument("--json", action="store_true", help="print a JSON list instead of the table")

    doc = sub.add_parser(
        "doctor", help="check what unsock needs on this system, and say how to fix what is missing",
        description="Check the kernel features of each engine, AF_VSOCK and AF_TIPC, the shim, the socket "
        "directory, ptrace restrictions and whether the --user can run unsock; with PROGRAM, which engine runs it and "
        "why. One line per check (ok, note, missing, problem), with the fix. Exits 0 only when nothing needed "
        "is missing.",
    )
    doc.add_argument("--dir", metavar="DIR", help="the socket directory to check (default: UNSOCK_DIR, else the "
                     "private per-user one)")
    doc.add_argument("--user", metavar="NAME", help="check for the user a service runs as (e.g. postgres)")
    doc.add_argument("--engine", choices=ENGINES, default=None, help="as for 'unsock run' (with PROGRAM)")
    doc.add_argument("program", nargs=argparse.REMAINDER, metavar="-- PROGRAM [ARGS...]",
                     help="also check that this program can run, and with which engine")
    cli_docs.add_parsers(sub)
    return parser


def _given_rules(args: argparse.Namespace, base: Mapping[str, str]) -> list[Rule] | None:
    """The rules of -r/-f, else of an inherited UNSOCK_RULES, else None (the
    UNSOCK_* variables apply). Options that rules replace are a usage error."""
    if args.rules:
        rules = parse_rules(args.rules)
        if not rules:  # an empty UNSOCK_RULES would leave the UNSOCK_* variables in charge
            files = " ".join(value for _, value in args.rules)
            raise RulesError([f"no rule in {files}: add one, or leave out -f"])
    else:
        inherited = inherited_rules(base)
        if inherited is None:
            return None
        rules = inherited
    for attr, flag in _REPLACED_BY_RULES:
        if getattr(args, attr) is not None:
            raise UnsockError(f"{flag} cannot be used with rules: say where sockets go in the rules instead")
    return rules


def _environment(args: argparse.Namespace) -> Environment:
    """The program's environment with its rules compiled, before an engine is chosen."""
    base = dict(os.environ)
    return prepare_environment(base, _overrides(args), rules=_given_rules(args, base), verbose=args.verbose,
                               log_file=getattr(args, "log", None))


def _engine(args: argparse.Namespace) -> Engine:
    """--engine, else UNSOCK_ENGINE, else auto."""
    engine = args.engine or os.environ.get("UNSOCK_ENGINE") or "auto"
    if engine not in ENGINES:
        raise UnsockError(f"UNSOCK_ENGINE='{engine}' is not an engine: use auto, preload or seccomp")
    return cast(Engine, engine)


def _run(args: argparse.Namespace) -> int:
    program = list(args.program)
    if program and program[0] == "--":
        program = program[1:]
    if not program:
        raise UnsockError("no program given: use 'unsock run [OPTIONS] -- PROGRAM [ARGS...]'")
    prepared = _environment(args)
    command, env, choice = under_engine(program, prepared.env, _engine(args))
    if args.verbose:
        sys.stderr.write(f"unsock: engine {choice.engine}: {choice.why}\n")
        shim = env.get("LD_PRELOAD") or env.get("UNSOCK_SUPERVISOR_PRELOAD")
        if shim:
            sys.stderr.write(f"unsock: shim {shim.split()[0]}\n")
        config, n = prepared.config, len(prepared.rules)
        if config is None:
            sys.stderr.write(f"unsock: {n} rule{'' if n == 1 else 's'} in UNSOCK_RULES\n")
        else:
            sys.stderr.write(f"unsock: socket directory {config.dir}, converting {format_ranges(config.ranges)}\n")
    exec_program(command, env)


def _env(args: argparse.Namespace) -> int:
    _, env = preload.prepare((), _environment(args).env)
    for name in sorted(k for k in env if k.startswith("UNSOCK_") or k == "LD_PRELOAD"):
        print(f"export {name}={shlex.quote(env[name])}")
    return 0


def _rules(args: argparse.Namespace) -> int:
    try:
        rules = _environment(args).rules
    except ConfigError as e:
        if not args.check:
            raise
        for line in str(e).splitlines():
            sys.stderr.write(f"unsock: {line}\n")
        return EXIT_INVALID
    if args.compiled:
        text = compile_rules(rules)
        if text:
            print(text)
    if args.print or not (args.check or args.compiled):
        sys.stdout.write(format_table(rules))
    if args.program:
        choice = engine_for(args.program, _engine(args), os.environ)
        print(f"engine {choice.engine}: {choice.why}")
        if choice.engine == "preload":
            print(f"shim {library_path(program_libc(args.program, os.environ))}")
    return 0


def _ls(args: argparse.Namespace) -> int:
    if args.rules:
        if args.dir is not None:
            raise UnsockError("--dir cannot be used with rules: say where sockets go in the rules instead")
        namings = ls.rule_namings(parse_rules(args.rules))
    elif args.dir is not None:
        namings = ls.default_namings(parse_dir(args.dir))
    else:
        namings = ls.environment_namings(os.environ)
    uid = None if args.all or os.geteuid() == 0 else os.getuid()
    found = ls.list_sockets(namings, uid=uid)
    if args.json:
        print(json.dumps([x.to_json() for x in found], indent=2))
    else:
        sys.stdout.write(ls.format_table(found))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    program = [p for p in args.program if p != "--"][:1]
    checks = doctor.run_checks(doctor.Options(
        program=program[0] if program else None, engine=_engine(args), user=args.user, directory=args.dir,
    ))
    sys.stdout.write(doctor.report(checks))
    return 0 if doctor.healthy(checks) else EXIT_INVALID


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "env":
            return _env(args)
        if args.command == "rules":
            return _rules(args)
        if args.command == "control":
            return cli_control.run(args)
        if args.command in cli_docs.COMMANDS:
            return cli_docs.run(args)
        if args.command == "ls":
            return _ls(args)
        if args.command == "doctor":
            return _doctor(args)
        print(library_path(args.libc))
        return 0
    except UnsockError as e:
        for line in str(e).splitlines() or [""]:
            sys.stderr.write(f"unsock: {line}\n")
        return EXIT_NOT_FOUND if str(e).startswith("cannot run") else EXIT_USAGE
