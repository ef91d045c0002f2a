"""read, write and edit: the model's file tools, confined to the workspace.

read pages large files and records what was read (files_read in graph state); edit refuses a file
the model has not read, or one that changed on disk since, so it never edits from a stale memory.
Writes are atomic (temp file + os.replace) and announced to ctx.changes first so /undo can restore.
Only regular files are opened (tools.regular_files); the file work runs in a thread the engine can
abandon (tools.blocking), so a timeout or Ctrl-C always ends the call. edit keeps every byte outside
the text it changes, including bytes that are not UTF-8 and the file's line endings.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel, Field, field_validator

from configs.schema import AgentConfig
from core.paths import outputs_dir
from core.unicode_safe import scrub
from tools.base import ChangeRecorder, Risk, Tool, ToolContext, ToolError, ToolResult
from tools.blocking import off_loop
from tools.regular_files import (
    atomic_write,
    check_regular,
    decode_exact,
    encode_exact,
    open_regular,
    read_regular,
    shown_text,
)
from tools.workspace_paths import display_path, resolve_path

DEFAULT_READ_LIMIT = 2000
MAX_LINE_CHARS = 2000
_STREAM_ABOVE_BYTES = 8_000_000  # bigger files are paged from disk, never loaded whole
_LINE_READ_CAP = 1_000_000
_BINARY_PROBE = 8192
_DIFF_MAX_LINES = 60


# ---------------------------------------------------------------- shared helpers


def _looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:_BINARY_PROBE]


def short_diff(before: str, after: str, name: str, max_lines: int = _DIFF_MAX_LINES) -> str:
    lines = list(
        difflib.unified_diff(before.splitlines(), after.splitlines(), f"a/{name}", f"b/{name}", n=2, lineterm="")
    )
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"... ({len(lines) - max_lines} more diff lines)"]
    return "\n".join(lines)


def _binary_error(shown: str, size: int) -> ToolError:
    return ToolError(
        f"{shown} is a binary file ({size} bytes); inspect it with bash (e.g. `xxd {shown} | head`) "
        "or a Python library for its format."
    )


def _read_exact(path: Path, shown: str) -> tuple[str, float]:
    """The text of a regular text file, decoded so that every byte survives (see regular_files), and
    the mtime it had when read."""
    data, info = read_regular(path, shown)
    if _looks_binary(data):
        raise _binary_error(shown, len(data))
    return decode_exact(data), info.st_mtime


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


_RECORD_LOCK = threading.Lock()
_PATH_LOCKS: dict[Path, threading.Lock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


def _path_lock(path: Path) -> threading.Lock:
    """One lock per file: the calls of a step run in parallel threads, and a read-check-write of a file
    must not interleave with another (two edits of one file would both pass the mtime check and the
    second would silently undo the first). A call stuck on one file holds up only that file."""
    with _PATH_LOCKS_GUARD:
        return _PATH_LOCKS.setdefault(path, threading.Lock())


def _record(changes: ChangeRecorder | None, path: Path) -> None:
    """Tell the undo record about a write. Calls of one step run in parallel threads and share the
    turn's manifest, which is read, extended and rewritten: one at a time."""
    if changes is not None:
        with _RECORD_LOCK:
            changes.before_write(path)


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}es" if word.endswith(("s", "ch", "sh", "x")) else f"{n} {word}s"


# ---------------------------------------------------------------- read


class ReadArgs(BaseModel):
    path: str = Field(description="File path, relative to the workspace.")
    offset: int | None = Field(None, ge=1, description="First line to show (1-based). Omit to start at line 1.")
    limit: int | None = Field(None, ge=1, description=f"How many lines to show (default {DEFAULT_READ_LIMIT}).")


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def render_notebook(text: str, shown: str) -> str:
    """A .ipynb as readable cells: type, source and text outputs (images are only named)."""
    try:
        nb = json.loads(text)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolError(f"{shown} is not a valid notebook ({exc}).") from exc

    def joined(value) -> str:
        return "".join(value) if isinstance(value, list) else str(value or "")

    out: list[str] = []
    for i, cell in enumerate(cells, 1):
        out.append(f"# ---- cell {i} [{cell.get('cell_type', '?')}]")
        out.append(joined(cell.get("source")).rstrip("\n"))
        for output in cell.get("outputs") or []:
            kind = output.get("output_type")
            if kind == "stream":
                body = joined(output.get("text"))
            elif kind in ("execute_result", "display_data"):
                data = output.get("data") or {}
                body = joined(data.get("text/plain"))
                others = [k for k in data if k != "text/plain"]
                if others and not body:
                    body = f"[{', '.join(others)} output]"
            elif kind == "error":
                trace = joined("\n".join(output.get("traceback") or []))
                body = _ANSI.sub("", trace) or f"{output.get('ename')}: {output.get('evalue')}"
            else:
                continue
            out.append("# output:")
            out.append(body.rstrip("\n"))
    return "\n".join(out) + "\n"


