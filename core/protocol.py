"""The engine's protocol values as types: how a turn ends, a tool call's state, the tags on messages the
engine injects, the questions it asks a human and the answers it takes.

Each is a type here and the same string on the wire (events, checkpoints, `--output-format json`), so
front ends and stored sessions see what they always saw, and a typo in the code is a type error.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import (
    Any,
    Literal,
    NotRequired,  # pydantic reads these on 3.11 (typing's it refuses)
)

from typing_extensions import TypedDict

# Why a turn ended before the model answered (state["stop_reason"]); "error:<kind>" names what failed.
ErrorStop = Literal["error:auth", "error:billing", "error:config", "error:provider", "error:compaction", "error:agent"]
# "budget": the next call would cross the session's dollar budget (core/budget.py); as a turn status, the
# turn waits for a raised budget (a BudgetQuestion) or was stopped there.
# "unverified": the final answer claims work (files, results) that no tool of the turn produced, even after
# the model was asked to check.
StopReason = Literal["max_iterations", "doom_loop", "interrupted", "budget", "unverified"] | ErrorStop
# How a turn ended, as TurnResult and the turn_complete event report it.
TurnStatus = Literal["done", "approval_pending"] | StopReason
# Why a compaction is due regardless of size (state["compact"]): /compact, or the provider refused the prompt.
CompactReason = Literal["manual", "overflow"]


class ToolState(StrEnum):
    """A tool call's state in tool_state_change events (INTERRUPTED is drawn by front ends after Ctrl-C)."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"
    INTERRUPTED = "interrupted"


INJECTED_KEY = "ml_intern"  # additional_kwargs key marking a message the engine wrote, not the user


class Injected(StrEnum):
    """The tag (additional_kwargs["ml_intern"]) on a user-role message the engine injected."""

    CONTINUATION = "continuation"  # the plan still has open items: go on
    DOOM_LOOP = "doom_loop"  # the model repeats itself: a warning
    SUMMARY = "summary"  # compaction's summary of the older history
    CALL_FORMAT = "call_format"  # a tool call written as text could not be read: how to write one
    CLAIM_CHECK = "claim_check"  # the answer claims work no tool did: do it or say it is not done


def injected(tag: Injected) -> dict[str, Any]:
    """additional_kwargs for a message the engine injects (the plain string: checkpoints store no enums)."""
    return {INJECTED_KEY: tag.value}


def injected_tag(additional_kwargs: dict[str, Any]) -> str | None:
    """The tag of an injected message, None for one the user wrote."""
    return additional_kwargs.get(INJECTED_KEY) or None


ApprovalAction = Literal["approve", "reject", "edit"]


class AllowRule(TypedDict):
    """ "Always allow" for the rest of a session: every call of `tool`, or with `prefix`, the bash commands
    that start with it. Destructive and always-ask calls are still asked about."""

    tool: str
    prefix: NotRequired[str]


class ApprovalDecision(TypedDict):
    """What a human decided about one call; `feedback` goes to the model with a rejection, `args` replace
    the call's arguments in an edit; `remember` (with approve) allows such calls for the rest of the session."""

    action: ApprovalAction
    feedback: NotRequired[str]
    args: NotRequired[dict[str, Any]]
    remember: NotRequired[AllowRule]


class ApprovalAnswer(TypedDict):
    """The resume value of an approval question: a decision per call id, or for every call ("*").
    `rerun`: answering again from an earlier checkpoint (time travel), approve a command that already ran
    later in the thread, on purpose (otherwise that is refused)."""

    decisions: dict[str, ApprovalDecision]
    rerun: NotRequired[bool]


class PendingCall(TypedDict):
    """A call waiting for approval, as approval questions and approval_required events show it."""

    id: str
    name: str
    args: dict[str, Any]
    risk: str  # a tools.base.Risk value, or "unknown" for a tool that does not exist
    details: dict[str, Any]


class ApprovalQuestion(TypedDict):
    """The approval node's interrupt value; `error` says why the previous answer could not be used.
    `answer_schema` is the JSON schema of the resume value it takes (an ApprovalAnswer), for API clients."""

    kind: Literal["approval"]
    agent: str
    calls: list[PendingCall]
    answer_schema: NotRequired[dict[str, Any]]
    error: NotRequired[str]


@cache
def approval_answer_schema() -> dict[str, Any]:
    """The JSON schema of an approval's resume value (published with every approval question)."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(ApprovalAnswer).json_schema()
    schema["description"] = (
        'Decisions per pending call id, or "*" for every call, e.g. {"decisions": {"*": {"action": "approve"}}}'
    )
    return schema


class DoomLoopQuestion(TypedDict):
    """The doom-loop check's interrupt value (interactive sessions); answered "yes" or "no"."""

    kind: Literal["doom_loop"]
    message: str
    question: str


class BudgetQuestion(TypedDict):
    """The budget check's interrupt value: a call would cross the session's budget. Answered with a
    BudgetAnswer; a front end raises the budget, a headless run stops here (resume with --max-budget-usd)."""

    kind: Literal["budget"]
    agent: str
    message: str
    what: str  # "a model call", "hf_jobs on a10g-large" ...
    spent_usd: float
    estimate_usd: float
    max_budget_usd: float


BudgetAction = Literal["raise", "stop"]


class BudgetAnswer(TypedDict):
    """The resume value of a BudgetQuestion: go on under a higher budget, or stop the turn."""

    action: BudgetAction
    max_budget_usd: NotRequired[float]
