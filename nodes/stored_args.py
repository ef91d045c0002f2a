"""Tool-call arguments as the history keeps them: capped like outputs, run whole.

A call whose arguments are huge (a 20 MB `write`) would sit in every later prompt and defeat compaction,
which can shorten message text but not arguments. llm_call stores such a call with its long strings
cut to head and tail plus a note, and saves the whole arguments in the session folder
(calls/<id>.json); execute_tools runs the call with those. If they cannot be saved, the message keeps
them whole: nothing is lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, ToolCall

from core.paths import safe_file_name
from core.state import call_id

FULL_ARGS_KEY = "full_args"  # additional_kwargs: call id -> file name under calls/


def calls_dir(session_dir: Path) -> Path:
    return session_dir / "calls"


def _size(args: Any) -> int:
    return len(json.dumps(args, ensure_ascii=False))


def _cap_strings(value: Any, limit: int) -> Any:
    """`value` with every string longer than `limit` cut to its head and tail and a note."""
    if isinstance(value, str) and len(value) > limit:
        head, tail = value[: limit * 2 // 3], value[-(limit // 4) :]
        omitted = len(value) - len(head) - len(tail)
        return f"{head}\n[... {omitted:,} characters omitted from the stored copy; the call ran with the full text ...]\n{tail}"
    if isinstance(value, dict):
        return {k: _cap_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_cap_strings(v, limit) for v in value]
    return value


def capped_args(args: dict[str, Any], cap: int) -> dict[str, Any] | None:
    """The arguments as stored when they are over `cap` characters of JSON, else None."""
    if _size(args) <= cap:
        return None
    capped = _cap_strings(args, max(200, cap // 4))
    if _size(capped) > cap * 2:  # many fields, or long lists: keep only a description
        capped = {"note": f"arguments of {_size(args):,} characters omitted from the stored copy"}
    return capped


def needs_capping(message: AIMessage, cap: int) -> bool:
    return any(_size(call["args"]) > cap for call in message.tool_calls)


def store_capped(message: AIMessage, cap: int, session_dir: Path) -> AIMessage:
    """`message` with over-long arguments capped; their full text is saved first (blocking: run off the loop)."""
    saved: dict[str, str] = {}
    calls: list[ToolCall] = []
    for call in message.tool_calls:
        capped = capped_args(call["args"], cap)
        name = f"{safe_file_name(call_id(call))}.json"
        if capped is not None:
            try:
                folder = calls_dir(session_dir)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(json.dumps(call["args"], ensure_ascii=False), "utf-8", "surrogatepass")
            except OSError:
                capped = None  # cannot keep them aside: keep them in the history
        if capped is not None:
            saved[call_id(call)] = name
            call = ToolCall(**{**call, "args": capped})
        calls.append(call)
    if not saved:
        return message
    kwargs = {**message.additional_kwargs, FULL_ARGS_KEY: saved}
    return message.model_copy(update={"tool_calls": calls, "additional_kwargs": kwargs})


class ArgumentsLost(Exception):
    """The saved full arguments of a capped call are gone."""


def full_args(message: AIMessage, call: dict[str, Any], session_dir: Path) -> dict[str, Any]:
    """The arguments a call runs with: the saved whole ones for a capped call (blocking: run off the loop)."""
    name = (message.additional_kwargs.get(FULL_ARGS_KEY) or {}).get(call["id"])
    if name is None or call.get("edited"):
        return call["args"]
    try:
        return json.loads((calls_dir(session_dir) / name).read_text("utf-8", "surrogatepass"))
    except (OSError, ValueError) as exc:
        raise ArgumentsLost(
            f"Not run: the full arguments of this call (stored capped in the history) could not be read "
            f"from the session folder ({exc}). Send the call again."
        ) from None
