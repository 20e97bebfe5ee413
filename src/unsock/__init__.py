"""unsock: run unmodified programs on Unix domain sockets instead of TCP.

The Python side validates configuration, compiles it into one rule list and launches programs
under an engine (:mod:`unsock.engines`); the work on the data path is done by the preloaded
shim ``libunsock.so``.
"""

from pathlib import Path

from .config import Config, Range
from .engines import build_environment
from .errors import ConfigError, UnsockError
from .library import library_path

# The one place the version is written is the file VERSION beside this one, which meson.build (and
# through it the wheel's metadata, pyproject.toml) reads too.
__version__ = Path(__file__).with_name("VERSION").read_text().strip()

__all__ = ["Config", "ConfigError", "Range", "UnsockError", "__version__", "build_environment", "library_path"]
