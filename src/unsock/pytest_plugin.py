"""pytest fixtures for port-free test isolation (registered through the ``pytest11`` entry point;
they do nothing until a test asks for one). Each test gets a private socket directory, so that
two tests, or two pytest-xdist workers, can each run a server "on port 8080" at once:

    def test_api(unsock_server):
        srv = unsock_server(["python3", "-m", "http.server", "--bind", "127.0.0.1", "8080"], 8080)
        conn = srv.http()
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from .api import LOOPBACK, environment
from .server import Server, serve

ServerFactory = Callable[..., Server]


@pytest.fixture
def unsock_dir() -> Iterator[Path]:
    """A private socket directory for this test, removed afterwards (short: a unix socket's
    path holds 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="unsock-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def unsock_env(unsock_dir: Path) -> dict[str, str]:
    """The environment for :mod:`subprocess` in which 127.0.0.1's sockets are this test's
    socket files (:func:`unsock.environment`)."""
    return environment(dir=unsock_dir, addr=f"{LOOPBACK}/32")


@pytest.fixture
def unsock_server(unsock_dir: Path) -> Iterator[ServerFactory]:
    """``unsock_server(argv, port, **options)`` starts a server under unsock in this test's
    socket directory and returns once it serves (:func:`unsock.serve`); it is stopped after
    the test."""
    with contextlib.ExitStack() as stack:

        def start(argv: Sequence[str], port: int, **options: Any) -> Server:
            if options.get("rules") is None:
                options.setdefault("dir", unsock_dir)
            return stack.enter_context(serve(argv, port, **options))

        yield start
