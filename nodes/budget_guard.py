"""The budget check: before a model call or a call on paid hardware, does it fit the session's budget?

Not a node of its own (a check every step would cost a superstep): llm_call and approval call it. When
a call would cross `budget.max_usd`, the human is asked (deps.ask_human, a BudgetQuestion): a front end
raises the budget and the turn goes on; a headless run stops there with the question pending, and
`--resume ID --max-budget-usd N` answers it. Prices: `budget.model_prices` in the config, else litellm's
table (models/factory.py); local servers and replay cost 0. A model call nobody can price is counted in
`unpriced_calls` and shown as unknown, never as $0.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from core.budget import Spend, crosses, over_budget_message, per_million, spend_of
from core.events import Error
from core.protocol import BudgetQuestion
from core.state import AgentState, ApprovedCall, call_id
from nodes.context import AgentDeps, Emit

NOT_RUN = "Not run: it would cross the session's budget and the user stopped the turn there."


def model_cost(deps: AgentDeps, input_tokens: int, output_tokens: int) -> float | None:
    """What a call with these token counts costs on the session's model, None when nobody knows."""
    prices = deps.settings.budget.model_prices
    price = prices.get(deps.model_id) or next(
        (p for pattern, p in prices.items() if fnmatch.fnmatchcase(deps.model_id, pattern)), None
    )
    if price is not None:
        return per_million(input_tokens, price.input_per_mtok) + per_million(output_tokens, price.output_per_mtok)
    return deps.model_handle().priced_cost(input_tokens, output_tokens)


def usage_cost(deps: AgentDeps, input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """The cost part of a model call's usage delta: its price, or a count of one call at unknown price."""
    cost = model_cost(deps, input_tokens, output_tokens)
    return {"cost_usd": 0.0, "unpriced_calls": 1} if cost is None else {"cost_usd": cost}


def limit_of(state: AgentState, deps: AgentDeps) -> float | None:
    """The budget a check holds a call to. It comes from the state, which only a turn's start and an answer
    change: a node asking a question runs again from its start when answered, and must ask the same
    question again to be given the answer (LangGraph matches answers to questions by their order)."""
    return state.get("max_budget_usd", deps.settings.budget.max_usd)


def ask_to_go_on(deps: AgentDeps, spend: Spend, estimate: float, what: str, limit: float) -> float | None:
    """Ask whether to go on past the budget: the raised budget when the answer raises it enough for this
    call, else None (no, or a refusal from a sub-agent): stop."""
    question: BudgetQuestion = {
        "kind": "budget",
        "agent": deps.agent_name,
        "message": over_budget_message(spend, estimate, limit, what),
        "what": what,
        "spent_usd": round(spend.total_usd, 6),
        "estimate_usd": round(estimate, 6),
        "max_budget_usd": limit,
    }
    answer = deps.ask_human(question)
    raised = answer.get("max_budget_usd") if isinstance(answer, dict) and answer.get("action") == "raise" else None
    if not isinstance(raised, (int, float)) or isinstance(raised, bool) or crosses(spend, estimate, float(raised)):
        return None
    return float(raised)


def before_model_call(state: AgentState, deps: AgentDeps, emit: Emit) -> AgentState:
    """What the budget says before the next model call, as a state update: {"stop_reason": "budget"} ends the
    turn; otherwise it goes ahead ({} or, after a raised budget, {"max_budget_usd": ...})."""
    if state.get("stop_reason") == "budget":  # approval stopped the turn at a costly call
        return {"stop_reason": "budget"}
    limit = limit_of(state, deps)
    if limit is None:
        return {}
    spend = spend_of(state.get("usage"))
    prompt = state.get("context_tokens") or deps.prompt_overhead_tokens()
    estimate = model_cost(deps, prompt, deps.settings.budget.output_tokens_estimate)
    if estimate is None or not crosses(spend, estimate, limit):
        return {}  # (an unpriced model is shown as such in the spend, it cannot be checked)
    if (raised := ask_to_go_on(deps, spend, estimate, "the next model call", limit)) is not None:
        return {"max_budget_usd": raised}
    emit(Error(message=_stopped(spend, estimate, limit, "the next model call"), kind="budget", agent=deps.agent_name))
    return {"stop_reason": "budget"}


def call_estimate(deps: AgentDeps, call: ApprovedCall) -> float | None:
    """The most a tool call can cost, from its approval details: a job's price x timeout, a sandbox's price
    per hour x its idle timeout (at least that long). None: free, or a price nobody knows."""
    tool = deps.tools.get(call["name"])
    if tool is None:
        return None
    details = tool.assessment(call["args"]).details
    for key in ("estimated_max_cost_usd", "estimated_max_cost_per_run_usd"):
        value = details.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value) if value > 0 else None
    hourly = details.get("price_per_hour_usd")
    if isinstance(hourly, (int, float)) and not isinstance(hourly, bool) and hourly > 0:
        return float(hourly) * deps.settings.sandbox.space.idle_timeout_s / 3600
    return None


def costly_calls(
    state: AgentState, deps: AgentDeps, calls: list[ApprovedCall], emit: Emit
) -> tuple[dict[str, float], AgentState]:
    """(call id -> estimated cost for the calls on paid hardware, a state update: {"stop_reason": "budget"}
    when the turn stops before them, {"max_budget_usd": ...} after a raised budget, else {}).

    The step's costly calls are checked together: two jobs that each fit but not both are asked about."""
    estimates = {call_id(c): cost for c in calls if (cost := call_estimate(deps, c)) is not None}
    limit = limit_of(state, deps)
    if limit is None or not estimates:
        return estimates, {}
    spend, total = spend_of(state.get("usage")), sum(estimates.values())
    if not crosses(spend, total, limit):
        return estimates, {}
    names = sorted({c["name"] for c in calls if call_id(c) in estimates})
    what = f"{' and '.join(names)} on paid hardware (price x timeout)"
    if (raised := ask_to_go_on(deps, spend, total, what, limit)) is not None:
        return estimates, {"max_budget_usd": raised}
    emit(Error(message=_stopped(spend, total, limit, what), kind="budget", agent=deps.agent_name))
    return estimates, {"stop_reason": "budget"}


def _stopped(spend: Spend, estimate: float, limit: float, what: str) -> str:
    return over_budget_message(spend, estimate, limit, what) + ": stopped (raise it with --max-budget-usd)"


def resume_answer(question: dict[str, Any], deps: AgentDeps, stop: bool = False) -> dict[str, Any] | None:
    """How a session answers a pending BudgetQuestion when it is run again: stop when asked to, go on when
    the deps' budget (--max-budget-usd, or what the front end set) now covers the call, else None (still
    waiting)."""
    if stop:
        return {"action": "stop"}
    limit = deps.settings.budget.max_usd
    spent, estimate = float(question.get("spent_usd") or 0), float(question.get("estimate_usd") or 0)
    if limit is not None and not crosses(Spend(model_usd=spent), estimate, limit):
        return {"action": "raise", "max_budget_usd": limit}
    return None
