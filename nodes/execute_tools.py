"""execute_tools: run the approved calls of a step concurrently, each with a timeout.

A tool exception becomes an error result, never a crash. Output over the cap keeps head and tail
and the full text is saved in the session folder (the model is told the path). Malformed
arguments are reported without running the tool; a second one in a row gets a stronger hint.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from pydantic import ValidationError

from core.events import ToolCall, ToolOutput, ToolStateChange
from core.paths import outputs_dir, safe_file_name
from core.protocol import ToolState
from core.state import AgentState, DoomState, add_usage
from core.unicode_safe import scrub
from models.tokens import estimate_messages
from nodes.approval import last_ai_message
from nodes.context import AgentDeps, Emit, emitter
from nodes.doom_loop import call_signature, corrective_message, window_size
from nodes.stored_args import FULL_ARGS_KEY, ArgumentsLost, full_args
from tools.base import ToolContext, ToolError, ToolResult
from tools.blocking import off_loop
from tools.file_changes import FileChanges


def cap_output(text: str, cap: int, spill_path) -> tuple[str, str | None]:
    """Keep head and tail of an over-long output; the full text goes to `spill_path` when it can."""
    if len(text) <= cap:
        return text, None
    try:
        spill_path.parent.mkdir(parents=True, exist_ok=True)
        spill_path.write_text(text, encoding="utf-8", errors="replace")
        saved: str | None = str(spill_path)
        where = f"is saved at {spill_path}: use read with offset/limit, or grep, to see the rest"
    except OSError as exc:
        saved, where = None, f"could not be saved ({exc.strerror or exc}): rerun with a narrower command"
    head, tail = text[: cap * 2 // 3], text[-(cap // 3) :]
    omitted = len(text) - len(head) - len(tail)
    note = f"\n\n[... {omitted} characters omitted. The full output ({len(text)} characters) {where} ...]\n\n"
    return head + note + tail, saved


def _format_validation(error: ValidationError) -> str:
    lines = []
    for err in error.errors()[:8]:
        where = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        lines.append(f"- {where}: {err['msg']}")
    return "Invalid arguments:\n" + "\n".join(lines)


async def run_one(
    deps: AgentDeps,
    call: dict[str, Any],
    message: AIMessage,
    state: AgentState,
    config: RunnableConfig,
    emit: Emit,
    changes: FileChanges,
) -> tuple[ToolResult, float]:
    """Run one approved call with its timeout; any failure (bad arguments, a timeout, a crash) becomes an
    error result. Returns the result and the seconds it took."""
    tool = deps.tools.get(call["name"])
    if tool is None:
        known = ", ".join(deps.tools.names)
        return ToolResult(f"Unknown tool '{call['name']}'. Available tools: {known}", is_error=True), 0.0
    session_dir = deps.session_dir(config)
    if FULL_ARGS_KEY in message.additional_kwargs:  # stored capped: run with the saved whole arguments
        try:
            call = {**call, "args": await off_loop(full_args, message, call, session_dir)}
        except ArgumentsLost as e:
            return ToolResult(str(e), is_error=True), 0.0
    ctx = ToolContext(
        workspace=deps.workspace,
        session_dir=session_dir,
        call_id=call["id"],
        settings=deps.settings,
        state={"plan": state.get("plan") or [], "files_read": state.get("files_read") or {}},
        emit=emit,
        changes=changes,
        agent_name=deps.agent_name,
    )
    args: Any = call["args"]
    if tool.args_model is not None:
        try:
            args = tool.args_model.model_validate(call["args"])
        except ValidationError as e:
            return ToolResult(_format_validation(e), is_error=True), 0.0
    timeout = tool.timeout_for(call["args"], deps.settings.tool_timeout_s)
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(tool.handler(args, ctx), timeout)
    except TimeoutError:
        result = ToolResult(f"Timed out after {timeout:.0f}s and was stopped.", is_error=True)
    except ToolError as e:
        result = ToolResult(str(e), is_error=True)
    except asyncio.CancelledError:
        raise
    except Exception as e:  # a crashing tool must not take the agent down
        result = ToolResult(f"Tool error: {type(e).__name__}: {e}", is_error=True)
    if isinstance(result, str):
        result = ToolResult(result)
    result.content = scrub(result.content)  # a tool may return lone surrogates: keep the history encodable
    return result, time.perf_counter() - started


async def execute_tools(state: AgentState, config: RunnableConfig, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Run the step's approved calls concurrently and answer every call of the step: results, capped
    outputs (the whole text saved in the session folder), malformed-call hints; record each call's
    signature for the doom-loop check and send its warning, if one is due, after the results."""
    deps, emit = runtime.context, emitter(runtime)
    message: AIMessage = last_ai_message(state["messages"])
    malformed_info = message.additional_kwargs.get("malformed_calls") or {}
    malformed_counts = dict(state.get("malformed") or {})
    results: dict[str, ToolMessage] = {}
    updates: dict[str, Any] = {}

    for call in message.tool_calls:
        info = malformed_info.get(call["id"])
        if info is None:
            continue
        count = malformed_counts.get(call["name"], 0) + 1
        malformed_counts[call["name"]] = count
        text = f"Not run: the arguments were not valid JSON ({info['error']}). Received: {info['raw'][:500]}"
        if count >= 2:
            text += (
                "\nThis is the second malformed call to this tool in a row. Send a single JSON object "
                "that matches the tool's schema exactly; split very long content into smaller calls."
            )
        results[call["id"]] = ToolMessage(content=text, tool_call_id=call["id"], name=call["name"], status="error")
    for call in message.tool_calls:
        if call["id"] not in malformed_info:
            malformed_counts.pop(call["name"], None)

    approved = state.get("approved_calls") or []
    for call in approved:
        emit(ToolCall(tool_call_id=call["id"], name=call["name"], args=call["args"], agent=deps.agent_name))
        emit(
            ToolStateChange(tool_call_id=call["id"], name=call["name"], state=ToolState.RUNNING, agent=deps.agent_name)
        )
    turn = len(state.get("turns") or [])
    changes = FileChanges(deps.session_dir(config) / "undo" / str(turn), deps.workspace)
    try:
        outcomes = await asyncio.gather(*(run_one(deps, c, message, state, config, emit, changes) for c in approved))
    finally:  # also when stopped: undo compares against what the turn really left
        changes.record_left()

    doom = DoomState(**(state.get("doom") or {}))
    recent = list(doom.get("recent", []))
    session_dir = deps.session_dir(config)
    for call, (result, _elapsed) in zip(approved, outcomes, strict=False):
        content, spill = cap_output(
            result.content,
            deps.settings.tool_output_cap,
            outputs_dir(session_dir) / f"{safe_file_name(call['id'])}.txt",
        )
        if call.get("edited"):  # the history shows the model's arguments: say what really ran
            content = f"[run with the arguments the user edited: {json.dumps(call['args'])[:1000]}]\n{content}"
        results[call["id"]] = ToolMessage(
            content=content,
            tool_call_id=call["id"],
            name=call["name"],
            status="error" if result.is_error else "success",
        )
        emit(
            ToolOutput(
                tool_call_id=call["id"],
                name=call["name"],
                content=content,
                is_error=result.is_error,
                full_output_path=spill,
                agent=deps.agent_name,
            )
        )
        emit(
            ToolStateChange(
                tool_call_id=call["id"],
                name=call["name"],
                state=ToolState.FAILED if result.is_error else ToolState.DONE,
                agent=deps.agent_name,
            )
        )
        for key, value in (result.state_update or {}).items():
            if key == "usage":  # e.g. a sub-agent's tokens: totals add up
                updates[key] = add_usage(updates.get(key), value)
            elif isinstance(value, dict) and isinstance(updates.get(key), dict):
                updates[key] = {**updates[key], **value}
            else:
                updates[key] = value

    new_messages = [results[c["id"]] for c in message.tool_calls if c["id"] in results]
    # every call of the step counts for the doom-loop check, also those rejected, denied or malformed
    answered = {m.tool_call_id: str(m.content) for m in step_results(state["messages"])}
    answered.update({m.tool_call_id: str(m.content) for m in new_messages})
    recent += [call_signature(c["name"], c["args"], answered.get(c["id"], "")) for c in message.tool_calls]
    warning = corrective_message(doom)
    if warning is not None:
        new_messages.append(warning)
        doom["pending_warning"] = None
    doom["recent"] = recent[-window_size(deps) :]
    doom["total"] = doom.get("total", 0) + len(message.tool_calls)
    return {
        **updates,
        "messages": new_messages,
        "approved_calls": [],
        "malformed": malformed_counts,
        "doom": doom,
        "context_tokens": state.get("context_tokens", 0) + estimate_messages(new_messages),
    }


def step_results(messages: list) -> list[ToolMessage]:
    """The results already given in this step (by approval: rejections, denials), newest last."""
    found = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        found.append(message)
    return found[::-1]


def interrupted_results(message: AIMessage, answered: set[str], reason: str = "interrupted") -> list[ToolMessage]:
    """Tool results for calls that never got one (Ctrl-C, crash, kill -9), so the history stays valid."""
    text = {
        "interrupted": "Interrupted: the call did not finish (the session was interrupted or the agent stopped). "
        "Check its effects before retrying."
    }.get(reason, reason)
    return [
        ToolMessage(content=text, tool_call_id=c["id"], name=c["name"], status="error")
        for c in message.tool_calls
        if c["id"] not in answered
    ]
