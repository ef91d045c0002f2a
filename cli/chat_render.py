"""Rich rendering of engine events for the interactive chat.

Everything permanent is printed once, top to bottom (safe in any pty); only the part still in motion
lives in a small transient rich Live region: the Markdown block being streamed, the spinners of running
tools and the last lines of their logs. A Markdown block is printed for good as soon as it is complete
(a blank line or a closing code fence), so the screen never has to be redrawn above the live region.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.panel import Panel
from rich.segment import Segment
from rich.spinner import Spinner
from rich.text import Text

from cli import diff_view
from core.protocol import ToolState

# Arguments worth showing on a tool's one-line summary, in order of preference.
KEY_ARGS = (
    "command",
    "path",
    "paths",
    "url",
    "query",
    "repo_id",
    "operation",
    "script",
    "pattern",
    "job_id",
    "server",
    "dataset",
    "id",
)
PREVIEW_LINES = 4
DIFF_PREVIEW_LINES = 8
DIFF_TOOLS = {"write", "edit"}  # their output ends with a unified diff of the change
_EXIT_CODE = re.compile(r"\[exit code (-?\d+)\]\s*$")
MAX_KEPT_LOG_LINES = 5000
MARKS = {
    ToolState.DONE: ("✓", "green"),
    ToolState.FAILED: ("✗", "red"),
    ToolState.REJECTED: ("⊘", "yellow"),
    ToolState.INTERRUPTED: ("⏹", "magenta"),
}
ERROR_HINTS = {
    "max_iterations": "Type 'continue' to let it go on (the count restarts with each message).",
    "auth": "Check the API key, or switch with /model.",
    "provider": "The provider failed; send your message again to retry, or switch with /model.",
    "doom_loop": "Tell the agent what to do differently, or /undo the turn.",
    "compaction": "Try /compact, or a model with a larger context window (/model).",
    "config": "Fix the setting named above, or switch with /model.",
    "unverified": "Check the workspace yourself; ask it to do the step with its tools, or try a larger model.",
}


def split_markdown(text: str) -> tuple[str, str]:
    """Split streamed text into (complete blocks, the block still being written).

    A block ends at a blank line outside a code fence or at a closing fence; a fence is never cut.
    """
    cut, pos, fence = 0, 0, None
    lines = text.split("\n")
    for line in lines[:-1]:  # the last piece has no newline yet: never complete
        pos += len(line) + 1
        stripped = line.strip()
        marker = stripped[:3]
        if marker in ("```", "~~~"):
            if fence is None:
                fence = marker
            elif marker == fence and stripped.strip("`~") == "":
                fence = None
                cut = pos
        elif fence is None and not stripped:
            cut = pos
    return text[:cut], text[cut:]


def summarize_args(name: str, args: dict[str, Any], width: int = 80) -> str:
    """The key arguments of a call on one line (a command, a path...), cut to `width`."""
    if name == "plan_tool" and isinstance(args.get("todos"), list):
        return f"{len(args['todos'])} items"
    parts = []
    for key in KEY_ARGS:
        value = args.get(key)
        if value in (None, "", [], {}):
            continue
        parts.append(", ".join(map(str, value)) if isinstance(value, list) else str(value))
        if len(parts) == 2:
            break
    text = " ".join(parts) if parts else json.dumps(args, ensure_ascii=False, default=str)
    text = " ".join(text.split())  # one line
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def exit_code(output: str) -> int | None:
    """The exit code a command's output ends with (bash: "[exit code N]")."""
    match = _EXIT_CODE.search(output or "")
    return int(match.group(1)) if match else None


