"""doom_loop_check: notice when the model keeps doing the same thing and tell it once.

A call's signature is (tool name, canonical args, hash of its result); execute_tools records them.
Three identical signatures in a row, or a cycle of 2-5 calls repeated twice, is a loop. Polling
whose results change has different signatures, so it is not a loop. A streak is warned about once;
if it keeps going (stop_after_repeats more calls), the turn stops (headless) or the user is asked.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from core.events import DoomLoop, Error
from core.protocol import DoomLoopQuestion, Injected, injected
from core.state import AgentState, DoomState, call_id, last_ai_message
from nodes.approval import route_calls
from nodes.context import END, AgentDeps, emitter


def call_signature(name: str, args: dict[str, Any], result: str) -> str:
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), default=str)
    result_hash = hashlib.sha1(result.encode("utf-8", "replace")).hexdigest()[:12]
    return hashlib.sha1(f"{name}\0{canonical}\0{result_hash}".encode()).hexdigest()[:10] + ":" + name


def window_size(deps: AgentDeps) -> int:
    cfg = deps.settings.doom_loop
    return max(2 * cfg.max_cycle_length, cfg.identical_calls) + cfg.stop_after_repeats + 2


def find_loop(recent: list[str], identical: int, max_cycle: int) -> tuple[str, ...] | None:
    """The repeating unit at the end of `recent`, in a rotation-independent form, or None."""
    if len(recent) >= identical and len(set(recent[-identical:])) == 1:
        return (recent[-1],)
    for length in range(2, max_cycle + 1):
        if len(recent) >= 2 * length and recent[-length:] == recent[-2 * length : -length]:
            unit = recent[-length:]
            if len(set(unit)) == 1:
                continue
            rotations = [tuple(unit[i:] + unit[:i]) for i in range(length)]
            return min(rotations)
    return None


def describe(unit: tuple[str, ...]) -> str:
    names = [sig.split(":", 1)[1] for sig in unit]
    return " -> ".join(names)


def has_work(doom: DoomState, deps: AgentDeps) -> bool:
    """Would doom_loop_check do more than pass the step on? Only when the recent calls form a loop or a streak
    warned about is being followed. When it would not, skipping it changes nothing: its `checked` count is
    only read while a streak is followed, and it is brought up to date when one starts."""
    cfg = deps.settings.doom_loop
    unit = find_loop(doom.get("recent", []), cfg.identical_calls, cfg.max_cycle_length)
    return unit is not None or doom.get("warned") is not None or bool(doom.get("repeats"))


def doom_loop_check(
    state: AgentState, runtime: Runtime[AgentDeps]
) -> Command[Literal["approval", "execute_tools", "__end__"]]:
    """Let the step's calls go on (to approval, or past it when it has nothing to do) unless the recent calls
    repeat: warn the model once per streak; when it keeps repeating, ask the human (interactive) or stop the
    turn with stop_reason doom_loop."""
    deps, emit = runtime.context, emitter(runtime)
    cfg = deps.settings.doom_loop
    doom = DoomState(**(state.get("doom") or {}))
    recent = doom.get("recent", [])
    new_calls = doom.get("total", 0) - doom.get("checked", 0)
    doom["checked"] = doom.get("total", 0)
    unit = find_loop(recent, cfg.identical_calls, cfg.max_cycle_length)
    step = last_ai_message(state.get("messages", []))

    def go_on() -> Command[Literal["approval", "execute_tools", "__end__"]]:
        goto, update = route_calls(step, deps, state)
        return Command(update={**update, "doom": doom}, goto=goto)

    if unit is None:
        doom.update(warned=None, repeats=0)
        return go_on()

    key = "|".join(unit)
    if doom.get("warned") != key:
        doom.update(
            warned=key,
            repeats=0,
            pending_warning=(
                f"You appear to be stuck in a loop: the same tool calls ({describe(unit)}) keep returning "
                "the same results. Stop repeating them. Re-read the last results, try a different approach, "
                "or answer the user explaining what blocks you."
            ),
        )
        emit(DoomLoop(pattern=describe(unit), repeats=len(unit), agent=deps.agent_name))
        return go_on()

    doom["repeats"] = doom.get("repeats", 0) + new_calls
    if doom["repeats"] < cfg.stop_after_repeats:
        return go_on()

    message = (
        f"stopped: the model kept repeating {describe(unit)} after being warned "
        f"({doom['repeats']} more identical calls)"
    )
    if deps.interactive:
        question = DoomLoopQuestion(
            kind="doom_loop", message=message, question="Let the agent continue anyway? (yes/no)"
        )
        answer = deps.ask_human(question)
        if str(answer).strip().lower() in {"y", "yes", "continue"}:
            doom.update(warned=key, repeats=0)
            return go_on()
    emit(Error(message=message, kind="doom_loop", agent=deps.agent_name))
    skipped = [
        ToolMessage(
            content="Not run: the turn was stopped because the same calls kept repeating.",
            tool_call_id=call_id(call),
            name=call["name"],
            status="error",
        )
        for call in step.tool_calls
    ]
    return Command(update={"doom": doom, "stop_reason": "doom_loop", "messages": skipped}, goto=END)


def corrective_message(doom: DoomState) -> HumanMessage | None:
    text = doom.get("pending_warning")
    if not text:
        return None
    return HumanMessage(content=text, additional_kwargs=injected(Injected.DOOM_LOOP))