def _stream_lines(fh: BinaryIO) -> Iterator[str]:
    """Lines of a big file without loading it; a giant line is cut at _LINE_READ_CAP bytes."""
    with fh:
        while raw := fh.readline(_LINE_READ_CAP):
            if not raw.endswith(b"\n"):  # cut at the cap (or the last line): skip the rest of it
                while more := fh.readline(_LINE_READ_CAP):
                    if more.endswith(b"\n"):
                        break
            yield shown_text(decode_exact(raw.rstrip(b"\n").rstrip(b"\r")))


def _page(lines: Iterable[str], start: int, limit: int, budget: int) -> tuple[list[str], int, bool, int]:
    """Numbered lines from `start`: at most `limit` lines and about `budget` characters.

    Returns (rendered lines, last line shown, whether more follow, lines seen)."""
    out: list[str] = []
    used, end, seen = 0, start - 1, 0
    for number, line in enumerate(lines, 1):
        seen = number
        if number < start:
            continue
        if number >= start + limit:
            return out, end, True, seen
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + f" ... [line truncated, {len(line)} chars]"
        rendered = f"{number:>6}\t{line}"
        if out and used + len(rendered) > budget:
            return out, end, True, seen
        out.append(rendered)
        used += len(rendered) + 1
        end = number
    return out, end, False, seen


@dataclass
class _Page:
    lines: list[str]  # rendered, numbered
    end: int  # last line shown
    more: bool  # more lines follow
    seen: int  # lines looked at
    header: str  # what precedes the lines (notebooks)
    total: int | None  # lines in the file, when known (not for streamed files)
    mtime: float  # of the file as it was read


def _read_tool(settings: AgentConfig) -> Tool:
    char_budget = max(4000, int(settings.tool_output_cap) - 1000)

    def read_page(path: Path, shown: str, start: int, limit: int) -> _Page:
        """Everything read does with the file, in one worker thread."""
        header, total = "", None
        fh, info = open_regular(path, shown)
        if info.st_size > _STREAM_ABOVE_BYTES and path.suffix != ".ipynb":
            if _looks_binary(fh.read(_BINARY_PROBE)):
                fh.close()
                raise _binary_error(shown, info.st_size)
            fh.seek(0)
            lines: Iterable[str] = _stream_lines(fh)
        else:
            with fh:
                data = fh.read()
            if _looks_binary(data):
                raise _binary_error(shown, len(data))
            text = shown_text(decode_exact(data))
            if path.suffix == ".ipynb":
                text = render_notebook(text, shown)
                header = f"(notebook {shown} shown as cells; edit works on its raw JSON)\n"
            listed = text.split("\n")
            if listed[-1] == "":
                listed.pop()
            lines, total = [line.removesuffix("\r") for line in listed], len(listed)
        out, end, more, seen = _page(lines, start, limit, char_budget)
        return _Page(out, end, more, seen, header, total, info.st_mtime)

    async def _read(args: ReadArgs, ctx: ToolContext) -> ToolResult:
        path = resolve_path(args.path, ctx.workspace, ctx.settings, readable=[outputs_dir(ctx.session_dir)])
        shown = display_path(path, ctx.workspace)
        start = args.offset or 1
        page = await off_loop(read_page, path, shown, start, args.limit or DEFAULT_READ_LIMIT)
        state = {"files_read": {str(path): page.mtime}}
        if not page.lines:
            if page.seen == 0:
                return ToolResult(f"{shown} is empty.", state_update=state)
            raise ToolError(f"offset {start} is past the end of {shown} ({_plural(page.seen, 'line')}).")
        body = page.header + "\n".join(page.lines)
        if page.more:
            of_total = f" of {page.total}" if page.total is not None else ""
            body += f"\n(Showing lines {start}-{page.end}{of_total}. Call read with offset={page.end + 1} to see more.)"
        return ToolResult(body, state_update=state)

    return Tool(
        name="read",
        description=(
            "Read a text file in the workspace; returns numbered lines. Large files come in pages: "
            "use offset/limit to get more. Notebooks (.ipynb) are shown as cells with their outputs. "
            "You must read a file before you edit it."
        ),
        risk=Risk.READ_ONLY,
        handler=_read,
        args_model=ReadArgs,
    )


