"""The approval prompt: one panel per pending call, one answer each, turned into the approval node's
decisions ({call_id: {"action": "approve"|"reject"|"edit", "feedback", "args"}}).

Answers: y approve, n reject, a approve this and the rest of the step, e edit the arguments in $EDITOR
(JSON) then approve, anything else rejects with that text as feedback to the model. Ctrl-C rejects
every call still unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from prompt_toolkit.formatted_text import FormattedText
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

QUESTION = FormattedText([("bold", "approve? "), ("", "[y]es [n]o [a]ll [e]dit, or type feedback to reject: ")])
RISK_STYLES = {
    "read_only": "green",
    "workspace_write": "yellow",
    "exec": "yellow",
    "remote_compute": "red",
    "destructive": "bold red",
}
# details keys of compute jobs worth a friendly label (anything else is shown as is).
DETAIL_LABELS = {
    "script": "script",
    "what": "script",
    "command": "command",
    "hardware": "hardware",
    "flavor": "hardware",
    "timeout": "timeout",
    "timeout_s": "timeout",
    "estimated_cost": "est. cost",
    "estimated_cost_usd": "est. cost",
    "cost_usd": "est. cost",
    "max_cost_usd": "max cost",
}
MAX_VALUE_LINES = 15


class EditFailed(Exception):
    pass


def _value_text(value: Any) -> Text:
    """An argument value, long strings cut to MAX_VALUE_LINES lines (the full text is in the editor)."""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)
    lines = text.splitlines() or [""]
    shown = "\n".join(lines[:MAX_VALUE_LINES])
    out = Text(shown)
    if len(lines) > MAX_VALUE_LINES:
        out.append(f"\n… {len(lines) - MAX_VALUE_LINES} more lines (e shows them all)", style="dim italic")
    return out


def _format_detail(key: str, value: Any) -> Text:
    label = DETAIL_LABELS.get(key, key)
    if label in ("est. cost", "max cost") and isinstance(value, (int, float)):
        return Text(f"${value:,.2f}", style="bold")
    if label == "timeout" and isinstance(value, (int, float)):
        return Text(f"{value / 3600:.1f} h" if value >= 3600 else f"{value:.0f} s")
    return _value_text(value)


def approval_panel(call: dict[str, Any], index: int, total: int) -> Panel:
    risk = str(call.get("risk") or "unknown")
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    table.add_row("tool", Text(str(call.get("name")), style="bold"))
    table.add_row("risk", Text(risk, style=RISK_STYLES.get(risk, "white")))
    args = call.get("args") or {}
    for key, value in args.items():
        table.add_row(key, _value_text(value))
    if not args:
        table.add_row("args", Text("(none)", style="dim"))
    details = call.get("details") or {}
    parts: list[Any] = [table]
    if details:
        detail_table = Table.grid(padding=(0, 2))
        detail_table.add_column(style="dim", no_wrap=True)
        detail_table.add_column()
        for key, value in details.items():
            if value in (None, "", [], {}):
                continue
            detail_table.add_row(DETAIL_LABELS.get(key, key), _format_detail(key, value))
        parts += [Text("compute", style="bold dim"), detail_table]
    counter = f" ({index}/{total})" if total > 1 else ""
    return Panel(
        Group(*parts),
        title=f"approval needed{counter}",
        title_align="left",
        border_style=RISK_STYLES.get(risk, "yellow"),
        expand=False,
    )


def editor_command() -> list[str]:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(editor)


def edit_args(args: dict[str, Any]) -> dict[str, Any]:
    """Open the arguments as JSON in $VISUAL/$EDITOR; return the edited object."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="ml-intern-args-", delete=False) as f:
        json.dump(args, f, indent=2, ensure_ascii=False)
        f.write("\n")
        path = f.name
    try:
        try:
            code = subprocess.call([*editor_command(), path])
        except OSError as e:
            raise EditFailed(
                f"cannot start the editor {' '.join(editor_command())!r}: {e.strerror} (set EDITOR to your editor)"
            ) from None
        if code != 0:
            raise EditFailed(f"the editor exited with code {code}; the call was not changed")
        try:
            edited = json.loads(Path(path).read_text())
        except json.JSONDecodeError as e:
            raise EditFailed(f"the edited arguments are not valid JSON (line {e.lineno}: {e.msg})") from None
        if not isinstance(edited, dict):
            raise EditFailed("the edited arguments must be a JSON object")
        return edited
    finally:
        os.unlink(path)


async def collect_decisions(
    calls: list[dict[str, Any]],
    console: Console,
    ask: Callable[[Any], Awaitable[str]],
    on_rejected: Callable[[dict[str, Any], str], None],
    editor_terminal: Callable[[], Any] = contextlib.nullcontext,
) -> dict[str, dict[str, Any]]:
    """Ask about each pending call; returns the decisions for the engine.

    editor_terminal: a context manager that gives $EDITOR the terminal as the user set it up.
    """
    decisions: dict[str, dict[str, Any]] = {}
    approve_rest = False
    for index, call in enumerate(calls, 1):
        call_id = call["id"]  # unique: llm_call gives every call its own id
        if approve_rest:
            decisions[call_id] = {"action": "approve"}
            continue
        console.print(approval_panel(call, index, len(calls)))
        while True:
            try:
                answer = (await ask(QUESTION)).strip()
            except (KeyboardInterrupt, EOFError):
                for rest in calls[index - 1 :]:
                    decisions[rest["id"]] = {"action": "reject", "feedback": "Interrupted by the user."}
                    on_rejected(rest, "")
                console.print(Text("rejected the remaining calls", style="yellow"))
                return decisions
            lowered = answer.lower()
            if not answer:
                continue
            if lowered in ("y", "yes"):
                decisions[call_id] = {"action": "approve"}
            elif lowered in ("a", "all"):
                decisions[call_id] = {"action": "approve"}
                approve_rest = True
            elif lowered in ("n", "no"):
                decisions[call_id] = {"action": "reject", "feedback": ""}
                on_rejected(call, "")
            elif lowered in ("e", "edit"):
                try:
                    with editor_terminal():
                        args = await asyncio.to_thread(edit_args, dict(call.get("args") or {}))
                except EditFailed as e:
                    console.print(Text(f"✗ {e}", style="red"))
                    continue
                decisions[call_id] = {"action": "edit", "args": args}
                console.print(Text("edited arguments: " + json.dumps(args, ensure_ascii=False)[:300], style="dim"))
            else:
                decisions[call_id] = {"action": "reject", "feedback": answer}
                on_rejected(call, answer)
            break
    return decisions
