"""approval: decide, per call of this step, whether it runs; ask a human once for all that need it.

One batched interrupt() per step (never inside the tools node: with parallel calls LangGraph would
surface them one at a time and re-run siblings on each resume). Resumed with
{"decisions": {call_id: {"action": "approve"|"reject"|"edit", "feedback": str, "args": {...}, "remember": {...}}}}.
"remember" (with approve) adds an "always allow" rule to the session (state["session_allow"]).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any, get_args

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.messages import ToolCall as ModelCall
from langgraph.runtime import Runtime

from configs.schema import ApprovalRule
from core.events import ToolCall, ToolOutput, ToolStateChange
from core.protocol import (
    AllowRule,
    ApprovalAction,
    ApprovalDecision,
    ApprovalQuestion,
    PendingCall,
    ToolState,
    approval_answer_schema,
)
from core.state import AgentState, ApprovedCall, call_id, last_ai_message
from models.tokens import estimate_messages
from nodes.budget_guard import NOT_RUN, costly_calls
from nodes.context import AgentDeps, emitter
from tools.base import Risk, Tool
from tools.shell_commands import matches_prefix

Verdict = ApprovalRule  # allow: run it, ask: a human decides, deny: never
RISK_ORDER = [Risk.READ_ONLY, Risk.WORKSPACE_WRITE, Risk.EXEC, Risk.REMOTE_COMPUTE, Risk.DESTRUCTIVE]
MAX_ASK_ROUNDS = 3  # an edit that raises the risk is asked again, a few times at most


def rule_for(name: str, rules: Mapping[str, Verdict]) -> Verdict | None:
    """The config's rule for a tool: its own name first, then the first glob pattern that matches."""
    if name in rules:
        return rules[name]
    for pattern, rule in rules.items():
        if fnmatch.fnmatchcase(name, pattern):
            return rule
    return None


def session_allows(name: str, args: dict[str, Any], allowed: list[AllowRule]) -> bool:
    """Does an "always allow" answer of this session cover the call (a tool, or a command prefix)?"""
    for rule in allowed:
        if rule.get("tool") != name:
            continue
        prefix = rule.get("prefix")
        if prefix is None:
            return True
        command = args.get("command")
        if isinstance(command, str) and matches_prefix(command, prefix):
            return True
    return False


def decide(
    tool: Tool | None, name: str, args: dict[str, Any], deps: AgentDeps, allowed: list[AllowRule] | None = None
) -> Verdict:
    """The approval policy. Rules in config win; then the session's "always allow" answers (never for a
    destructive or always-ask call); then the mode and the call's risk class."""
    rule = rule_for(name, deps.settings.approval.rules)
    if rule:
        return rule
    if tool is None:
        return "allow"  # unknown tool: execute_tools answers with an error, nothing runs
    assessment = tool.assessment(args)
    risky = assessment.always_ask or assessment.risk == Risk.DESTRUCTIVE
    if allowed and not risky and session_allows(name, args, allowed):
        return "allow"
    if deps.approval_mode == "yolo":
        never_auto = assessment.always_ask or assessment.risk == Risk.DESTRUCTIVE
        return "ask" if never_auto else "allow"
    if assessment.risk in deps.settings.approval.auto_approve_in_ask_mode and not assessment.always_ask:
        return "allow"
    return "ask"


