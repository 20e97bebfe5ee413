"""Turning results into a markdown table, a JSON file and a PNG chart.

Every ratio is computed inside one repeat (both numbers measured minutes
apart at most, in rotating order) and the median of those per-repeat ratios
is reported: on a shared machine absolute numbers swing far more between
repeats than ratios do."""

from __future__ import annotations

import statistics
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .contenders import BASELINES, Contender
from .runner import Cell, Results
from .workloads import Metric

SOCAT = ("socat", "socat-nodelay")


@dataclass(frozen=True)
class Goal:
    text: str
    metrics: tuple[str, ...]
    baseline: tuple[str, ...]  # several: the best of them in each repeat
    target: float
    at_least: bool  # ratio >= target, else ratio <= target
    who: tuple[str, ...] = ()  # the contenders it is for; none: every one that converts


CONNECTIONS = ("connrate-client-first", "connrate-server-first", "nginx-conn")
UNCONVERTED = ("unsock-uncovered",)

GOALS = (
    Goal("bulk throughput >= 0.97x native unix", ("bulk",), ("unix",), 0.97, True),
    Goal("connection rate >= 0.95x native unix", CONNECTIONS, ("unix",), 0.95, True),
    Goal("latency p50 <= 1.05x native unix", ("latency-p50",), ("unix",), 1.05, False),
    Goal("bulk throughput >= 5x a socat proxy", ("bulk",), SOCAT, 5.0, True),
    Goal("connection rate >= 10x a socat proxy", ("connrate-client-first", "connrate-server-first"), SOCAT, 10.0,
         True),
    Goal("unconverted connection rate >= 0.97x TCP", CONNECTIONS, ("tcp",), 0.97, True, UNCONVERTED),
    Goal("unconverted latency p50 <= 1.03x TCP", ("latency-p50",), ("tcp",), 1.03, False, UNCONVERTED),
)


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def per_repeat_ratios(r: Results, m: Metric, name: str, baseline: Sequence[str]) -> list[float]:
    """contender / baseline for each repeat in which both have a number (the
    best of several baselines)."""
    cells = r.cells[m.id]
    if name not in cells:
        return []
    out = []
    for i, v in enumerate(cells[name].values):
        base = [cells[b].values[i] for b in baseline if b in cells and i < len(cells[b].values)]
        base_ok = [b for b in base if b is not None and b > 0]
        if v is None or not base_ok:
            continue
        best = max(base_ok) if m.higher_is_better else min(base_ok)
        out.append(v / best)
    return out


def converting(c: Contender) -> bool:
    return c.server.launcher.converts or c.client.launcher.converts


def fmt(v: float | None) -> str:
    if v is None:
        return "n/a"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_ratio(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.2f}"
    return f"{med:.2f} ({' '.join(f'{x:.2f}' for x in values)})"


class Footnotes:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def mark(self, text: str) -> str:
        if text not in self.texts:
            self.texts.append(text)
        return f"[{self.texts.index(text) + 1}]"


def arrow(m: Metric) -> str:
    return "↑" if m.higher_is_better else "↓"


def goal_columns(r: Results) -> list[str]:
    """The contenders the goals are for: those that convert, and the unconverted path."""
    return [c.name for c in r.contenders if converting(c) or c.name in UNCONVERTED]


def goal_results(r: Results) -> list[dict[str, Any]]:
    out = []
    present = goal_columns(r)
    by_id = {m.id: m for m in r.metrics}
    for g in GOALS:
        per: dict[str, Any] = {}
        for name in present:
            if not (name in g.who if g.who else name not in UNCONVERTED):
                continue
            ratios: dict[str, float | None] = {}
            for mid in g.metrics:
                m = by_id.get(mid)
                ratios[mid] = median(per_repeat_ratios(r, m, name, g.baseline)) if m else None
            known = [v for v in ratios.values() if v is not None]
            met = None if len(known) < len(ratios) or not known else all(
                (v >= g.target) if g.at_least else (v <= g.target) for v in known
            )
            per[name] = {"ratios": ratios, "met": met}
        out.append({"goal": g.text, "target": g.target, "at_least": g.at_least, "baseline": list(g.baseline),
                    "results": per})
    return out


