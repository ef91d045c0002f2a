"""The numbers of a final answer checked against what the session saw (core/provenance.py): its tool outputs,
the user's own messages, and the logs of the runs it started (the run ledger)."""

from __future__ import annotations

from typing import Any


async def unverified_claims(session: Any, answer: str) -> list[dict[str, str]]:
    """The metric values in `answer` that nothing in the session backs, as {"metric", "value"}."""
    from core.provenance import claims, evidence_numbers, unverified

    if not claims(answer):
        return []  # (nothing to check: the history is not read)
    from tools.runs import ledger

    messages = await session.messages()
    texts = [str(m.content) for m in messages if m.type in ("tool", "human")]
    evidence = evidence_numbers(texts)
    for record in ledger.all_runs(session.id):
        for values in ledger.view(record).scan.curves.values():
            evidence.update(values)
    return [c.as_dict() for c in unverified(answer, evidence)]


def warning_line(found: list[dict[str, str]]) -> str:
    shown = ", ".join(f"{c['metric']} {c['value']}" for c in found)
    return f"warning: unverified numbers in the answer (in no tool output or run log of this session): {shown}"
