"""One budget in dollars per session: what was spent, what the next call may cost, and whether it fits.

Pure values and arithmetic; the nodes (nodes/budget_guard.py) decide when to ask. Spend is read from the
session's `usage` totals (core/state.py): `cost_usd` for priced model calls, `jobs_usd` for what paid
hardware (Hugging Face Jobs, sandbox Spaces) may cost at most (price x timeout, reserved when the call is
approved), and `unpriced_calls` for model calls whose price nobody knows: those are shown, never counted as 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Spend:
    """A session's spend so far, from its usage totals."""

    model_usd: float = 0.0
    jobs_usd: float = 0.0
    unpriced_calls: int = 0

    @property
    def total_usd(self) -> float:
        return self.model_usd + self.jobs_usd

    def describe(self, limit: float | None = None) -> str:
        """`$0.0123`, `$0.0123 of $5.00`, and `+ 3 calls at unknown price` when some had no price."""
        text = f"${self.total_usd:.4f}"
        if limit is not None:
            text += f" of ${limit:.2f}"
        if self.unpriced_calls:
            calls = "call" if self.unpriced_calls == 1 else "calls"
            text += f" + {self.unpriced_calls} model {calls} at unknown price"
        return text

    def as_dict(self, limit: float | None = None) -> dict[str, Any]:
        """For `--output-format json` and `sessions show --json`."""
        return {
            "total_usd": round(self.total_usd, 6),
            "model_usd": round(self.model_usd, 6),
            "jobs_usd": round(self.jobs_usd, 6),
            "unpriced_calls": self.unpriced_calls,
            "max_budget_usd": limit,
        }


def spend_of(usage: dict[str, Any] | None) -> Spend:
    usage = usage or {}
    return Spend(
        float(usage.get("cost_usd") or 0.0), float(usage.get("jobs_usd") or 0.0), int(usage.get("unpriced_calls") or 0)
    )


def crosses(spend: Spend, estimate_usd: float, limit: float | None) -> bool:
    """Would a call estimated at `estimate_usd` take the session over its budget?"""
    return limit is not None and spend.total_usd + estimate_usd > limit + 1e-12


def per_million(tokens: int, price_per_mtok: float) -> float:
    return tokens * price_per_mtok / 1_000_000


def over_budget_message(spend: Spend, estimate_usd: float, limit: float, what: str) -> str:
    """One line: what would cross the budget, and by how much."""
    return (
        f"budget: {what} may cost ~${estimate_usd:.4f}; with ${spend.total_usd:.4f} spent that crosses the "
        f"session's budget of ${limit:.2f}"
    )