def call_overheads(r: Results) -> dict[str, dict[str, float | None]]:
    """Per call: variant minus native unix, median of per-repeat differences."""
    out: dict[str, dict[str, float | None]] = {}
    for call in r.calls:
        cells = r.call_cells[call]
        base = cells.get("unix")
        out[call] = {}
        for v in r.variants:
            if v.name in ("unix", "tcp") or base is None:
                continue
            diffs = [a - b for a, b in zip(cells[v.name].values, base.values, strict=False)
                     if a is not None and b is not None]
            out[call][v.name] = median(diffs)
    return out


def cell_json(cell: Cell) -> dict[str, Any]:
    if cell.na is not None and not cell.ok():
        return {"na": cell.na, "failures": cell.failures}
    return {"values": cell.values, "median": median(cell.ok()), "failures": cell.failures}


def to_json(r: Results, meta: dict[str, Any], chart: dict[str, str]) -> dict[str, Any]:
    metrics = []
    for m in r.metrics:
        ratios: dict[str, Any] = {}
        for b in BASELINES:
            ratios[b] = {}
            for c in r.contenders:
                if c.name == b:
                    continue
                pr = per_repeat_ratios(r, m, c.name, (b,))
                ratios[b][c.name] = {"per_repeat": pr, "median": median(pr)} if pr else {"na": "no pair of numbers"}
        metrics.append({
            "id": m.id, "title": m.title, "unit": m.unit, "higher_is_better": m.higher_is_better,
            "results": {name: cell_json(cell) for name, cell in r.cells[m.id].items()},
            "notes": r.notes[m.id], "ratios": ratios,
        })
    return {
        "meta": meta,
        "contenders": [
            {"name": c.name, "title": c.title,
             "server": {"transport": c.server.transport, "launcher": c.server.launcher.name},
             "client": {"transport": c.client.transport, "launcher": c.client.launcher.name},
             "proxy": c.proxy.describe() if c.proxy else None}
            for c in r.contenders
        ],
        "not_run": r.skipped,
        "metrics": metrics,
        "goals": goal_results(r),
        "calls": {
            "unit": "ns",
            "variants": [{"name": v.name, "title": v.title, "launcher": v.launcher.name, "transport": v.transport}
                         for v in r.variants],
            "results": {call: {name: cell_json(cell) for name, cell in cells.items()}
                        for call, cells in r.call_cells.items()},
            "overhead_vs_unix": call_overheads(r),
        },
        "chart": chart,
    }


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def markdown(r: Results, meta: dict[str, Any], chart: dict[str, str]) -> str:
    notes = Footnotes()
    names = [c.name for c in r.contenders]
    out = [f"Medians of {r.repeats} repeat{'s' if r.repeats != 1 else ''}; ↑ higher is better, ↓ lower is better. "
           "Ratios are contender / baseline within each repeat; the cell shows the median and, in brackets, "
           "each repeat's ratio.", ""]

    def value_cell(m: Metric, name: str) -> str:
        cell = r.cells[m.id][name]
        ok = cell.ok()
        if not ok:
            return "n/a " + notes.mark(f"{name}, {m.id}: {cell.na}")
        text = fmt(median(ok))
        if name in r.notes[m.id]:
            text += " " + notes.mark(f"{name}, {m.id}: {r.notes[m.id][name]}")
        if cell.failures:
            text += " " + notes.mark(f"{name}, {m.id}: {len(cell.failures)} repeat(s) failed: {cell.failures[0]}")
        return text

    rows = [[m.title, f"{m.unit} {arrow(m)}", *(value_cell(m, n) for n in names)] for m in r.metrics]
    out += table(["workload", "unit", *names], rows, "ll" + "r" * len(names))
    for b, title in (("unix", "Ratio to native unix"), ("tcp", "Ratio to TCP")):
        if b not in names:
            continue
        others = [n for n in names if n != b]
        rows = [[f"{m.title} {arrow(m)}", *(fmt_ratio(per_repeat_ratios(r, m, n, (b,))) for n in others)]
                for m in r.metrics]
        out += ["", f"**{title}**", ""]
        out += table(["workload", *others], rows, "l" + "r" * len(others))

    goals = goal_results(r)
    conv = goal_columns(r)
    if conv:
        rows = []
        for g in goals:
            row = [g["goal"]]
            for name in conv:
                res = g["results"].get(name)
                if res is None:
                    row.append("")
                    continue
                vals = [f"{v:.2f}" if v is not None else "n/a" for v in res["ratios"].values()]
                verdict = {True: "met", False: "**not met**", None: "n/a"}[res["met"]]
                row.append(f"{' / '.join(vals)}: {verdict}")
            rows.append(row)
        out += ["", "**Goals** (median per-repeat ratios; several numbers: client closes first / server closes "
                "first / nginx with a connection per request, as the goal names them; socat: the faster of the two "
                "socat variants in each repeat)", ""]
        out += table(["goal", *conv], rows, "l" + "r" * len(conv))

    if r.calls:
        over = call_overheads(r)
        vnames = [v.name for v in r.variants]
        extra = [n for n in vnames if n not in ("unix", "tcp") and "unix" in vnames]
        rows = []
        for call in r.calls:
            row = [call]
            for n in vnames:
                cell = r.call_cells[call][n]
                row.append(fmt(median(cell.ok())) if cell.ok() else "n/a")
            for n in extra:
                d = over[call].get(n)
                row.append("n/a" if d is None else f"{d:+,.0f}")
            rows.append(row)
        out += ["", "**Shim cost per call** (ns per call; one process measures each call as the median over "
                "batches of 100; a repeat takes the median of several such processes, the cell the median of the "
                "repeats; `X - unix`: extra time over the same call on a native unix socket)", ""]
        out += table(["call", *vnames, *(f"{n} - unix" for n in extra)], rows, "l" + "r" * (len(vnames) + len(extra)))
        legend = "; ".join(f"`{v.name}`: {v.title}" for v in r.variants)
        out += ["", f"Columns: {legend}."]

    out += ["", "Contenders: " + "; ".join(f"`{c.name}`: {c.title}" for c in r.contenders) + "."]
    for name, reason in r.skipped.items():
        out.append(f"Not run: `{name}`: {reason}.")
    if notes.texts:
        out += [""] + [f"[{i}] {t}" for i, t in enumerate(notes.texts, 1)]
    out += ["", f"Machine: {meta.get('machine', '?')}. Run: {meta.get('run', '?')}."]
    out.append(f"Chart: {chart['path']}" if "path" in chart else f"Chart: n/a: {chart['na']}")
    return "\n".join(out) + "\n"


