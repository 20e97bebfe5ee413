"""unsock: run unmodified programs on Unix domain sockets instead of TCP.

The Python side validates configuration, compiles it into one rule list and launches programs
under an engine (:mod:`unsock.engines`); the work on the data path is done by the preloaded
shim ``libunsock.so``.
"""

from .api import HTTPConnection, Popen, command, connect, environment, rule_list, run, socket_path
from .config import Config, Range
from .engines import build_environment
from .errors import ConfigError, UnsockError
from .library import library_path
from .rules import AbstractAction, IgnoreAction, PathAction, RejectAction, Rule, RuleError
from .server import Server, serve

__version__ = "0.1.0"

__all__ = [
    "AbstractAction",
    "Config",
    "ConfigError",
    "HTTPConnection",
    "IgnoreAction",
    "PathAction",
    "Popen",
    "Range",
    "RejectAction",
    "Rule",
    "RuleError",
    "Server",
    "UnsockError",
    "__version__",
    "build_environment",
    "command",
    "connect",
    "environment",
    "library_path",
    "rule_list",
    "run",
    "serve",
    "socket_path",
]
