"""unsock: run unmodified programs on Unix domain sockets instead of TCP.

The Python side validates configuration, compiles it into one rule list and launches programs
under an engine (:mod:`unsock.engines`); the work on the data path is done by the preloaded
shim ``libunsock.so``.
"""

from pathlib import Path

from .api import HTTPConnection, Popen, command, connect, environment, rule_list, run, socket_path
from .config import Config, Range
from .engines import build_environment
from .errors import ConfigError, UnsockError
from .library import library_path
from .rules import AbstractAction, IgnoreAction, PathAction, RejectAction, Rule, RuleError
from .server import Server, serve

# The one place the version is written is the file VERSION beside this one, which meson.build (and
# through it the wheel's metadata, pyproject.toml) reads too.
__version__ = Path(__file__).with_name("VERSION").read_text().strip()

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
