"""Provenance of the numbers a final answer reports: a metric the answer states ("accuracy of 0.91",
"eval loss: 0.42", "F1 = 88.3%") must appear in what the session saw (a tool output, a run's log in the
ledger); one that does not is unverified, and the front ends say so.

A claimed value matches evidence that rounds to it: 0.912 in a log backs "0.91" and "91.2%", never "0.93".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

_METRIC = (
    r"(?:(?:train(?:ing)?|eval(?:uation)?|val(?:idation)?|test)[ _/-]?)?"
    r"(?:loss|accuracy|acc|f1(?:[ -]score)?|precision|recall|auc|bleu|rouge[\w-]*|perplexity|ppl|wer|cer|"
    r"exact[ _]match|mse|mae|rmse|reward|score)"
)
# "<metric> [is|was|of|=|:|reached|at] <number>[%]", a few words apart at most
_CLAIM = re.compile(
    rf"\b({_METRIC})\b(?:\W+\w+){{0,3}}?\W{{0,3}}(?:of|is|was|=|:|reached|at|to|hit)?\s*"
    r"([-+]?\d+(?:\.\d+)?)(\s*%)?",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Claim:
    metric: str
    value: str  # as the answer wrote it, with its % when there was one

    def as_dict(self) -> dict[str, str]:
        return {"metric": self.metric, "value": self.value}


def claims(answer: str) -> list[Claim]:
    """The metric values an answer states, in order, each once."""
    found: list[Claim] = []
    for metric, number, percent in _CLAIM.findall(answer):
        claim = Claim(" ".join(metric.lower().split()), number + ("%" if percent else ""))
        if claim not in found:
            found.append(claim)
    return found


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def _backed(claim: Claim, evidence: set[float]) -> bool:
    raw = claim.value.rstrip("%")
    value, tolerance = float(raw), 0.5 * 10 ** -_decimals(raw) + 1e-12
    candidates = [value] + ([value / 100] if claim.value.endswith("%") else [value / 100, value * 100])
    scales = [tolerance] + ([tolerance / 100] if claim.value.endswith("%") else [tolerance / 100, tolerance * 100])
    return any(abs(e - c) <= t for c, t in zip(candidates, scales, strict=True) for e in evidence if math.isfinite(e))


def evidence_numbers(texts: Iterable[str]) -> set[float]:
    """Every number in the texts (tool outputs, run logs)."""
    numbers: set[float] = set()
    for text in texts:
        for match in _NUMBER.findall(text):
            try:
                numbers.add(float(match))
            except ValueError:
                continue
    return numbers


def unverified(answer: str, evidence: set[float]) -> list[Claim]:
    """The claims of `answer` that no evidence number backs."""
    return [c for c in claims(answer) if not _backed(c, evidence)]