def write_chart(r: Results, path: Path) -> dict[str, str]:
    """The ratio chart as PNG if matplotlib is importable, else why not."""
    try:
        import matplotlib  # type: ignore[import-not-found, unused-ignore]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return {"na": "matplotlib is not installed (`make bench` installs it: pip install '.[bench]')"}
    names = [c.name for c in r.contenders]
    panels = [(b, [n for n in names if n != b]) for b in BASELINES if b in names]
    if not panels or not r.metrics:
        return {"na": "no baseline contender ran"}
    fig, axes = plt.subplots(len(panels), 1, figsize=(14, 5 * len(panels)), squeeze=False)
    for ax, (b, others) in zip(axes[:, 0], panels, strict=True):
        width = 0.8 / max(len(others), 1)
        labels = [textwrap.fill(m.title, 22) + f"\n({'higher' if m.higher_is_better else 'lower'} is better)"
                  for m in r.metrics]
        for k, n in enumerate(others):
            xs, ys = [], []
            for i, m in enumerate(r.metrics):
                med = median(per_repeat_ratios(r, m, n, (b,)))
                if med is not None:
                    xs.append(i + (k - (len(others) - 1) / 2) * width)
                    ys.append(med)
            ax.bar(xs, ys, width=width, label=n)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(r.metrics)))
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_ylabel(f"ratio to {b}")
        ax.set_title(f"contender / {'native unix' if b == 'unix' else 'TCP'} (median of per-repeat ratios)")
        ax.legend(fontsize=8, ncol=len(others))
        ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"path": str(path)}
