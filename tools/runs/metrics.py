"""Metrics read from a run's own log: `loss 0.41`, `eval_accuracy=0.91`, `{'loss': 0.3, 'epoch': 1.0}`
(the Trainer's dicts), one JSON object per line. Also what makes a run worth reporting at once: a NaN
loss, an out-of-memory error. Only the standard library: `ml-intern watch` and the runner-side tools
read logs without the agent."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# names that are metrics (a prefix train_/eval_/val_/test_ is allowed); counters like step/epoch are not
_METRIC = (
    r"(?:(?:train|eval|val|valid|validation|test)[_/])?"
    r"(?:loss|acc|accuracy|f1|precision|recall|auc|bleu|rouge\w*|perplexity|ppl|wer|cer|exact_match|em|"
    r"reward|score|mse|mae|rmse|top[_-]?\d+)"
)
_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|NaN|inf|Inf)"
_PAIR = re.compile(rf"""(?<![\w/])['"]?({_METRIC})['"]?\s*(?:[:=]|\s)\s*({_NUMBER})(?![\w.])""", re.IGNORECASE)
_OOM = re.compile(r"CUDA out of memory|OutOfMemoryError|MemoryError|Cannot allocate memory|\bOOM\b|oom-kill")
MAX_POINTS = 10_000  # per metric: a curve is kept at this many points at most


@dataclass
class LogScan:
    """What a run's log says: each metric's values in order, and the first NaN loss / OOM line seen."""

    curves: dict[str, list[float]] = field(default_factory=dict)
    nan_line: str | None = None
    oom_line: str | None = None

    def final(self) -> dict[str, float]:
        """Each metric's last value."""
        return {name: values[-1] for name, values in self.curves.items() if values}

    def feed(self, line: str) -> None:
        for name, raw in _PAIR.findall(line):
            value = float(raw)
            key = name.lower().replace("/", "_")
            values = self.curves.setdefault(key, [])
            if len(values) < MAX_POINTS:
                values.append(value)
            if math.isnan(value) and "loss" in key and self.nan_line is None:
                self.nan_line = line.strip()[:300]
        if self.oom_line is None and _OOM.search(line):
            self.oom_line = line.strip()[:300]


def scan_lines(lines: Iterable[str]) -> LogScan:
    scan = LogScan()
    for line in lines:
        scan.feed(line)
    return scan


def scan_file(path: Path | None) -> LogScan:
    """Scan a log file line by line (never whole in memory); an absent file scans as empty."""
    if path is None or not path.is_file():
        return LogScan()
    with path.open(encoding="utf-8", errors="replace") as fh:
        return scan_lines(fh)


def sparkline(values: list[float], width: int = 24) -> str:
    """A curve in one line of block characters (NaN as '?'), resampled to at most `width` points."""
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [values[int(i * step)] for i in range(width - 1)] + [values[-1]]
    finite = [v for v in values if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    blocks = "▁▂▃▄▅▆▇█"
    out = []
    for v in values:
        if not math.isfinite(v):
            out.append("?")
        elif high == low:
            out.append(blocks[3])
        else:
            out.append(blocks[round((v - low) / (high - low) * (len(blocks) - 1))])
    return "".join(out)
