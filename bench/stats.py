"""What a benchmark produces: figures (median and spread of repeated samples, with their budget) and
checks (ratios against a baseline measured in the same run, which decide whether the quick run fails).

Ratios, not absolute times, gate CI: a shared or slow machine stretches both sides of a ratio alike,
while a regression (an eager heavy import, per-step work that grows with history) moves only one side.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class Figure:
    """One row of the results table. `samples` are in `unit`; an empty list means "not measured"."""

    name: str
    samples: list[float]
    unit: str  # "ms", "s", "MB", "KB", "x", "tokens", ...
    budget: str = ""  # as shown, e.g. "< 300 ms"
    limit: float | None = None  # the budget in `unit`, for the status column (median must stay below)
    note: str = ""  # why it was not measured, or what the number means

    @property
    def measured(self) -> bool:
        return bool(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)

    @property
    def status(self) -> str:
        if not self.measured:
            return "not measured"
        if self.limit is None:
            return ""
        return "ok" if self.median < self.limit else "OVER"

    def to_dict(self) -> dict:
        data = {
            "name": self.name,
            "unit": self.unit,
            "samples": self.samples,
            "budget": self.budget,
            "limit": self.limit,
            "note": self.note,
            "status": self.status,
        }
        if self.measured:
            data.update(median=self.median, min=self.low, max=self.high)
        return data


@dataclass
class Check:
    """A quick-mode gate: `value` (a ratio or count from this run) must stay below `limit`."""

    name: str
    value: float
    limit: float
    why: str  # what the ratio compares and what regression it catches

    @property
    def passed(self) -> bool:
        return self.value < self.limit

    def to_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "limit": self.limit, "passed": self.passed, "why": self.why}


@dataclass
class Section:
    title: str
    figures: list[Figure] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # extra lines under the table (top import offenders...)
    seconds: float = 0.0  # how long this benchmark took to run

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "figures": [f.to_dict() for f in self.figures],
            "checks": [c.to_dict() for c in self.checks],
            "notes": self.notes,
            "seconds": self.seconds,
        }


def fmt(value: float, unit: str) -> str:
    """A number with sensible precision for its size."""
    if unit == "x":
        return f"{value:.2f}x"
    if abs(value) >= 100 or (float(value).is_integer() and unit in {"tokens", "msgs", "sessions"}):
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".rstrip()


def slope_per(xs: list[float], ys: list[float], per: float) -> float:
    """Least-squares slope of ys over xs, scaled to a change in y per `per` units of x."""
    n = len(xs)
    if n < 2:
        return 0.0
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return 0.0
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=False))
    return cov / var * per
