"""`make bench` keeps working: a --quick run of the benchmark suite produces,
for every contender and workload, a number or an explicit n/a with a reason,
and writes the table, the JSON and (with matplotlib) the chart.
No timing is asserted: benchmarks are not tests."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.programs import IN_CI

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench")
    p = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=150, check=False,
    )
    assert p.returncode == 0, f"benchmark run failed:\n{p.stderr}\n{p.stdout}"
    data = json.loads((out / "results.json").read_text())
    return out, data, p.stderr


def is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v > 0


def check_cell(where: str, cell: dict[str, Any]) -> str | None:
    """The n/a reason of a cell, or None if it has a number."""
    if "na" in cell:
        assert isinstance(cell["na"], str) and cell["na"].strip(), f"{where}: n/a without a reason"
        return str(cell["na"])
    assert is_number(cell["median"]), f"{where}: no number: {cell}"
    assert cell["values"], where
    return None


def test_every_contender_and_workload_has_a_number_or_a_reason(quick_run: tuple[Path, dict[str, Any], str]) -> None:
    _, data, log = quick_run
    names = [c["name"] for c in data["contenders"]]
    assert {"tcp", "unix", "unsock", "unsock-client", "socat", "socat-nodelay"} <= set(names), names
    for name, reason in data["not_run"].items():
        assert reason.strip(), f"contender {name} not run without a reason"
    ids = {m["id"] for m in data["metrics"]}
    assert {"bulk", "iperf3", "connrate-client-first", "connrate-server-first", "latency-p50", "latency-p99",
            "nginx-wrk", "nginx-conn"} <= ids
    reasons = []
    for m in data["metrics"]:
        assert set(m["results"]) == set(names), m["id"]
        for name in names:
            reason = check_cell(f"{m['id']}/{name}", m["results"][name])
            if reason:
                reasons.append(f"{m['id']}/{name}: {reason}")
    # Only limits of the programs themselves may leave a cell empty: never
    # a failure of unsock, and never (in CI) a missing program.
    for r in reasons:
        assert "unix-socket mode" in r or "cannot connect to a unix socket" in r or (
            not IN_CI and "is not installed" in r
        ), f"unexpected n/a: {r}\n{log}"
    # The numbers the README's goals are about exist for unsock.
    by_id = {m["id"]: m for m in data["metrics"]}
    for mid in ("bulk", "connrate-client-first", "connrate-server-first", "latency-p50", "nginx-conn"):
        for name in ("tcp", "unix", "unsock", "unsock-client"):
            assert "median" in by_id[mid]["results"][name], f"{mid}/{name}: {by_id[mid]['results'][name]}"
        assert is_number(by_id[mid]["ratios"]["unix"]["unsock"]["median"])
        assert is_number(by_id[mid]["ratios"]["tcp"]["unsock"]["median"])


def test_per_call_costs(quick_run: tuple[Path, dict[str, Any], str]) -> None:
    _, data, _ = quick_run
    calls = data["calls"]
    variants = [v["name"] for v in calls["variants"]]
    assert {"tcp", "unix", "unsock", "unsock-unconverted"} <= set(variants)
    assert {"socket+connect+close", "bind", "accept", "getsockname", "setsockopt TCP_NODELAY"} <= set(calls["results"])
    for call, per in calls["results"].items():
        for name in variants:
            reason = check_cell(f"{call}/{name}", per[name])
            if reason:
                assert "does not apply to a unix socket" in reason, f"{call}/{name}: {reason}"
        assert "median" in per["unsock"], f"{call}: no number with the shim"


def test_table_json_and_chart_are_written(quick_run: tuple[Path, dict[str, Any], str]) -> None:
    out, data, _ = quick_run
    md = (out / "results.md").read_text()
    for text in ("| workload | unit | tcp | unix | unsock |", "Ratio to native unix", "Ratio to TCP", "Goals",
                 "Shim cost per call"):
        assert text in md
    assert data["meta"]["repeats"] == 1 and data["meta"]["quick"] is True
    if importlib.util.find_spec("matplotlib") is not None:
        png = Path(data["chart"]["path"])
        assert png == out / "ratios.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "matplotlib" in data["chart"]["na"]
        assert not (out / "ratios.png").exists()
        assert "Chart: n/a: matplotlib" in md