# ---------------------------------------------------------------- write


class WriteArgs(BaseModel):
    path: str = Field(description="File path, relative to the workspace. Parent folders are created.")
    content: str = Field(description="The complete new content of the file.")

    @field_validator("content", mode="before")
    @classmethod
    def _lines(cls, value: Any) -> Any:
        """The file as a list of its lines (a small model's near-miss, seen with Qwen2.5-Coder-1.5B): joined."""
        if isinstance(value, list) and value and all(isinstance(line, str) for line in value):
            return "\n".join(line.removesuffix("\n") for line in value) + "\n"
        return value


def _write_file(path: Path, shown: str, content: str, changes: ChangeRecorder | None) -> tuple[str | None, bool, float]:
    """Write `content` (the model's text, made encodable) to `path`: (text before, existed, new mtime)."""
    with _path_lock(path):
        return _write_locked(path, shown, content, changes)


def _write_locked(
    path: Path, shown: str, content: str, changes: ChangeRecorder | None
) -> tuple[str | None, bool, float]:
    before: str | None = None
    existed = check_regular(path, shown) is not None
    if existed:
        data, _ = read_regular(path, shown)
        before = None if _looks_binary(data) else shown_text(decode_exact(data))
    _record(changes, path)
    try:
        atomic_write(path, content.encode("utf-8"))
    except OSError as exc:
        raise ToolError(f"Could not write {shown}: {exc.strerror or exc}") from exc
    return before, existed, _mtime(path)


async def _write(args: WriteArgs, ctx: ToolContext) -> ToolResult:
    path = resolve_path(args.path, ctx.workspace, ctx.settings)
    shown = display_path(path, ctx.workspace)
    content = scrub(args.content)
    before, existed, mtime = await off_loop(_write_file, path, shown, content, ctx.changes)
    n_lines = len(content.splitlines())
    state = {"files_read": {str(path): mtime}}
    if not existed:
        return ToolResult(f"Created {shown} ({_plural(n_lines, 'line')}).", state_update=state)
    if before is None:
        return ToolResult(f"Overwrote binary file {shown} ({_plural(n_lines, 'line')}).", state_update=state)
    if before == content:
        return ToolResult(f"Overwrote {shown} (content unchanged).", state_update=state)
    diff = short_diff(before, content, shown)
    return ToolResult(f"Overwrote {shown} ({_plural(n_lines, 'line')}):\n{diff}", state_update=state)


# ---------------------------------------------------------------- edit


class EditArgs(BaseModel):
    path: str = Field(description="File path, relative to the workspace.")
    old_str: str = Field(description="Text to find, copied from the file (include enough lines to be unique).")
    new_str: str = Field(description="Replacement text (or text to insert, for the insert modes).")
    replace_all: bool = Field(False, description="Apply to every occurrence instead of requiring exactly one.")
    mode: Literal["replace", "insert_after", "insert_before"] = Field(
        "replace", description="replace old_str, or insert new_str after/before it (as its own lines)."
    )


@dataclass
class _Span:
    start: int  # character offsets into the text
    end: int
    indent_from: str | None = None  # set for whitespace-tolerant matches: re-indent new_str
    indent_to: str | None = None


