"""What a scenario measured: named figures, the targets they are held to, and the series the
plot draws; plus the small statistics every scenario uses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


def quantile(values: list[float], q: float) -> float:
    """The `q` quantile (0..1) by the nearest-rank method: a value that was measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> float:
    """Seconds as milliseconds, rounded to 0.1 ms."""
    return round(seconds * 1000, 1)


def latency_ms(values: list[float], prefix: str, *quantiles: float) -> dict[str, float]:
    """`{prefix}_p50_ms: …, …, {prefix}_max_ms: …` for the given quantiles (in %)."""
    out = {f"{prefix}_p{q:g}_ms": ms(quantile(values, q / 100)) for q in quantiles}
    out[f"{prefix}_max_ms"] = ms(max(values)) if values else math.nan
    return out


@dataclass(frozen=True)
class Target:
    """A figure's goal: `at_most` or `at_least` this value."""

    figure: str
    limit: float
    at_most: bool = True

    def met(self, value: float) -> bool:
        """True when `value` meets the goal."""
        return value <= self.limit if self.at_most else value >= self.limit

    def describe(self) -> str:
        """`≤ 8` or `≥ 95`."""
        return f"{'≤' if self.at_most else '≥'} {self.limit:g}"


@dataclass
class Result:
    """One scenario's outcome. `figures` are flat name → number (or short text); `series`
    are lists for the plot and the JSON; `notes` say how a figure is defined."""

    name: str
    title: str
    params: dict[str, Any]
    figures: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    series: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def verdicts(self) -> list[dict[str, Any]]:
        """Each target with the measured value, whether it was met, and the miss."""
        verdicts = []
        for target in self.targets:
            value = self.figures.get(target.figure)
            met = isinstance(value, int | float) and target.met(float(value))
            miss = None
            if not met and isinstance(value, int | float):
                miss = round(abs(float(value) - target.limit), 3)
            verdicts.append(
                {
                    "figure": target.figure,
                    "target": target.describe(),
                    "value": value,
                    "met": met,
                    "miss_by": miss,
                }
            )
        return verdicts

    def as_json(self) -> dict[str, Any]:
        """Everything, for `--json`."""
        return {
            "title": self.title,
            "params": self.params,
            "figures": self.figures,
            "targets": self.verdicts(),
            "notes": self.notes,
            "series": self.series,
        }
