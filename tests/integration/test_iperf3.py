"""iperf3 server and client under the shim: control and data connections
converted, no error in the JSON reports, data moved, and one server serving
several tests in a row (forward, reverse, parallel streams)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers.output import Drain
from tests.helpers.proc import Unsock
from tests.helpers.programs import assert_no_tcp_listener, require_program

pytestmark = pytest.mark.program("iperf3")


def client(unsock: Unsock, port: int, *opts: str) -> dict[str, Any]:
    iperf3 = require_program("iperf3")
    out = unsock.run([iperf3, "-c", "127.0.0.1", "-p", str(port), "-J", *opts], check=False, timeout=60)
    report: dict[str, Any] = json.loads(out.stdout)
    assert "error" not in report, f"iperf3 {' '.join(opts)}: {report['error']}\n{out.stderr.decode()}"
    assert out.returncode == 0, out.stderr.decode()
    return report


def test_server_serves_tests_in_a_row(unsock: Unsock) -> None:
    port = 18501
    iperf3 = require_program("iperf3")
    server = unsock.start([iperf3, "-s", "-B", "127.0.0.1", "-p", str(port)], wait_port=port)
    server_out = Drain(server.stdout)
    assert_no_tcp_listener(port)

    runs = [("-t", "1"), ("-n", "100M", "-R"), ("-n", "100M", "-P", "2")]
    for opts in runs:
        report = client(unsock, port, *opts)
        connected = report["start"]["connected"]
        assert len(connected) == (2 if "-P" in opts else 1)
        for c in connected:  # getpeername/getsockname report TCP addresses
            assert (c["remote_host"], c["remote_port"], c["local_host"]) == ("127.0.0.1", port, "127.0.0.1"), c
        sent = report["end"]["sum_sent"]["bytes"]
        received = report["end"]["sum_received"]["bytes"]
        assert sent > 0 and received > 0, report["end"]
        if "-n" in opts:
            assert sent >= 100 * 1024 * 1024, report["end"]["sum_sent"]
        assert server.poll() is None, "iperf3 -s exited after a test"

    assert_no_tcp_listener(port)
    server.terminate()
    server.wait(15)
    log = server_out.result().decode()
    assert log.count("Accepted connection from 127.0.0.1") == len(runs), log
    assert "error" not in log.lower(), log
