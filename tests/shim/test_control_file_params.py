"""Control files the shim reads well: a family the host lacks is logged, and
parameters are set with the length their option needs (8-byte vsock buffer sizes)."""

import errno

import pytest

from tests.shim.test_control_file_errors import PORT, have_tipc, place, run


@pytest.mark.parametrize("mode", ["connect", "bind"])
def test_tipc_file_without_af_tipc_is_logged(unsock, cprog, mode):
    """socket(AF_TIPC) failing in the swap gives EAFNOSUPPORT with no
    `unsock:` line at all: the user cannot tell the file was read."""
    if have_tipc():
        pytest.skip("this host has AF_TIPC")
    place(unsock, "tipc-service-address")
    err, _, log = run(unsock, cprog, mode)
    assert err == errno.EAFNOSUPPORT
    assert any(f"control file {unsock.path(PORT)}: tipc " in ln and "no socket of that family" in ln for ln in log), log


def test_vsock_buffer_size_parameter_is_applied(unsock, cprog):
    """vsock-3-params holds AF_VSOCK:SO_VM_SOCKETS_BUFFER_MAX_SIZE as a
    uint64 (8 bytes); the shim passes optlen 4 and vsock answers EINVAL."""
    place(unsock, "vsock-3-params")
    p = unsock.run([str(cprog("ctlerrors")), "bind", "127.0.0.2", str(PORT), str(PORT + 1)],
                   env=unsock.env(UNSOCK_DEBUG="1"), timeout=10, check=False)
    assert "not applied" not in p.stderr.decode(), p.stderr
