"""compaction: when the context nears the model's window, summarise the older history.

Kept: the system prompt (never in history), the first user message, the current plan (in the
summary), the summary, and the most recent messages. An assistant message is never separated
from its tool results. A message too large on its own is truncated in place (a tool result's whole
text is saved in the session folder, and the model is told where). Compaction can always make room:
when summarising is not enough (one oversized tool result in an 8k window), the largest messages are
cut further until the prompt fits; only a system prompt and tool schemas that alone overflow the
window end the turn, with a clear error. It never loops. The history before compaction stays in the
checkpoint history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, Overwrite

from core.events import Compacted, Error, ToolLog
from core.paths import outputs_dir, safe_file_name
from core.protocol import Injected, injected, injected_tag
from core.state import AgentState
from models.errors import classify
from models.tokens import estimate_message, estimate_messages
from nodes.budget_guard import usage_cost
from nodes.context import END, AgentDeps, emitter, run_session_dir
from tools.plan import render_plan

SUMMARY_PROMPT = """Summarise the conversation below for your own future use: you will continue the work \
from this summary alone. Keep: the user's goals and constraints, decisions made and why, files created or \
changed (paths), commands and jobs run with their ids and results (exact numbers), errors met and how they \
were solved, and what remains to do. Be specific and concise."""


class CompactionFailed(Exception):
    pass


def split_point(messages: list[BaseMessage], keep_tokens: int) -> int:
    """Index where the kept recent tail starts: within budget, never on a tool result."""
    budget, index = keep_tokens, len(messages)
    while index > 1:
        cost = estimate_message(messages[index - 1])
        if cost > budget and index < len(messages):
            break
        budget -= cost
        index -= 1
    while index < len(messages) and isinstance(messages[index], ToolMessage):
        index -= 1  # include the assistant message that made the calls
        if index <= 0:
            return 0
    return index


MIN_MESSAGE_TOKENS = 150  # fitting never cuts a message below this


