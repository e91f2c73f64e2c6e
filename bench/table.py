"""One row of `make bench`'s table: a figure, the baseline measured in the same run, their ratio
and the goal it is held to (issue 10). Ratios are "higher is better": throughput over
throughput, or baseline latency over our latency."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    goal: str  # which goal of issue 10, e.g. "1 typename"
    figure: str  # what was measured, with its value: "Boka 4,812 req/s, p99 12 ms"
    baseline: str  # the same-run baseline, with its value
    ratio: float | None  # higher is better
    target: str  # e.g. ">= 0.9x", "p99 <= 250 ms"
    met: bool | None  # None: informational

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT met", None: "-"}[self.met]


def ratio_row(goal: str, figure: str, value: float, baseline: str, baseline_value: float,
              minimum: float, *, extra: str = "") -> Row:
    """A row whose goal is a minimum ratio value / baseline_value."""
    ratio = value / baseline_value if baseline_value else 0.0
    met = ratio >= minimum
    return Row(goal, figure, baseline, ratio, f">= {minimum:g}x{extra}", met)


def render(rows: list[Row]) -> str:
    header = ("goal", "figure", "baseline (same run)", "ratio", "target", "verdict")
    lines = [header] + [
        (r.goal, r.figure, r.baseline, "-" if r.ratio is None else f"{r.ratio:.2f}x", r.target, r.verdict)
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) + " |")
        if index == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    load = os.getloadavg()
    out.append(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
               f"({os.cpu_count()} cores)")
    return "\n".join(out)