def _line_count(path: str) -> int | None:
    """The real size of an output kept in full on disk (the chat only has its cut version)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def short_model(model_id: str) -> str:
    """A model id for narrow places: a replay file by its name, not its whole path."""
    if model_id.startswith("replay:"):
        return "replay:" + Path(model_id.removeprefix("replay:")).name
    return model_id


def human_tokens(n: int | float) -> str:
    n = int(n or 0)
    for size, unit in ((1_000_000, "M"), (1000, "k")):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + unit
    return str(n)


@dataclass
class ToolView:
    """One tool call as the chat shows it; kept for /output N and /show last."""

    number: int
    call_id: str
    name: str
    args: dict[str, Any]
    agent: str = "main"
    state: ToolState = ToolState.RUNNING
    started: float = field(default_factory=time.monotonic)
    elapsed: float | None = None
    output: str = ""
    full_output_path: str | None = None
    log: deque = field(default_factory=lambda: deque(maxlen=5))  # shown under the spinner
    streamed: list[str] = field(default_factory=list)  # every log line (kept for an interrupted call)
    spinner: Spinner = field(default_factory=lambda: Spinner("dots", style="cyan"))
    printed: bool = False
    rejected_here: bool = False  # turned down at our approval prompt (its reason is already on screen)

    def full_output(self) -> str:
        if self.full_output_path:
            try:
                return Path(self.full_output_path).read_text(errors="replace")
            except OSError:
                pass
        return self.output or "\n".join(self.streamed)


def reflowing_terminal() -> bool:
    """Does the terminal re-wrap lines when it gets narrower? Most do (tmux, VTE, iTerm2, kitty, WezTerm,
    Windows Terminal); xterm keeps each row and cuts it."""
    return bool(os.environ.get("TMUX")) or not os.environ.get("XTERM_VERSION")


def _rstrip(line: list[Segment]) -> list[Segment]:
    """A rendered line without its trailing blanks: padding would wrap onto a row of its own on reflow."""
    line = list(line)
    while (
        line and not line[-1].control and not line[-1].text.rstrip() and not (line[-1].style and line[-1].style.bgcolor)
    ):
        line.pop()
    if line and not line[-1].control and not (line[-1].style and line[-1].style.bgcolor):
        last = line[-1]
        line[-1] = Segment(last.text.rstrip(), last.style)
    return line


class _Tail:
    """Renders only the last `max_lines` lines of a renderable (a long block being streamed)."""

    def __init__(self, renderable, max_lines: int):
        self.renderable, self.max_lines = renderable, max_lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(self.renderable, options, pad=False)
        for line in lines[-self.max_lines :]:
            yield from line
            yield Segment.line()


class _Trimmed:
    """A renderable without its leading and trailing blank lines (so streamed blocks get even spacing)."""

    def __init__(self, renderable):
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(self.renderable, options, pad=False)

        def blank(line) -> bool:
            return all(not seg.text.strip() and not (seg.style and seg.style.bgcolor) for seg in line)

        start, end = 0, len(lines)
        while start < end and blank(lines[start]):
            start += 1
        while end > start and blank(lines[end - 1]):
            end -= 1
        for line in lines[start:end]:
            yield from line
            yield Segment.line()


class _Live(Live):
    """rich's Live, which erases the previous frame by the rows it had when drawn: before each draw, the
    renderer fits that to the terminal's width now, in case it changed since (a resize whose SIGWINCH is not
    handled yet)."""

    def __init__(self, renderer: ChatRenderer, **kwargs: Any):
        super().__init__(renderer, **kwargs)
        self.renderer = renderer

    def process_renderables(self, renderables: list[Any]) -> list[Any]:
        with self._lock:
            width = self.console.width
            if width != self.renderer.frame_drawn_at:
                self.renderer.fit_erase_to(width)
            return super().process_renderables(renderables)


class ChatRenderer:
    """Turns Events into terminal output. One instance per chat; tool views are numbered across turns."""

    def __init__(self, console: Console, stream: bool = True, auto_refresh: bool = True):
        self.console = console
        self.stream = stream
        self.auto_refresh = auto_refresh  # off in tests that draw frame by frame
        self.live: Live | None = None
        self.text = ""  # streamed and not yet printed for good
        self.blocks = 0  # blocks printed for the current message
        self.tools: dict[str, ToolView] = {}
        self.order: list[ToolView] = []
        self.plan: list[dict[str, Any]] | None = None
        self.busy = Spinner("dots", style="cyan")
        self.started = time.monotonic()  # when the live region (a turn, a compaction) began
        self.type_ahead: Any = None  # cli.type_ahead.TypeAhead: keys typed during the turn, echoed below
        self.frame_widths: list[int] = []  # the cells of each line of the live frame last drawn
        self.frame_drawn_at = 0  # the terminal width it was drawn at
        self.turn_calls: set[str] = set()  # call ids seen in this user turn
        self.errors: list[str] = []

    # -- the live region -------------------------------------------------------------------

    def begin(self) -> None:
        """Start showing activity (a turn, a compaction)."""
        if self.live is None:
            self.started = time.monotonic()
            self.frame_widths = []
            self.live = _Live(
                self,
                console=self.console,
                transient=True,
                refresh_per_second=8,
                auto_refresh=self.auto_refresh,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.live.start()

    def end(self) -> None:
        """Print whatever is still in motion for good and stop the live region."""
        self._flush_text(final=True)
        if self.live is not None:
            self.live.stop()
            self.live = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The live frame: never taller than the screen (a row scrolled off cannot be erased), each line without
        trailing blanks and short of the last column, its widths kept for a redraw after a resize."""
        frame = Group(*self._frame_parts(console))
        lines = console.render_lines(frame, options.update(width=max(options.max_width - 1, 10)), pad=False)
        lines = lines[-max(console.height - 1, 3) :]
        widths = []
        for line in lines:
            line = _rstrip(line)
            widths.append(Segment.get_line_length(line))
            yield from line
            yield Segment.line()
        self.frame_widths, self.frame_drawn_at = widths, options.max_width

    def resized(self, width: int) -> None:
        """SIGWINCH while the live frame is up. A terminal that reflows (tmux, VTE, iTerm2, kitty...) re-wraps
        the frame's lines to the new width, so the frame now takes more rows than rich remembers: erase that
        many, or the old frame stays on screen under the new one."""
        live = self.live
        if live is None or not self.frame_widths or width <= 0:
            return
        self.fit_erase_to(width)
        live.refresh()

    def fit_erase_to(self, width: int) -> None:
        """Make the next draw erase the rows the last frame takes at `width`. Also run before every draw
        (_Live): output that reaches the terminal after it resized and before SIGWINCH is handled (a refresh
        from rich's thread, a finished block printed) would otherwise erase too few rows."""
        live = self.live
        if live is None or not self.frame_widths or width <= 0 or not reflowing_terminal():
            return
        rows = sum(max(1, -(-w // width)) for w in self.frame_widths)
        live_render = live._live_render  # rich keeps the height it will erase here (no public setter)
        if live_render._shape is not None:
            live_render._shape = (width, rows)

    def _frame_parts(self, console: Console) -> list[Any]:
        parts: list[Any] = []
        running = [v for v in list(self.order) if v.state == ToolState.RUNNING][-6:]
        others = sum(1 + len(v.log) for v in running) + 2  # tools and their logs, the status and typed lines
        room = max(console.height - 2 - others, 3)
        if self.text.strip():
            from rich.markdown import Markdown

            parts.append(_Tail(Markdown(self.text), room))
        for view in running:
            seconds = time.monotonic() - view.started
            view.spinner.text = self._tool_text(view, extra=f"  {seconds:.0f}s" if seconds >= 1 else "")
            parts.append(view.spinner)
            parts.extend(Text(f"    {line}", style="dim", no_wrap=True, overflow="ellipsis") for line in list(view.log))
        doing = "thinking" if not parts else "working"
        status = Text(f"{doing}… {time.monotonic() - self.started:.0f}s · Ctrl-C to stop", style="dim")
        if not parts:
            self.busy.text = status
            parts.append(self.busy)
        else:
            parts.append(status)
        typed = self.type_ahead
        if typed is not None and (typed.text or typed.note):
            line = Text("› ", style="cyan bold")
            line.append(typed.text.replace("\n", " ⏎ "))
            if typed.note:
                line.append(f"  ({typed.note})", style="dim")
            line.no_wrap, line.overflow = True, "ellipsis"
            parts.append(line)
        return parts

    def _print(self, renderable: Any = "") -> None:
        self.console.print(renderable)

    # -- events ----------------------------------------------------------------------------

    def handle(self, event) -> None:
        kind = event.type
        method = getattr(self, f"on_{kind}", None)
        if method is not None:
            method(event)

    def on_processing(self, event) -> None:
        if event.prompt:  # a new user turn (a continuation after approvals has no prompt)
            self.turn_calls = set()
        self.begin()

    def on_assistant_chunk(self, event) -> None:
        if event.agent != "main":
            return
        self.text += event.content
        self._flush_text()

    def on_assistant_message(self, event) -> None:
        if event.agent != "main":
            if event.content.strip():
                first = event.content.strip().splitlines()[0]
                self._print(Text(f"[{event.agent}] {first[:200]}", style="dim"))
            return
        if not self.text.strip() and self.blocks == 0 and event.content.strip():
            self.text = event.content  # not streamed (--no-stream, or a provider that sent it whole)
        self._flush_text(final=True)
        self.blocks = 0

    def on_tool_call(self, event) -> None:
        if event.tool_call_id in self.turn_calls:
            return  # already on screen (e.g. rejected at the prompt, then announced by the engine)
        self.turn_calls.add(event.tool_call_id)
        view = ToolView(len(self.order) + 1, event.tool_call_id, event.name, dict(event.args), agent=event.agent)
        self.tools[event.tool_call_id] = view
        self.order.append(view)
        self._flush_text(final=True)  # text before a tool call is complete
        self.begin()

    def on_tool_log(self, event) -> None:
        view = self.tools.get(event.tool_call_id or "")
        if view is not None and view.state == ToolState.RUNNING:
            view.log.append(event.line.rstrip()[:500])
            if len(view.streamed) < MAX_KEPT_LOG_LINES:
                view.streamed.append(event.line.rstrip())
        else:
            prefix = "" if event.agent == "main" else f"[{event.agent}] "
            self._print(Text(f"  {prefix}{event.line}", style="dim"))

    def on_tool_output(self, event) -> None:
        view = self.tools.get(event.tool_call_id)
        if view is None:
            return
        view.output = event.content
        view.full_output_path = event.full_output_path
        if view.state == ToolState.REJECTED and not view.rejected_here and event.content.strip():
            self._print(Text(f"    {event.content.strip().splitlines()[0][:300]}", style="yellow"))

    def on_tool_state_change(self, event) -> None:
        view = self.tools.get(event.tool_call_id)
        if view is None or event.state == ToolState.RUNNING:
            return
        self.finish_tool(view, event.state)

    def on_plan_update(self, event) -> None:
        if event.agent == "main" and event.todos != self.plan:
            self.plan = list(event.todos)
            self._print(plan_panel(self.plan))

    def on_compacted(self, event) -> None:
        self._print(
            Text(
                f"⟳ context compacted: {human_tokens(event.old_tokens)} → {human_tokens(event.new_tokens)} tokens",
                style="cyan",
            )
        )

    def on_doom_loop(self, event) -> None:
        self._print(
            Text(f"⚠ the agent is repeating itself ({event.pattern}); it was told to change approach", style="yellow")
        )

    def on_error(self, event) -> None:
        self.error(event.message, event.kind)

    def on_budget_required(self, event) -> None:
        self.error(event.message, "budget")

    def on_interrupted(self, event) -> None:
        self.interrupted()

    # -- pieces other modules print ----------------------------------------------------------

    def finish_tool(self, view: ToolView, state: ToolState) -> None:
        view.state = state
        if view.elapsed is None:
            view.elapsed = time.monotonic() - view.started
        if view.printed:
            return
        view.printed = True
        took = f" {view.elapsed:.1f}s" if state in (ToolState.DONE, ToolState.FAILED) and view.elapsed >= 0.1 else ""
        code = exit_code(view.output) or exit_code(view.full_output()[-200:]) if state == ToolState.FAILED else None
        label = f"{state.value} (exit {code})" if code else state.value
        self._print(self._tool_text(view, mark=True, extra=f"  · {label}{took}"))
        if state in (ToolState.DONE, ToolState.FAILED) and view.name != "plan_tool":
            self._print(self._preview(view))
        elif state == ToolState.INTERRUPTED and view.streamed:  # what it printed before it was stopped
            self._print(self._preview(view, "\n".join(view.streamed)))

    def rejected(self, call: dict[str, Any], feedback: str = "") -> None:
        """A call the user turned down at the approval prompt (it never runs, so no engine event)."""
        view = ToolView(len(self.order) + 1, call.get("id", ""), call.get("name", "?"), dict(call.get("args") or {}))
        view.output = "rejected" + (f": {feedback}" if feedback else "")
        view.rejected_here = True
        self.tools[view.call_id] = view
        self.turn_calls.add(view.call_id)
        self.order.append(view)
        self.finish_tool(view, ToolState.REJECTED)
        if feedback:
            self._print(Text(f"    feedback: {feedback}", style="yellow"))

    def interrupted(self) -> None:
        """Ctrl-C: mark what was running and say what is kept."""
        self._flush_text(final=True)
        for view in list(self.order):
            if view.state == ToolState.RUNNING:
                self.finish_tool(view, ToolState.INTERRUPTED)
        self._print(Text("⏹ interrupted — the partial answer is kept and the session can be resumed", style="magenta"))

    def error(self, message: str, kind: str = "agent") -> None:
        self._flush_text(final=True)
        self.errors.append(message)
        body = Text(message)
        hint = ERROR_HINTS.get(kind)
        if hint:
            body.append(f"\n{hint}", style="dim")
        self._print(Panel(body, title=f"error · {kind}", title_align="left", border_style="red", expand=False))

    def status_line(
        self,
        model_id: str,
        context_tokens: int,
        window: int | None,
        cost: float | str,  # dollars, or the spend as core.budget.Spend.describe() says it
        session_id: str | None,
        approval: str,
    ) -> None:
        parts = [short_model(model_id)]
        if window:
            pct = 100 * context_tokens / window if window else 0
            parts.append(f"context {human_tokens(context_tokens)}/{human_tokens(window)} ({pct:.0f}%)")
        else:
            parts.append(f"context {human_tokens(context_tokens)}")
        parts.append(cost if isinstance(cost, str) else f"${cost:.4f}")
        parts.append(f"approval {approval}")
        parts.append(f"session {session_id}" if session_id else "no session yet")
        self._print(Text(" · ".join(parts), style="dim"))

    def view_for(self, ref: str) -> ToolView | None:
        """/output N, /output CALL_ID (or a unique prefix), /show last."""
        ref = ref.strip().lstrip("#")
        if not self.order:
            return None
        if ref in ("", "last"):
            return self.order[-1]
        if ref.isdigit() and 1 <= int(ref) <= len(self.order):
            return self.order[int(ref) - 1]
        exact = [v for v in self.order if v.call_id == ref]
        if exact:
            return exact[-1]
        matches = [v for v in self.order if v.call_id.startswith(ref)]
        return matches[-1] if len({v.call_id for v in matches}) == 1 else None

    # -- helpers -----------------------------------------------------------------------------

    def _tool_text(self, view: ToolView, mark: bool = False, extra: str = "") -> Text:
        text = Text()
        if mark:
            symbol, style = MARKS.get(view.state, ("•", "white"))
            text.append(f"{symbol} ", style=style)
        if view.agent != "main":
            text.append(f"[{view.agent}] ", style="dim")
        text.append(view.name, style="bold")
        width = max(self.console.width - len(view.name) - len(extra) - 12, 20)
        text.append("  " + summarize_args(view.name, view.args, width))
        text.append(extra, style="dim")
        text.no_wrap, text.overflow = True, "ellipsis"
        return text

    def _preview(self, view: ToolView, output: str | None = None) -> Text:
        body = view.output if output is None else output
        width = max(self.console.width - 6, 20)
        diff = diff_view.body_of(body) if view.name in DIFF_TOOLS and view.state == ToolState.DONE else None
        if diff is not None:  # the change itself, coloured, instead of its ---/+++ headers
            before, changed = diff
            text = Text("\n".join(f"    {line[:width]}" for line in before), style="dim")
            if before:
                text.append("\n")
            text.append(diff_view.render(changed, DIFF_PREVIEW_LINES, width + 4, indent="    "))
            return text
        lines = body.strip("\n").splitlines()
        style = "red" if view.state == ToolState.FAILED else "dim"
        shown = [line[:width] for line in lines[:PREVIEW_LINES]]
        text = Text("\n".join(f"    {line}" for line in shown) or "    (no output)", style=style)
        total = _line_count(view.full_output_path) if view.full_output_path else None
        more = (total or len(lines)) - len(shown)
        if more > 0 or view.full_output_path:
            text.append(
                f"\n    … {more:,} more lines · /output {view.number}"
                if more > 0
                else f"\n    … full output: /output {view.number}",
                style="dim italic",
            )
        return text

    def _flush_text(self, final: bool = False) -> None:
        done, rest = (self.text, "") if final else split_markdown(self.text)
        if done.strip():
            from rich.markdown import Markdown  # markdown-it: loaded with the first answer, not at start

            if self.blocks:
                self._print()
            self._print(_Trimmed(Markdown(done.strip("\n"))))
            self.blocks += 1
        self.text = rest


def plan_panel(todos: list[dict[str, Any]]) -> Panel:
    marks = {"pending": ("☐", "white"), "in_progress": ("◐", "yellow"), "completed": ("☑", "green")}
    text = Text()
    for i, todo in enumerate(todos):
        symbol, style = marks.get(todo.get("status", "pending"), ("☐", "white"))
        if i:
            text.append("\n")
        text.append(f"{symbol} ", style=style)
        text.append(str(todo.get("content", "")), style="dim strike" if todo.get("status") == "completed" else "")
    if not todos:
        text.append("(empty plan)", style="dim")
    return Panel(text, title="plan", title_align="left", border_style="blue", expand=False)