def _exact_spans(text: str, needle: str) -> list[_Span]:
    spans, pos = [], text.find(needle)
    while pos != -1:
        spans.append(_Span(pos, pos + len(needle)))
        pos = text.find(needle, pos + len(needle))
    return spans


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _loose_spans(text: str, needle: str) -> list[_Span]:
    """Whole-line matches that ignore leading/trailing whitespace on every line."""
    wanted = needle.split("\n")
    while wanted and not wanted[-1].strip():
        wanted.pop()
    while wanted and not wanted[0].strip():
        wanted.pop(0)
    if not wanted:
        return []
    key = [w.strip() for w in wanted]
    lines = text.split("\n")
    offsets, acc = [], 0
    for line in lines:
        offsets.append(acc)
        acc += len(line) + 1
    spans: list[_Span] = []
    i = 0
    while i + len(key) <= len(lines):
        if all(lines[i + j].strip() == key[j] for j in range(len(key))):
            last = i + len(key) - 1
            spans.append(_Span(offsets[i], offsets[last] + len(lines[last]), _indent(wanted[0]), _indent(lines[i])))
            i += len(key)
        else:
            i += 1
    return spans


def _reindent(new: str, span: _Span) -> str:
    if span.indent_from is None or span.indent_from == span.indent_to:
        return new
    src, dst = span.indent_from, span.indent_to or ""
    out = []
    for line in new.split("\n"):
        if not line.strip():
            out.append(line)
        elif line.startswith(src):
            out.append(dst + line[len(src) :])
        else:
            out.append(dst + line.lstrip())
    return "\n".join(out)


def _indented(new: str, indent: str) -> str:
    """Give inserted lines the indentation of their neighbour unless the model already indented them."""
    first = next((line for line in new.split("\n") if line.strip()), "")
    if not indent or first[:1] in (" ", "\t"):
        return new
    return "\n".join(indent + line if line.strip() else line for line in new.split("\n"))


def _splice(text: str, span: _Span, new: str, mode: str) -> tuple[int, int, str]:
    """(start, end, replacement) that replaces the span, or inserts new_str as whole lines before/after
    the lines it covers (literally, when the match sits mid-line between other text)."""
    new = _reindent(new, span)
    if mode == "replace":
        return span.start, span.end, new
    if mode == "insert_before":
        line_start = text.rfind("\n", 0, span.start) + 1
        indent = text[line_start : span.start]
        if indent.strip():
            return span.start, span.start, new
        piece = _indented(new, indent)
        return line_start, line_start, piece if piece.endswith("\n") else piece + "\n"
    last_line_start = text.rfind("\n", 0, span.end - 1) + 1
    indent = _indent(text[last_line_start : span.end])
    if text[span.end - 1] == "\n":  # the match ends with its line break
        piece = _indented(new, indent)
        return span.end, span.end, piece if piece.endswith("\n") else piece + "\n"
    line_end = text.find("\n", span.end)
    line_end = len(text) if line_end == -1 else line_end
    if text[span.end : line_end].strip():
        return span.end, span.end, new
    piece = _indented(new, indent)
    return line_end, line_end, piece if piece.startswith("\n") else "\n" + piece


def _spliced(text: str, splices: list[tuple[int, int, str]]) -> str:
    """`text` with the splices applied (back to front keeps earlier offsets valid)."""
    for start, end, piece in reversed(splices):
        text = text[:start] + piece + text[end:]
    return text


class _LineEndings:
    """CRLF hidden for matching, kept exactly on disk: offsets in the LF view map back to the file."""

    def __init__(self, raw: str):
        self.raw = raw
        self.crlf = "\r\n" in raw
        self.view = raw.replace("\r\n", "\n") if self.crlf else raw
        # the LF-view offset of each '\n' that stands for '\r\n' on disk
        self.cr_at = [m.start() - i for i, m in enumerate(re.finditer("\r\n", raw))] if self.crlf else []

    def to_raw(self, offset: int) -> int:
        return offset + bisect.bisect_left(self.cr_at, offset)

    def apply(self, splices: list[tuple[int, int, str]]) -> str:
        """The raw text with the splices (LF-view offsets) applied; new lines take the file's CRLF style."""
        mapped = [
            (self.to_raw(a), self.to_raw(b), piece.replace("\n", "\r\n") if self.crlf else piece)
            for a, b, piece in splices
        ]
        return _spliced(self.raw, mapped)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _not_found_hint(text: str, old: str) -> str:
    first = next((line.strip() for line in old.split("\n") if line.strip()), "")
    if not first:
        return ""
    stripped = [line.strip() for line in text.split("\n")]
    close = difflib.get_close_matches(first, stripped, n=1, cutoff=0.6)
    if not close:
        return ""
    number = stripped.index(close[0]) + 1
    return f" The closest line is {number}: {close[0][:200]!r}."


