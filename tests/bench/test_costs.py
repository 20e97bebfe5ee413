"""benchmarks/costs.py counts what a connection costs (strace -c over connrate.c's connections):
a converted client makes one system call more than a native unix client (the bind that names
it, which its server reports as its address) and its server none; with UNSOCK_IP_AT_SOCKET=1
the swap of descriptors adds its own, and reads the socket's options back; the floor shim, its
yardstick, makes the native calls (and the bind, naming its client). Counts, not timings."""

from __future__ import annotations

import os

import pytest
from benchmarks.costs import count, cpu_per_connection

from tests.helpers.programs import require_program
from unsock import library_path


@pytest.fixture(scope="module")
def counts() -> dict[str, dict[str, dict[str, float]]]:
    require_program("strace")
    return count(library_path(), 300)


def calls(counts: dict[str, dict[str, dict[str, float]]], way: str, side: str) -> dict[str, int]:
    return {name: round(n) for name, n in counts[way][side].items()}


def test_a_converted_connection_costs_one_system_call_more(counts):
    native = calls(counts, "native unix", "client")
    assert native == {"socket": 1, "connect": 1, "write": 1, "read": 1, "close": 1}
    assert calls(counts, "unsock", "client") == {**native, "bind": 1}
    assert calls(counts, "unsock", "server") == calls(counts, "native unix", "server")
    # The yardstick makes the same calls: native ones, and the bind when it names its client.
    assert calls(counts, "floor shim", "client") == native
    assert calls(counts, "floor shim, naming its client", "client") == {**native, "bind": 1}
    assert calls(counts, "floor shim", "server") == calls(counts, "native unix", "server")


def test_the_unconverted_path_makes_no_system_call_more(counts):
    for side in ("client", "server"):
        assert calls(counts, "unsock, the address not covered (TCP)", side) == calls(counts, "native TCP", side)


def test_the_swap_costs_five_more_and_reads_the_options_back(counts):
    late = calls(counts, "unsock, UNSOCK_IP_AT_SOCKET=1", "client")
    # The swap reads every carried option back (a raw setsockopt may have set it): one
    # getsockopt each that the kernel answers for a TCP socket.
    assert late.pop("getsockopt") >= 20
    assert late == {"socket": 2, "fcntl": 2, "dup3": 1, "bind": 1, "connect": 1, "write": 1, "read": 1, "close": 2}


def test_cpu_per_connection_runs_every_way_taking_turns():
    # Timed, so only that it runs: every way gives a CPU time per connection (--cpu).
    cost = cpu_per_connection(library_path(), turns=2, turn_ms=20, cpu=max(os.sched_getaffinity(0)),
                              mode="server-first")
    assert set(cost) == {"native unix", "unsock", "unsock, UNSOCK_IP_AT_SOCKET=1", "floor shim",
                         "floor shim, naming its client", "native TCP", "unsock, the address not covered (TCP)"}
    assert all(v > 0 for v in cost.values()), cost
