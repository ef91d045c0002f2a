"""The approval prompt: one panel per pending call, one answer each, turned into the approval node's
decisions ({call_id: {"action": "approve"|"reject"|"edit", "feedback", "args", "remember"}}).

Only known answers count (ANSWERS; Enter takes the default shown in capitals): anything else is asked
again, so `yes please` or a stray line never decides. Feedback is its own choice (f). A /command is run
(a few that fit in the middle of a turn) and the question comes back. Esc, Ctrl-C or Ctrl-D stop the
turn: the calls are rejected and the model is not called again.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prompt_toolkit.formatted_text import FormattedText
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cli import diff_view
from tools.shell_commands import suggested_prefix

# answer -> what it does; single keys, and the words they stand for
ANSWERS = {
    "y": "yes",
    "yes": "yes",
    "n": "no",
    "no": "no",
    "a": "always",
    "always": "always",
    "s": "step",
    "step": "step",
    "f": "feedback",
    "feedback": "feedback",
    "e": "edit",
    "edit": "edit",
    "v": "view",
    "view": "view",
}
# Slash commands that make sense while a call waits for its answer (the rest would change the session under it).
COMMANDS_WHILE_ASKING = {"/yolo", "/approval", "/help", "/?", "/status", "/cost", "/plan", "/output", "/show"}
COMMANDS_TO_QUIT = {"/exit", "/quit", "/q"}
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
    "estimated_max_cost_usd": "max cost",
    "estimated_max_cost_per_run_usd": "max cost/run",
    "price_per_hour_usd": "price",
    "destructive": "destructive",
}
MAX_VALUE_LINES = 15
MAX_DIFF_LINES = 30


class EditFailed(Exception):
    pass


def _value_text(value: Any) -> Text:
    """An argument value, long strings cut to MAX_VALUE_LINES lines (the full text is in the editor)."""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)
    lines = text.splitlines() or [""]
    shown = "\n".join(lines[:MAX_VALUE_LINES])
    out = Text(shown)
    if len(lines) > MAX_VALUE_LINES:
        out.append(f"\n… {len(lines) - MAX_VALUE_LINES} more lines (v shows them all)", style="dim italic")
    return out


def _format_detail(key: str, value: Any) -> Text:
    label = DETAIL_LABELS.get(key, key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and (key.endswith("_usd") or "cost" in label):
        return Text(f"${value:,.2f}" + ("/h" if "per_hour" in key else ""), style="bold")
    if label == "timeout" and isinstance(value, (int, float)):
        return Text(f"{value / 3600:.1f} h" if value >= 3600 else f"{value:.0f} s")
    return _value_text(value)


def approval_panel(call: dict[str, Any], index: int, total: int, workspace: Path | None = None) -> Panel:
    """One pending call: its tool, risk and arguments; for write/edit the change as a coloured diff instead
    of the raw text; compute details (hardware, prices as money) once, without repeating an argument."""
    risk = str(call.get("risk") or "unknown")
    name = str(call.get("name"))
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim", no_wrap=True)
    table.add_column()
    table.add_row("tool", Text(name, style="bold"))
    table.add_row("risk", Text(risk, style=RISK_STYLES.get(risk, "white")))
    args = call.get("args") or {}
    change = diff_view.proposed_change(name, args, workspace)
    diffed = {"content", "old_str", "new_str"} if change is not None else set()
    for key, value in args.items():
        if key not in diffed:
            table.add_row(key, _value_text(value))
    if not args:
        table.add_row("args", Text("(none)", style="dim"))
    parts: list[Any] = [table]
    if change is not None:
        parts.append(diff_view.render(change, MAX_DIFF_LINES, 200) if change else Text("(no change)", style="dim"))
    shown_values = {json.dumps(v, sort_keys=True, default=str) for v in args.values()}
    details = {
        k: v
        for k, v in (call.get("details") or {}).items()
        if v not in (None, "", [], {}) and json.dumps(v, sort_keys=True, default=str) not in shown_values
    }
    if details:
        detail_table = Table.grid(padding=(0, 2))
        detail_table.add_column(style="dim", no_wrap=True)
        detail_table.add_column()
        for key, value in details.items():
            detail_table.add_row(DETAIL_LABELS.get(key, key), _format_detail(key, value))
        parts += [Text("details" if risk == "destructive" else "compute", style="bold dim"), detail_table]
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


def always_rule(call: dict[str, Any]) -> tuple[dict[str, str], str] | None:
    """The "always allow" rule offered for a call and how the prompt names it; None when none fits (a
    destructive or paid call, or a command that is not one simple command)."""
    name = str(call.get("name"))
    if call.get("risk") in ("destructive", "remote_compute", "unknown"):
        return None
    if name == "bash":
        command = (call.get("args") or {}).get("command")
        prefix = suggested_prefix(command) if isinstance(command, str) else None
        return ({"tool": name, "prefix": prefix}, f"`{prefix} …` commands") if prefix else None
    return {"tool": name}, name


def question(call: dict[str, Any]) -> FormattedText:
    default = "n" if call.get("risk") == "destructive" else "y"
    parts = [("bold", "approve? "), ("", "Y/n" if default == "y" else "y/N")]
    rule = always_rule(call)
    if rule is not None:
        parts.append(("", f" · a always {rule[1].removesuffix(' commands')}"))
    parts.append(("", " · s step · f feedback · e edit · v view · Esc stop › "))
    return FormattedText(parts)


@dataclass
class ApprovalOutcome:
    """The decisions for the engine, or stop: end the turn without calling the model (quit: and the chat)."""

    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    stop: bool = False
    quit: bool = False


@dataclass
class ApprovalPrompt:
    """Asks about each pending call in the terminal.

    ask: reads one answer (raises KeyboardInterrupt / EOFError); on_rejected: shows a call turned down;
    editor_terminal: a context manager giving $EDITOR the terminal as the user set it up; run_command: runs
    a slash command, True when it asks to quit; approval_mode: the mode now (/yolo may change it);
    show_long: prints text that may be longer than the screen (through the pager)."""

    console: Console
    ask: Callable[[Any], Awaitable[str]]
    on_rejected: Callable[[dict[str, Any], str], None]
    editor_terminal: Callable[[], Any] = contextlib.nullcontext
    run_command: Callable[[str], Awaitable[bool]] | None = None
    approval_mode: Callable[[], str] = lambda: "ask"
    show_long: Callable[[str], Awaitable[None]] | None = None
    workspace: Path | None = None

    async def collect(self, calls: list[dict[str, Any]]) -> ApprovalOutcome:
        outcome = ApprovalOutcome()
        approve_rest = False
        for index, call in enumerate(calls, 1):
            call_id = call["id"]  # unique: llm_call gives every call its own id
            if approve_rest and call.get("risk") != "destructive":
                outcome.decisions[call_id] = {"action": "approve"}
                continue
            self.console.print(approval_panel(call, index, len(calls), self.workspace))
            decision = await self._answer(call, outcome)
            if decision is None:  # stop (Esc, Ctrl-C, Ctrl-D, /exit): no call of the step runs, approved or not
                for other in calls:
                    earlier = outcome.decisions.pop(other["id"], None)
                    if earlier is None or earlier.get("action") != "reject":
                        self.on_rejected(other, "")
                self.console.print(
                    Text("⏹ stopped: the calls were not run and the model was not called again", "yellow")
                )
                outcome.stop = True
                return outcome
            if decision == "step":
                approve_rest, decision = True, {"action": "approve"}
            elif decision == "yolo":
                decision = {"action": "approve"}
            outcome.decisions[call_id] = decision
        return outcome

    async def _answer(self, call: dict[str, Any], outcome: ApprovalOutcome) -> dict[str, Any] | str | None:
        """One call's decision; "step" approves the rest of the step too; None stops the turn."""
        rule = always_rule(call)
        default = "no" if call.get("risk") == "destructive" else "yes"
        while True:
            try:
                typed = (await self.ask(question(call))).strip()
            except (KeyboardInterrupt, EOFError):
                return None
            if typed.startswith("/"):
                name = typed.split()[0].lower()
                if name in COMMANDS_TO_QUIT:
                    outcome.quit = True
                    return None
                if name not in COMMANDS_WHILE_ASKING or self.run_command is None:
                    self.console.print(
                        Text(
                            f"{name} cannot run while a call waits for your answer: answer it, or Esc to stop", "yellow"
                        )
                    )
                    continue
                mode_before = self.approval_mode()
                if await self.run_command(typed):
                    outcome.quit = True
                    return None
                switched = mode_before != "yolo" and self.approval_mode() == "yolo"
                if switched and call.get("risk") not in ("destructive", "remote_compute"):
                    return "yolo"  # /yolo while looking at this call approves it; later steps follow the mode
                continue
            choice = ANSWERS.get(typed.lower(), default if not typed else None)
            if choice is None:
                keys = "y, n, s, f, e, v" + (", a" if rule else "")
                self.console.print(
                    Text(f"not an answer: type one of {keys} (Enter = {default}), or Esc to stop", "yellow")
                )
                continue
            if choice == "yes":
                return {"action": "approve"}
            if choice == "step":
                return "step"
            if choice == "always":
                if rule is None:
                    self.console.print(Text("this call cannot be allowed for the whole session: y or n", "yellow"))
                    continue
                self.console.print(Text(f"✓ allowed for this session: {rule[1]}", style="green"))
                return {"action": "approve", "remember": rule[0]}
            if choice == "no":
                self.on_rejected(call, "")
                return {"action": "reject", "feedback": ""}
            if choice == "feedback":
                try:
                    feedback = (
                        await self.ask("feedback for the model (the call is not run; empty to go back) › ")
                    ).strip()
                except (KeyboardInterrupt, EOFError):
                    continue
                if not feedback:
                    continue
                self.on_rejected(call, feedback)
                return {"action": "reject", "feedback": feedback}
            if choice == "view":
                await self._view(call)
                continue
            args = dict(call.get("args") or {})  # edit
            try:
                with self.editor_terminal():
                    edited = await asyncio.to_thread(edit_args, args)
            except EditFailed as e:
                self.console.print(Text(f"✗ {e}", style="red"))
                continue
            if edited == args:
                self.console.print(Text("no change made: the call is as it was, answer again", style="yellow"))
                continue
            self.console.print(Text("edited arguments: " + json.dumps(edited, ensure_ascii=False)[:300], style="dim"))
            return {"action": "edit", "args": edited}

    async def _view(self, call: dict[str, Any]) -> None:
        """The full arguments (long values whole), through the pager when they do not fit."""
        lines = [f"{call.get('name')} arguments:"]
        for key, value in (call.get("args") or {}).items():
            text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False, default=str)
            lines.append(f"── {key}")
            lines.extend(text.splitlines() or [""])
        if self.show_long is not None:
            await self.show_long("\n".join(lines))
        else:
            self.console.print(Text("\n".join(lines)))