def _edit_file(
    path: Path, shown: str, args: EditArgs, read_at: float, changes: ChangeRecorder | None
) -> tuple[str, float]:
    """Find and change the text, in one worker thread: (the result text, the file's new mtime)."""
    with _path_lock(path):
        return _edit_locked(path, shown, args, read_at, changes)


def _edit_locked(
    path: Path, shown: str, args: EditArgs, read_at: float, changes: ChangeRecorder | None
) -> tuple[str, float]:
    raw, mtime = _read_exact(path, shown)
    if mtime != read_at:
        raise ToolError(f"{shown} changed on disk since you read it; read it again before editing.")
    endings = _LineEndings(raw)
    text = shown_text(endings.view)  # what the model saw: same length, bad bytes as U+FFFD
    old = scrub(args.old_str).replace("\r\n", "\n")
    new = scrub(args.new_str).replace("\r\n", "\n")

    spans, loose = _exact_spans(text, old), False
    if not spans:
        spans, loose = _loose_spans(text, old), True
    if not spans:
        raise ToolError(
            f"old_str was not found in {shown}. Read the file again and copy the text exactly."
            + _not_found_hint(text, old)
        )
    if len(spans) > 1 and not args.replace_all:
        where = ", ".join(str(_line_of(text, s.start)) for s in spans[:10])
        raise ToolError(
            f"old_str matches {len(spans)} places in {shown} (lines {where}). Include more surrounding "
            "lines to make it unique, or set replace_all=true to change all of them."
        )
    splices = [_splice(text, span, new, args.mode) for span in spans]
    updated = endings.apply(splices)
    if updated == raw:
        raise ToolError("The edit would not change the file.")
    _record(changes, path)
    try:
        atomic_write(path, encode_exact(updated))
    except OSError as exc:
        raise ToolError(f"Could not write {shown}: {exc.strerror or exc}") from exc

    verb = {"replace": "Replaced", "insert_after": "Inserted after", "insert_before": "Inserted before"}[args.mode]
    count = f"{_plural(len(spans), 'match')}" + (" (matched ignoring whitespace differences)" if loose else "")
    return f"{verb} {count} in {shown}.\n{short_diff(text, _spliced(text, splices), shown)}", _mtime(path)


async def _edit(args: EditArgs, ctx: ToolContext) -> ToolResult:
    path = resolve_path(args.path, ctx.workspace, ctx.settings)
    shown = display_path(path, ctx.workspace)
    if await off_loop(check_regular, path, shown) is None:
        raise ToolError(f"File not found: {shown}. Use write to create a new file.")
    read_at = (ctx.state.get("files_read") or {}).get(str(path))
    if read_at is None:
        raise ToolError(f"Read {shown} with the read tool before editing it.")
    if args.old_str == "":
        raise ToolError("old_str is empty: copy the text to find from the file (use write to replace a whole file).")
    if args.mode == "replace" and args.old_str == args.new_str:
        raise ToolError("old_str and new_str are identical: nothing to change.")
    summary, mtime = await off_loop(_edit_file, path, shown, args, read_at, ctx.changes)
    return ToolResult(summary, state_update={"files_read": {str(path): mtime}})


# ---------------------------------------------------------------- registration


def tools(settings: AgentConfig) -> list[Tool]:
    return [
        _read_tool(settings),
        Tool(
            name="write",
            description=(
                "Create or overwrite a file in the workspace with the given content (parent folders are "
                "created). For small changes to an existing file use edit instead."
            ),
            risk=Risk.WORKSPACE_WRITE,
            handler=_write,
            args_model=WriteArgs,
        ),
        Tool(
            name="edit",
            description=(
                "Change part of a file you have read: old_str must match exactly one place (copy it from "
                "read output, without the line numbers) unless replace_all is true. mode=insert_after/"
                "insert_before adds new_str next to old_str instead of replacing it. Indentation differences "
                "are tolerated when there is no exact match."
            ),
            risk=Risk.WORKSPACE_WRITE,
            handler=_edit,
            args_model=EditArgs,
        ),
    ]