def truncate_in_place(message: BaseMessage, max_tokens: int, spill_dir: Path | None = None) -> BaseMessage:
    """The message cut to about `max_tokens` (head and tail kept); a tool result's whole text is saved in
    `spill_dir` first (unless execute_tools saved it already), and the cut says where."""
    text = message.content if isinstance(message.content, str) else str(message.content)
    max_chars = max_tokens * 4
    if len(text) <= max_chars:
        return message
    where = ""
    if spill_dir is not None and isinstance(message, ToolMessage):
        path = spill_dir / f"{safe_file_name(message.tool_call_id)}.txt"
        try:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8", errors="replace")
            where = f"; the whole result is saved at {path}: read it in parts (read with offset/limit, or grep)"
        except OSError:
            where = ""
    note = f"\n[... {{}} characters removed to fit the context{where} ...]\n"
    budget = max(0, max_chars - len(note))
    head, tail = text[: budget * 2 // 3], text[len(text) - budget // 3 :] if budget // 3 else ""
    new_text = head + note.format(len(text) - len(head) - len(tail)) + tail
    return message.model_copy(update={"content": new_text})


def fit(messages: list[BaseMessage], budget_tokens: int, spill_dir: Path | None = None) -> list[BaseMessage]:
    """The messages with the largest ones cut (halved, down to MIN_MESSAGE_TOKENS) until their estimate is
    within `budget_tokens`, or nothing is left to cut. The first message (the user's request) is cut last."""
    out = list(messages)
    sizes = [estimate_message(m) for m in out]
    for _ in range(64):  # each round halves one message: bounded
        total = sum(sizes)
        if total <= budget_tokens:
            break
        order = sorted(range(len(out)), key=lambda i: (i != 0, sizes[i]), reverse=True)
        index = next((i for i in order if sizes[i] > MIN_MESSAGE_TOKENS), None)
        if index is None:
            break
        target = max(MIN_MESSAGE_TOKENS, min(sizes[index] // 2, sizes[index] - (total - budget_tokens)))
        out[index] = truncate_in_place(out[index], target, spill_dir)
        new_size = estimate_message(out[index])
        if new_size >= sizes[index]:
            break
        sizes[index] = new_size
    return out


def render_for_summary(messages: list[BaseMessage], max_chars: int) -> str:
    parts = []
    for m in messages:
        role = {"human": "User", "ai": "Assistant", "tool": f"Tool result ({getattr(m, 'name', '')})"}.get(
            m.type, m.type
        )
        text = m.content if isinstance(m.content, str) else str(m.content)
        if len(text) > 4000:
            text = text[:3000] + " [...] " + text[-1000:]
        calls = getattr(m, "tool_calls", None)
        if calls:
            text += "\nCalls: " + "; ".join(f"{c['name']}({c['args']})"[:500] for c in calls)
        parts.append(f"## {role}\n{text}")
    rendered = "\n\n".join(parts)
    return rendered if len(rendered) <= max_chars else rendered[-max_chars:]


def is_due(state: AgentState, deps: AgentDeps) -> bool:
    """Would compaction do more than pass the turn on to llm_call? When it is asked for (state["compact"]), or
    the context is over the threshold or not known (the node then estimates it)."""
    tokens = state.get("context_tokens")
    return state.get("compact") is not None or not tokens or tokens > deps.compaction_threshold()


async def compaction(state: AgentState, runtime: Runtime[AgentDeps]) -> Command[Literal["llm_call", "__end__"]]:
    """Summarise the older history when the context is over the threshold, or when asked (state["compact"]:
    "manual" ends the turn after it, "overflow" retries the model call). Passes straight on to llm_call
    when neither; a history that cannot get under the threshold ends the turn with stop_reason
    error:compaction."""
    deps = runtime.context
    reason = state.get("compact")  # "manual", "overflow" or None
    overhead = deps.prompt_overhead_tokens()
    messages: list[BaseMessage] = list(state.get("messages", []))
    threshold = deps.compaction_threshold()
    old_tokens = state.get("context_tokens") or (overhead + estimate_messages(messages))
    if reason is None and old_tokens <= threshold:
        return Command(goto="llm_call")
    emit = emitter(runtime)
    after = END if reason == "manual" else "llm_call"

    keep = deps.settings.compaction.keep_recent_tokens
    if reason is not None:  # asked for, or the provider refused: the recent part must shrink too
        keep = min(keep, max(1, (old_tokens - overhead) // 3))
    spill_dir = outputs_dir(run_session_dir(runtime))
    try:
        new_messages, usage = await compact_messages(deps, messages, state.get("plan") or [], keep, spill_dir)
        if reason == "overflow":  # the provider refused this prompt: the next one must be smaller still
            target = min(threshold, max(0, old_tokens - overhead) * 2 // 3 + overhead)
            new_messages = fit(new_messages, target - overhead, spill_dir)
        if reason == "overflow" and new_messages == messages:
            raise CompactionFailed(
                "the provider says the context is too long, but there is no older history "
                "to summarise and no message to shorten; shorten the prompt or use a model with a larger window"
            )
    except CompactionFailed as e:
        emit(Error(message=f"compaction failed: {e}", kind="compaction", agent=deps.agent_name))
        return Command(update={"stop_reason": "error:compaction", "compact": None}, goto=END)
    new_tokens = overhead + estimate_messages(new_messages)
    if new_tokens > threshold and reason != "manual":
        new_messages = fit(new_messages, threshold - overhead, spill_dir)
        new_tokens = overhead + estimate_messages(new_messages)
    if new_tokens > threshold and reason != "manual":
        message = (
            f"the context is still {new_tokens} tokens after compaction (threshold {threshold}; the system prompt "
            f"and tool schemas alone take {overhead}); offer fewer tools (--tools core), use a model with a larger "
            "window or raise compaction.threshold_tokens in the config"
        )
        emit(Error(message=message, kind="compaction", agent=deps.agent_name))
        return Command(update={"stop_reason": "error:compaction", "compact": None}, goto=END)

    if new_messages == messages:  # nothing older to summarise and nothing too large: say so, change nothing
        emit(ToolLog(line="nothing to compact yet: the whole history is recent", agent=deps.agent_name))
        return Command(update={"compact": None}, goto=after)
    emit(Compacted(old_tokens=old_tokens, new_tokens=new_tokens, agent=deps.agent_name))
    input_tokens, output_tokens = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    delta = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        **usage_cost(deps, input_tokens, output_tokens),
    }
    return Command(
        update={"messages": Overwrite(new_messages), "context_tokens": new_tokens, "compact": None, "usage": delta},
        goto=after,
    )


async def summarise(deps: AgentDeps, messages: list[BaseMessage], plan: list[dict]) -> tuple[str, dict]:
    """The model's summary of `messages` (with the plan appended) and the usage of that call."""
    max_chars = max(4000, int(deps.compaction_threshold() * 4 * 0.6))
    prompt = [SystemMessage(SUMMARY_PROMPT), HumanMessage(render_for_summary(messages, max_chars))]
    try:
        reply = await deps.model_handle().chat.ainvoke(prompt)
    except Exception as exc:
        raise CompactionFailed(f"the summary call failed: {classify(exc, deps.model_handle().key_hint)}") from exc
    text = str(reply.content).strip() or "(empty summary)"
    if plan:
        text += f"\n\nCurrent plan:\n{render_plan(plan)}"
    return text, reply.usage_metadata or {}


async def compact_messages(
    deps: AgentDeps, messages: list[BaseMessage], plan: list[dict], keep_tokens: int, spill_dir: Path | None = None
) -> tuple[list[BaseMessage], dict]:
    """The history as compaction leaves it: the first user message, a summary of the middle, the recent
    tail (about `keep_tokens`), each message truncated to compaction.max_message_tokens; and the usage."""
    cfg = deps.settings.compaction
    first_user = next((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), None)
    head = [messages[first_user]] if first_user is not None else []
    start = (first_user + 1) if first_user is not None else 0
    cut = max(start, split_point(messages, keep_tokens))
    middle, tail = messages[start:cut], messages[cut:]
    usage: dict = {}
    summary: list[BaseMessage] = []
    if middle:
        text, usage = await summarise(deps, middle, plan)
        latest = next(
            (m for m in reversed(middle) if isinstance(m, HumanMessage) and not injected_tag(m.additional_kwargs)),
            None,
        )
        if latest is not None:  # the request being worked on must survive, word for word
            text += f"\n\nThe user's latest request (verbatim):\n{latest.content}"
        summary = [
            HumanMessage(
                content=f"[Summary of the earlier conversation]\n{text}", additional_kwargs=injected(Injected.SUMMARY)
            )
        ]
    # no single message may take more than a third of what the window leaves after the fixed prompt
    room = max(MIN_MESSAGE_TOKENS, (deps.compaction_threshold() - deps.prompt_overhead_tokens()) // 3)
    cap = min(cfg.max_message_tokens, room)
    head = [truncate_in_place(m, cap, spill_dir) for m in head]
    tail = [truncate_in_place(m, cap, spill_dir) for m in tail]
    return [*head, *summary, *tail], usage