def riskier(tool: Tool | None, before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Did an edit make the call riskier (higher class, newly always-ask, other cost details)?"""
    if tool is None:
        return False
    old, new = tool.assessment(before), tool.assessment(after)
    return (
        RISK_ORDER.index(new.risk) > RISK_ORDER.index(old.risk)
        or (new.always_ask and not old.always_ask)
        or new.details != old.details
    )


ACTIONS: tuple[ApprovalAction, ...] = get_args(ApprovalAction)
ANSWER_SHAPE = '{"decisions": {CALL_ID or "*": {"action": "approve" | "reject" | "edit", ...}}}'


class InvalidDecisions(ValueError):
    """An approval answer that cannot be used; the message says what is wrong."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def answer_problem(answer: Any, pending_ids: list[str]) -> str | None:
    """Why an approval answer cannot be used, or None. A wrong shape or an unknown call id must never
    read as "reject everything": the caller refuses it (front ends) or asks again (the graph)."""
    decisions = answer.get("decisions") if isinstance(answer, dict) else None
    if not isinstance(decisions, dict):
        return f"an approval answer must be {ANSWER_SHAPE} (got {_shown(answer)})"
    for cid, decision in decisions.items():
        if cid != "*" and cid not in pending_ids:
            return f"no pending call '{cid}' (pending: {', '.join(pending_ids) or 'none'})"
        if not isinstance(decision, dict) or decision.get("action") not in ACTIONS:
            actions = " | ".join(f'"{a}"' for a in ACTIONS)
            return f"the decision for '{cid}' must be {{\"action\": {actions}}} (got {_shown(decision)})"
        if "args" in decision and not isinstance(decision["args"], dict):
            return f"the edited args for '{cid}' must be an object (got {_shown(decision['args'])})"
        remember = decision.get("remember")
        if remember is not None and not (isinstance(remember, dict) and isinstance(remember.get("tool"), str)):
            return f"'remember' for '{cid}' must be {{\"tool\": NAME, \"prefix\": optional}} (got {_shown(remember)})"
    return None


def pending_payload(call: ModelCall, tool: Tool | None) -> PendingCall:
    assessment = tool.assessment(call["args"]) if tool else None
    return {
        "id": call_id(call),
        "name": call["name"],
        "args": call["args"],
        "risk": str(assessment.risk) if assessment else "unknown",
        "details": assessment.details if assessment else {},
    }


REJECTED_TEXT = "The user rejected this call."  # how a rejection's result starts (front ends draw it as rejected)


def _args_of(message: AIMessage, wanted: str) -> dict[str, Any]:
    return next((c["args"] for c in message.tool_calls if c["id"] == wanted), {})


def _rejection(call: ModelCall, text: str) -> ToolMessage:
    return ToolMessage(content=text, tool_call_id=call_id(call), name=call["name"], status="error")


def ask_until_valid(deps: AgentDeps, pending: list[ApprovedCall]) -> dict[str, ApprovalDecision]:
    """Ask about `pending` (deps.ask_human) until the answer is usable; an unusable one is asked again with
    the reason (raising instead would leave the bad answer stuck in the thread: LangGraph replays it on every
    resume)."""
    question: ApprovalQuestion = {
        "kind": "approval",
        "agent": deps.agent_name,
        "calls": [pending_payload(c, deps.tools.get(c["name"])) for c in pending],
        "answer_schema": approval_answer_schema(),
    }
    ids = [call_id(c) for c in pending]
    while (problem := answer_problem(answer := deps.ask_human(question), ids)) is not None:
        question = {**question, "error": problem}
    return answer["decisions"]


def approval(state: AgentState, runtime: Runtime[AgentDeps]) -> AgentState:
    """Sort the step's calls by the approval policy: allowed ones go to `approved_calls`, denied ones get a
    rejection result; the rest are asked about in one question (deps.ask_human), again when an edit makes a
    call riskier, at most MAX_ASK_ROUNDS times."""
    deps = runtime.context
    message = last_ai_message(state.get("messages", []))
    malformed = message.additional_kwargs.get("malformed_calls") or {}
    approved: list[ApprovedCall] = []
    rejected: list[tuple[ModelCall, str]] = []  # each call with the reason it does not run
    pending: list[ApprovedCall] = []
    allowed: list[AllowRule] = list(state.get("session_allow") or [])
    remembered = len(allowed)
    ids = [c["id"] for c in message.tool_calls]
    for call in message.tool_calls:
        if call["id"] in malformed:
            continue  # never runs; execute_tools tells the model
        if ids.count(call["id"]) > 1:  # llm_call makes ids unique; a history edited by hand may not be
            rejected.append((call, "Not run: another call in this step has the same id."))
            continue
        tool = deps.tools.get(call["name"])
        verdict = decide(tool, call["name"], call["args"], deps, allowed)
        if verdict == "allow":
            approved.append(ApprovedCall(**call))
        elif verdict == "deny":
            rejected.append((call, f"Not run: the approval rules deny '{call['name']}'."))
        else:
            pending.append(ApprovedCall(**call))

    estimates, budget = costly_calls(state, deps, [*approved, *pending], emitter(runtime))
    if "stop_reason" in budget:  # the user stopped the turn before the calls on paid hardware: they do not run
        rejected += [(c, NOT_RUN) for c in [*approved, *pending] if call_id(c) in estimates]
        approved = [c for c in approved if call_id(c) not in estimates]
        pending = [c for c in pending if call_id(c) not in estimates]

    for _ in range(MAX_ASK_ROUNDS):
        if not pending:
            break
        decisions = ask_until_valid(deps, pending)
        asked, pending = pending, []
        for call in asked:
            named = decisions.get(call_id(call))
            decision: ApprovalDecision = named or decisions.get("*") or {"action": "reject"}
            action = decision.get("action", "reject")
            if action == "approve":
                approved.append(call)
                rule = decision.get("remember")
                if named is not None and rule:  # always the call's own tool, whatever the answer names
                    entry: AllowRule = {"tool": call["name"]}
                    if rule.get("prefix"):
                        entry["prefix"] = str(rule.get("prefix"))
                    if entry not in allowed:
                        allowed.append(entry)
            elif action == "edit" and named is None:
                rejected.append((call, "Not run: an edit must name the call it changes."))
            elif action == "edit":
                edited = ApprovedCall(**{**call, "args": decision.get("args") or call["args"], "edited": True})
                if riskier(deps.tools.get(call["name"]), call["args"], edited["args"]):
                    pending.append(edited)  # the user approved what they saw, not what the edit makes it
                else:
                    approved.append(edited)
            else:
                feedback = (decision.get("feedback") or "").strip()
                text = REJECTED_TEXT
                rejected.append((call, f"{text} Feedback: {feedback}" if feedback else text))
    rejected += [(c, "Not run: its arguments kept changing during approval.") for c in pending]

    update: AgentState = {"approved_calls": approved}
    if len(allowed) > remembered:
        update["session_allow"] = allowed
    if reserved := sum(estimates.get(call_id(c), 0.0) for c in approved):
        update["usage"] = {"jobs_usd": reserved}  # paid hardware counts at its most (price x timeout)
    update.update(budget)  # stop_reason budget, or a raised budget
    if rejected:
        emit = emitter(runtime)
        for call, text in rejected:
            cid, name = call_id(call), call["name"]
            emit(ToolCall(tool_call_id=cid, name=name, args=_args_of(message, cid), agent=deps.agent_name))
            emit(ToolStateChange(tool_call_id=cid, name=name, state=ToolState.REJECTED, agent=deps.agent_name))
            emit(ToolOutput(tool_call_id=cid, name=name, content=text, is_error=True, agent=deps.agent_name))
        results: list[AnyMessage] = [_rejection(call, text) for call, text in rejected]
        update["messages"] = results
        update["context_tokens"] = state.get("context_tokens", 0) + estimate_messages(results)
    return update
