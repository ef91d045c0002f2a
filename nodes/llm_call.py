"""llm_call: one model call with the tools bound, streamed to the front end.

Decides where the turn goes next: tools (nodes.routing picks the first node with work), done (END), a re-prompt when the plan
still has open items (itself), or compaction after a context overflow. Retries rate limits and
transient failures with backoff; auth, billing and unknown-model errors stop the turn at once.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolCallChunk
from langgraph.runtime import Runtime
from langgraph.types import Command

from core.events import AssistantChunk, AssistantMessage, AssistantStreamEnd, Error, ToolLog, Usage
from core.protocol import Injected, StopReason, injected, injected_tag
from core.state import AgentState, add_usage, call_id
from core.unicode_safe import scrub, scrub_value
from models import direct
from models.errors import RETRYABLE, ErrorKind, ProviderError, classify, window_from_message
from models.text_calls import recover
from models.tokens import estimate_message, estimate_messages
from nodes.answer_check import check_request, turn_messages, unsupported_claims
from nodes.budget_guard import before_model_call, usage_cost
from nodes.context import END, AgentDeps, Emit, emitter, run_session_dir
from nodes.routing import after_model
from nodes.stored_args import needs_capping, store_capped
from tools.blocking import off_loop

MAX_NUDGES = 2
MAX_EMPTY_RETRIES = 2  # an empty answer is retried at most this often (a local model is slow to ask again)
# Sent after the prompt (not saved) when an answer was empty: a local server with its prompt cached answers
# the very same prompt with the very same empty answer (seen with llama-cpp-python and Qwen2.5-Coder).
EMPTY_NUDGE = "(Your last answer was empty. Go on with the task: call one of the tools, or answer in text.)"
NEAR_WINDOW = 0.85  # an empty answer with a prompt this close to the window is taken as a context overflow
# Provider errors that end the turn at once, and the stop reason each gets (any other: error:provider)
STOP_REASONS: dict[ErrorKind, StopReason] = {
    ErrorKind.AUTH: "error:auth",
    ErrorKind.BILLING: "error:billing",
    ErrorKind.UNKNOWN_MODEL: "error:config",
}


def normalize_calls(message: AIMessage, raw_chunks: Sequence[ToolCallChunk] | None = None) -> AIMessage:
    """Every call the model made, each with a unique id, malformed ones marked.

    Calls are rebuilt from the raw streamed chunks when there are some (the parsed tool_calls of a
    stream hide malformed JSON), else from tool_calls + invalid_tool_calls. A malformed call keeps
    its place with empty args, so it gets a tool result and the provider never sees an orphan; its
    raw text goes to additional_kwargs["malformed_calls"]. A missing or repeated id is replaced: ids
    key approvals and results, so two calls must never share one.
    """
    found: list[tuple[str, str, dict[str, Any] | None, str, str]] = []  # name, id, args, raw, error
    if raw_chunks:
        for chunk in raw_chunks:
            raw = chunk.get("args") or ""
            try:
                args = json.loads(raw) if raw.strip() else {}
                if not isinstance(args, dict):
                    raise ValueError("arguments must be a JSON object")
                found.append((chunk.get("name") or "", chunk.get("id") or "", args, "", ""))
            except ValueError as e:
                found.append((chunk.get("name") or "", chunk.get("id") or "", None, raw, str(e)))
    else:
        found += [(c["name"], c.get("id") or "", c["args"], "", "") for c in message.tool_calls]
        found += [
            (c.get("name") or "", c.get("id") or "", None, str(c.get("args") or ""), c.get("error") or "")
            for c in message.invalid_tool_calls
        ]
    calls, malformed, seen = [], {}, set()
    for name, cid, args, raw, error in found:
        if not cid or cid in seen:
            cid = f"call_{uuid.uuid4().hex[:16]}"
        seen.add(cid)
        calls.append({"name": name, "args": args if args is not None else {}, "id": cid, "type": "tool_call"})
        if args is None:
            malformed[cid] = {"raw": raw[:2000], "error": error[:200]}
    kwargs = dict(message.additional_kwargs)
    if malformed:
        kwargs["malformed_calls"] = malformed
    return AIMessage(
        content=message.content,
        tool_calls=calls,
        usage_metadata=message.usage_metadata,
        response_metadata=message.response_metadata,
        additional_kwargs=kwargs,
        id=message.id,
    )


def scrubbed(message: AIMessage) -> AIMessage:
    """The message with lone surrogates (a provider's JSON can carry them) made U+FFFD everywhere."""
    update = {
        "content": scrub_value(message.content),
        "tool_calls": [
            {**c, "name": scrub(c["name"]), "id": scrub(call_id(c)), "args": scrub_value(c["args"])}
            for c in message.tool_calls
        ],
        "additional_kwargs": scrub_value(message.additional_kwargs),
    }
    if all(update[k] == getattr(message, k) for k in update):
        return message
    return message.model_copy(update=update)


def open_plan_items(plan: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [t for t in plan or [] if t.get("status") != "completed"]


async def call_model(deps: AgentDeps, messages: list, emit: Emit) -> AIMessage:
    """One model call with the tools bound; streamed pieces go to the front end as they come."""
    chat = deps.bound_chat()
    prompt = [SystemMessage(deps.system_prompt), *messages]
    if not deps.stream:
        return _not_empty(normalize_calls(await direct.ainvoke(chat, prompt)))
    full: AIMessageChunk | None = None
    async for chunk in direct.astream(chat, prompt):
        if chunk.content and isinstance(chunk.content, str):
            emit(AssistantChunk(content=scrub(chunk.content), agent=deps.agent_name))
        full = chunk if full is None else full + chunk
    emit(AssistantStreamEnd(agent=deps.agent_name))
    if full is None:
        raise ProviderError(ErrorKind.EMPTY_ANSWER, "the model's stream ended without a single piece")
    message = AIMessage(
        content=full.content,
        tool_calls=full.tool_calls,
        invalid_tool_calls=full.invalid_tool_calls,
        usage_metadata=full.usage_metadata,
        response_metadata=full.response_metadata,
        additional_kwargs=full.additional_kwargs,
        id=full.id,
    )
    return _not_empty(normalize_calls(message, full.tool_call_chunks))


def _not_empty(message: AIMessage) -> AIMessage:
    """An answer with neither text nor a call is a failed call (a local server answers a context overflow
    during streaming with an empty stream), never a final answer."""
    text = message.content if isinstance(message.content, str) else json.dumps(message.content)
    if not message.tool_calls and not text.strip():
        reason = message.response_metadata.get("finish_reason")
        raise ProviderError(
            ErrorKind.EMPTY_ANSWER,
            f"the model answered with no text and no tool call (finish reason: {reason or 'none'})",
        )
    return message


def _near_window(deps: AgentDeps, messages: list) -> bool:
    prompt = deps.prompt_overhead_tokens() + estimate_messages(messages)
    return prompt >= deps.context_window() * NEAR_WINDOW


async def call_with_retries(deps: AgentDeps, messages: list, emit: Emit) -> AIMessage:
    """call_model, retried with exponential backoff and jitter (or the provider's retry-after) on rate
    limits and transient failures; any other failure, or one past retries.max_retries, raises ProviderError."""
    retry = deps.settings.retries
    attempt, prompt = 0, messages
    while True:
        try:
            return await call_model(deps, prompt, emit)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # classified below; unknown errors stop the turn
            error = classify(exc, deps.model_handle().key_hint)
            if error.kind == ErrorKind.EMPTY_ANSWER and _near_window(deps, messages):
                raise ProviderError(
                    ErrorKind.CONTEXT_OVERFLOW, f"{error}, with the prompt near the context window"
                ) from exc
            limit = (
                min(retry.max_retries, MAX_EMPTY_RETRIES) if error.kind == ErrorKind.EMPTY_ANSWER else retry.max_retries
            )
            if error.kind not in RETRYABLE or attempt >= limit:
                raise error from exc
            if error.retry_after is not None and error.retry_after > retry.max_delay_s:
                raise ProviderError(
                    error.kind,
                    f"{error} (the provider asks to wait {error.retry_after:.0f}s, "
                    f"more than retries.max_delay_s={retry.max_delay_s:g}s: try again later)",
                ) from exc
            attempt += 1
            prompt = [*messages, HumanMessage(EMPTY_NUDGE)] if error.kind == ErrorKind.EMPTY_ANSWER else messages
            delay = min(retry.max_delay_s, retry.base_delay_s * 2 ** (attempt - 1))
            delay = error.retry_after if error.retry_after is not None else delay * (0.5 + random.random() / 2)
            emit(
                ToolLog(
                    line=f"model call failed ({error.kind}: {error}); retry {attempt}/{limit} in {delay:.1f}s",
                    agent=deps.agent_name,
                )
            )
            await asyncio.sleep(delay)


async def llm_call(
    state: AgentState, runtime: Runtime[AgentDeps]
) -> Command[Literal["doom_loop_check", "approval", "execute_tools", "compaction", "llm_call", "__end__"]]:
    """Call the model once and route the turn: its tool calls to the first node with work on them
    (nodes.routing: doom_loop_check, approval or execute_tools), an answer to END (or
    back here with a nudge while the plan has open items), a context overflow to compaction (once).
    The iteration limit and provider errors that retrying cannot fix end the turn with a stop_reason."""
    deps, emit = runtime.context, emitter(runtime)
    iteration = state.get("iteration", 0)
    if iteration >= deps.settings.max_iterations:
        message = (
            f"stopped after {iteration} model calls: the iteration limit was reached (raise it with --max-iterations)"
        )
        emit(Error(message=message, kind="max_iterations", agent=deps.agent_name))
        return Command(update={"stop_reason": "max_iterations"}, goto=END)
    if (budget := before_model_call(state, deps, emit)).get("stop_reason"):
        return Command(update=budget, goto=END)

    try:
        response = await call_with_retries(deps, state.get("messages", []), emit)
    except ProviderError as error:
        if error.kind == ErrorKind.CONTEXT_OVERFLOW:
            learn_window(deps, str(error), emit)
        if error.kind == ErrorKind.CONTEXT_OVERFLOW and not state.get("overflow_retry"):
            emit(
                ToolLog(
                    line=f"the context is too long ({str(error)[:160]}): compacting and retrying once",
                    agent=deps.agent_name,
                )
            )
            return Command(
                update={"compact": "overflow", "overflow_retry": True, "iteration": iteration + 1},
                goto="compaction",
            )
        reason = STOP_REASONS.get(error.kind, "error:provider")
        emit(Error(message=f"model call failed: {error}", kind=reason.removeprefix("error:"), agent=deps.agent_name))
        return Command(update={"stop_reason": reason, "compact": None}, goto=END)

    response = scrubbed(response)
    history = state.get("messages", [])
    notice: HumanMessage | None = None
    if not response.tool_calls:
        response, notice = calls_from_text(response, deps, history)
        if response.tool_calls:
            emit(
                ToolLog(
                    line=f"read {len(response.tool_calls)} tool call(s) the model wrote as text", agent=deps.agent_name
                )
            )
    cap = deps.settings.tool_output_cap
    if needs_capping(response, cap):  # the call runs whole, the history keeps it capped
        response = await off_loop(store_capped, response, cap, run_session_dir(runtime))
    meta = response.usage_metadata or {}
    input_tokens, output_tokens = int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
    delta = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        **usage_cost(deps, input_tokens, output_tokens),  # price, or one call at unknown price
        "calls": 1,
    }
    totals = add_usage(state.get("usage"), delta)
    # the provider's count of this prompt, or (no usage reported) our estimate of it
    prompt_tokens = input_tokens or (deps.prompt_overhead_tokens() + estimate_messages(state.get("messages", [])))
    context_tokens = prompt_tokens + estimate_message(response)

    calls = [dict(c) for c in response.tool_calls]  # (the event's field is plain dicts)
    emit(AssistantMessage(content=str(response.content), tool_calls=calls, agent=deps.agent_name))
    emit(
        Usage(
            input_tokens=totals["input_tokens"],
            output_tokens=totals["output_tokens"],
            cost_usd=totals["cost_usd"],
            context_tokens=context_tokens,
            agent=deps.agent_name,
        )
    )
    update: dict[str, Any] = {
        "messages": [response],
        "usage": delta,
        "iteration": iteration + 1,
        "context_tokens": context_tokens,
        "compact": None,
        "overflow_retry": False,
        **budget,  # a budget raised before this call
    }
    if response.tool_calls:
        goto, routed = after_model(state, response, deps)
        return Command(update={**update, **routed}, goto=goto)
    nudges = state.get("nudges", 0)
    if notice is not None:  # a call written as text that could not be read: say how, once per turn
        update["messages"] = [response, notice]
        return Command(update=update, goto="llm_call")

    open_items = open_plan_items(state.get("plan"))
    if open_items and nudges < MAX_NUDGES:
        listing = "\n".join(f"- [{t['status']}] {t['id']}. {t['content']}" for t in open_items)
        nudge = HumanMessage(
            content=f"Your plan still has open items:\n{listing}\nContinue with them, or update the plan "
            "with plan_tool if they are no longer needed.",
            additional_kwargs=injected(Injected.CONTINUATION),
        )
        update["messages"] = [response, nudge]
        update["nudges"] = nudges + 1
        return Command(update=update, goto="llm_call")

    turn = turn_messages(history)
    claims = await off_loop(unsupported_claims, str(response.content), [*turn, response], deps.workspace)
    if claims:
        if not any(injected_tag(m.additional_kwargs) == Injected.CLAIM_CHECK for m in turn):
            check = HumanMessage(content=check_request(claims), additional_kwargs=injected(Injected.CLAIM_CHECK))
            emit(ToolLog(line="the answer claims work no tool did: asking the model to check", agent=deps.agent_name))
            update["messages"] = [response, check]
            return Command(update=update, goto="llm_call")
        message = "the answer claims work that no tool did (" + "; ".join(claims) + "): the turn is not done"
        emit(Error(message=message, kind="unverified", agent=deps.agent_name))
        update["stop_reason"] = "unverified"
    return Command(update=update, goto=END)


def learn_window(deps: AgentDeps, message: str, emit: Emit) -> None:
    """A server that names its window in an overflow error (llama-cpp-python's says "maximum context length is
    8192 tokens") sets the window compaction works to, when it is smaller or was only assumed."""
    window = window_from_message(message)
    handle = deps.model_handle()
    current = handle.context_window or deps.settings.compaction.fallback_context_window
    if window and (window < current or handle.extra.get("window_assumed")):
        handle.context_window = window
        handle.extra["window_assumed"] = False
        emit(
            ToolLog(line=f"the server's context window is {window} tokens: compacting to fit it", agent=deps.agent_name)
        )


def calls_from_text(response: AIMessage, deps: AgentDeps, history: list) -> tuple[AIMessage, HumanMessage | None]:
    """Tool calls the model wrote in its text (the server returned none) as real calls; or, when the text holds a
    call that cannot be read, a notice telling the model how to write one (only once per turn)."""
    text = response.content if isinstance(response.content, str) else ""
    found = recover(text, set(deps.tools.names))
    if found.calls:
        calls = [
            {"name": c["name"], "args": c["args"], "id": f"call_{uuid.uuid4().hex[:16]}", "type": "tool_call"}
            for c in found.calls
        ]
        kwargs = {**response.additional_kwargs, "calls_from_text": True}
        return response.model_copy(
            update={"content": found.text, "tool_calls": calls, "additional_kwargs": kwargs}
        ), None
    if found.unreadable is None:
        return response, None
    if any(injected_tag(m.additional_kwargs) == Injected.CALL_FORMAT for m in turn_messages(history)):
        return response, None
    example = '<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>'
    notice = HumanMessage(
        content=f"Your reply contains a tool call that could not be read: {found.unreadable[:200]!r}. Nothing was "
        f"run. Call the tool through the tool-calling interface, or write exactly one JSON object per call: "
        f"{example}",
        additional_kwargs=injected(Injected.CALL_FORMAT),
    )
    return response, notice
