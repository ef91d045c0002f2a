"""execute_tools: run the approved calls of a step concurrently, each with a timeout.

A tool exception becomes an error result, never a crash. Output over the cap keeps head and tail
and the full text is saved in the session folder (the model is told the path). Malformed
arguments are reported without running the tool; a second one in a row gets a stronger hint.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langgraph.runtime import Runtime

from core import credentials
from core.events import ToolCall, ToolOutput, ToolStateChange
from core.paths import outputs_dir, safe_file_name
from core.protocol import ToolState
from core.state import AgentState, ApprovedCall, DoomState, add_usage, call_id, last_ai_message
from core.unicode_safe import scrub
from models.tokens import estimate_messages
from nodes.context import AgentDeps, Emit, emitter, run_session_dir
from nodes.doom_loop import call_signature, corrective_message, window_size
from nodes.stored_args import FULL_ARGS_KEY, ArgumentsLost, full_args
from tools.base import ToolContext, ToolError, ToolResult
from tools.blocking import off_loop
from tools.file_changes import FileChanges
from tools.validation import validate


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


async def run_one(
    deps: AgentDeps,
    call: ApprovedCall,
    message: AIMessage,
    state: AgentState,
    session_dir: Path,
    emit: Emit,
    changes: FileChanges,
) -> ToolResult:
    """Run one approved call with its timeout; any failure (bad arguments, a timeout, a crash) becomes an
    error result."""
    tool = deps.tools.get(call["name"])
    if tool is None:
        known = ", ".join(deps.tools.names)
        return ToolResult(f"Unknown tool '{call['name']}'. Available tools: {known}", is_error=True)
    args = call["args"]
    if FULL_ARGS_KEY in message.additional_kwargs:  # stored capped: run with the saved whole arguments
        try:
            args = await off_loop(full_args, message, call, session_dir)
        except ArgumentsLost as e:
            return ToolResult(str(e), is_error=True)
    ctx = ToolContext(
        workspace=deps.workspace,
        session_dir=session_dir,
        call_id=call_id(call),
        settings=deps.settings,
        state={
            "plan": state.get("plan") or [],
            "files_read": state.get("files_read") or {},
            "usage": state.get("usage") or {},
        },
        emit=emit,
        changes=changes,
        agent_name=deps.agent_name,
    )
    handler_args: Any = args
    if tool.args_model is not None:
        checked = validate(tool.name, tool.args_model, args)
        if isinstance(checked, str):
            return ToolResult(checked, is_error=True)
        handler_args = checked
    timeout = tool.timeout_for(args, deps.settings.tool_timeout_s)
    try:
        with credentials.scoped(deps.credentials):  # the task wait_for starts copies the scope
            result = await asyncio.wait_for(tool.handler(handler_args, ctx), timeout)
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
    return result


def output_cap(deps: AgentDeps) -> int:
    """Characters of a tool result the model sees: tool_output_cap, and at most about a quarter of the context
    window (a window's worth of characters), so one result cannot fill a small local model's window."""
    return min(deps.settings.tool_output_cap, max(2_000, deps.context_window()))


def malformed_results(message: AIMessage, counts: dict[str, int]) -> dict[str, ToolMessage]:
    """A result for each call whose arguments were not JSON (the hint grows on a second one in a row to the
    same tool); `counts` is updated: a tool called well again starts from zero."""
    info_by_id = message.additional_kwargs.get("malformed_calls") or {}
    results: dict[str, ToolMessage] = {}
    for call in message.tool_calls:
        info = info_by_id.get(call["id"])
        if info is None:
            continue
        count = counts.get(call["name"], 0) + 1
        counts[call["name"]] = count
        text = f"Not run: the arguments were not valid JSON ({info['error']}). Received: {info['raw'][:500]}"
        if count >= 2:
            text += (
                "\nThis is the second malformed call to this tool in a row. Send a single JSON object "
                "that matches the tool's schema exactly; split very long content into smaller calls."
            )
        cid = call_id(call)
        results[cid] = ToolMessage(content=text, tool_call_id=cid, name=call["name"], status="error")
    for call in message.tool_calls:
        if call["id"] not in info_by_id:
            counts.pop(call["name"], None)
    return results


def answer(deps: AgentDeps, call: ApprovedCall, result: ToolResult, session_dir: Path, emit: Emit) -> ToolMessage:
    """The tool message for a call that ran: capped (the whole output saved in the session folder), noting
    arguments the user edited; its output and final state go to the front end."""
    cid, name = call_id(call), call["name"]
    content, spill = cap_output(
        result.content, output_cap(deps), outputs_dir(session_dir) / f"{safe_file_name(cid)}.txt"
    )
    if call.get("edited"):  # the history shows the model's arguments: say what really ran
        content = f"[run with the arguments the user edited: {json.dumps(call['args'])[:1000]}]\n{content}"
    emit(
        ToolOutput(
            tool_call_id=cid,
            name=name,
            content=content,
            is_error=result.is_error,
            full_output_path=spill,
            agent=deps.agent_name,
        )
    )
    state = ToolState.FAILED if result.is_error else ToolState.DONE
    emit(ToolStateChange(tool_call_id=cid, name=name, state=state, agent=deps.agent_name))
    return ToolMessage(content=content, tool_call_id=cid, name=name, status="error" if result.is_error else "success")


def merge_state_update(updates: dict[str, Any], update: dict[str, Any] | None) -> None:
    """Fold one tool's state update into the step's: usage adds up, dicts merge, anything else is replaced."""
    for key, value in (update or {}).items():
        if key == "usage":  # e.g. a sub-agent's tokens: totals add up
            updates[key] = add_usage(updates.get(key), value)
        elif isinstance(value, dict) and isinstance(updates.get(key), dict):
            updates[key] = {**updates[key], **value}
        else:
            updates[key] = value


async def execute_tools(state: AgentState, runtime: Runtime[AgentDeps]) -> dict[str, Any]:
    """Run the step's approved calls concurrently and answer every call of the step: results, capped
    outputs (the whole text saved in the session folder), malformed-call hints; record each call's
    signature for the doom-loop check and send its warning, if one is due, after the results."""
    deps, emit, session_dir = runtime.context, emitter(runtime), run_session_dir(runtime)
    history = state.get("messages", [])
    message = last_ai_message(history)
    malformed_counts = dict(state.get("malformed") or {})
    results = malformed_results(message, malformed_counts)

    approved = state.get("approved_calls") or []
    for call in approved:
        cid, name = call_id(call), call["name"]
        emit(ToolCall(tool_call_id=cid, name=name, args=call["args"], agent=deps.agent_name))
        emit(ToolStateChange(tool_call_id=cid, name=name, state=ToolState.RUNNING, agent=deps.agent_name))
    turn = len(state.get("turns") or [])
    changes = FileChanges(session_dir / "undo" / str(turn), deps.workspace)
    try:
        outcomes = await asyncio.gather(
            *(run_one(deps, c, message, state, session_dir, emit, changes) for c in approved)
        )
    finally:  # also when stopped: undo compares against what the turn really left
        changes.record_left()

    updates: dict[str, Any] = {}
    for call, result in zip(approved, outcomes, strict=False):
        results[call_id(call)] = answer(deps, call, result, session_dir, emit)
        merge_state_update(updates, result.state_update)

    new_messages: list[AnyMessage] = [results[c["id"]] for c in message.tool_calls if c["id"] in results]
    doom = DoomState(**(state.get("doom") or {}))
    # every call of the step counts for the doom-loop check, also those rejected, denied or malformed
    answered = {m.tool_call_id: str(m.content) for m in step_results(history)}
    answered.update({cid: str(m.content) for cid, m in results.items()})
    recent = list(doom.get("recent", []))
    recent += [call_signature(c["name"], c["args"], answered.get(call_id(c), "")) for c in message.tool_calls]
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
