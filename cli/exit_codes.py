"""Process exit codes of `ml-intern`, and how a turn's status maps to them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `--help` imports this module: nothing more at run time
    from core.protocol import TurnStatus

DONE = 0
AGENT_ERROR = 1  # agent or provider error
USAGE = 2  # usage or configuration error: bad model id, missing API key, bad config
MAX_ITERATIONS = 3  # the iteration limit was reached
APPROVAL_PENDING = 4  # stopped waiting for approval (policy ask, headless)
BUDGET = 5  # stopped at the session's dollar budget: resume with --max-budget-usd (a higher one)
INTERRUPTED = 130


def for_status(status: TurnStatus) -> int:
    if status == "done":
        return DONE
    if status == "max_iterations":
        return MAX_ITERATIONS
    if status == "approval_pending":
        return APPROVAL_PENDING
    if status == "budget":
        return BUDGET
    if status == "interrupted":
        return INTERRUPTED
    if status in {"error:auth", "error:config"}:
        return USAGE
    return AGENT_ERROR
