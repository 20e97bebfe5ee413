"""The `guest` fixture: a QEMU guest with AF_VSOCK loopback and AF_TIPC (tests/vm/harness.py).
Missing qemu, busybox-static or the kernel skips locally and fails in CI."""

from __future__ import annotations

import pytest

from tests.helpers.programs import IN_CI, require_program
from tests.vm.harness import Guest, HarnessUnavailable


@pytest.fixture(scope="session")
def guest() -> Guest:
    """The prepared guest (kernel downloaded and initramfs built once, cached in build/vm/)."""
    require_program("qemu-system-x86_64")
    require_program("busybox")
    try:
        return Guest.prepare()
    except HarnessUnavailable as e:
        if IN_CI:
            pytest.fail(str(e))
        pytest.skip(str(e))
