"""unsock: run unmodified programs on Unix domain sockets instead of TCP.

The Python side validates configuration, compiles it into one rule list and launches programs
under an engine (:mod:`unsock.engines`); the work on the data path is done by the preloaded
shim ``libunsock.so``.
"""

from .config import Config, Range
from .engines import build_environment
from .errors import ConfigError, UnsockError
from .library import library_path

__version__ = "0.1.0"

__all__ = ["Config", "ConfigError", "Range", "UnsockError", "__version__", "build_environment", "library_path"]
