"""read, write and edit: the model's file tools, confined to the workspace.

read pages large files and records what was read (files_read in graph state); edit refuses a file
the model has not read, or one that changed on disk since, so it never edits from a stale memory.
Writes are atomic (temp file + os.replace) and announced to ctx.changes first so /undo can restore.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from core.paths import outputs_dir
from tools.base import Risk, Tool, ToolContext, ToolError, ToolResult
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


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` via a temp file in the same folder, keeping the file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies to new files
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def short_diff(before: str, after: str, name: str, max_lines: int = _DIFF_MAX_LINES) -> str:
    lines = list(
        difflib.unified_diff(before.splitlines(), after.splitlines(), f"a/{name}", f"b/{name}", n=2, lineterm="")
    )
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], f"... ({len(lines) - max_lines} more diff lines)"]
    return "\n".join(lines)


def _read_text(path: Path, shown: str) -> str:
    if not path.exists():
        raise ToolError(f"File not found: {shown}. Use glob to find the right path.")
    if path.is_dir():
        raise ToolError(f"{shown} is a directory; use glob to list its files.")
    data = path.read_bytes()
    if _looks_binary(data):
        raise ToolError(
            f"{shown} is a binary file ({len(data)} bytes); inspect it with bash (e.g. `xxd {shown} | head`) "
            "or a Python library for its format."
        )
    return data.decode("utf-8", errors="replace")


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


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


def _stream_lines(path: Path) -> Iterator[str]:
    """Lines of a big file without loading it; a giant line is cut at _LINE_READ_CAP bytes."""
    with path.open("rb") as fh:
        while raw := fh.readline(_LINE_READ_CAP):
            if not raw.endswith(b"\n"):  # cut at the cap (or the last line): skip the rest of it
                while more := fh.readline(_LINE_READ_CAP):
                    if more.endswith(b"\n"):
                        break
            yield raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", errors="replace")


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


def _read_tool(settings) -> Tool:
    char_budget = max(4000, int(settings.tool_output_cap) - 1000)

    async def _read(args: ReadArgs, ctx: ToolContext) -> ToolResult:
        path = resolve_path(args.path, ctx.workspace, ctx.settings, readable=[outputs_dir(ctx.session_dir)])
        shown = display_path(path, ctx.workspace)
        start = args.offset or 1
        limit = args.limit or DEFAULT_READ_LIMIT
        header, total = "", None
        if path.is_file() and path.stat().st_size > _STREAM_ABOVE_BYTES and path.suffix != ".ipynb":
            with path.open("rb") as fh:
                if _looks_binary(fh.read(_BINARY_PROBE)):
                    _read_text(path, shown)  # raises the binary-file error
            lines: Iterable[str] = _stream_lines(path)
        else:
            text = _read_text(path, shown)
            if path.suffix == ".ipynb":
                text = render_notebook(text, shown)
                header = f"(notebook {shown} shown as cells; edit works on its raw JSON)\n"
            listed = text.split("\n")
            if listed[-1] == "":
                listed.pop()
            lines, total = [line.removesuffix("\r") for line in listed], len(listed)
        mtime = _mtime(path)
        state = {"files_read": {str(path): mtime}}
        out, end, more, seen = await asyncio.to_thread(_page, lines, start, limit, char_budget)
        if not out:
            if seen == 0:
                return ToolResult(f"{shown} is empty.", state_update=state)
            raise ToolError(f"offset {start} is past the end of {shown} ({_plural(seen, 'line')}).")
        body = header + "\n".join(out)
        if more:
            of_total = f" of {total}" if total is not None else ""
            body += f"\n(Showing lines {start}-{end}{of_total}. Call read with offset={end + 1} to see more.)"
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


async def _write(args: WriteArgs, ctx: ToolContext) -> ToolResult:
    path = resolve_path(args.path, ctx.workspace, ctx.settings)
    shown = display_path(path, ctx.workspace)
    if path.is_dir():
        raise ToolError(f"{shown} is a directory; give a file path.")
    before: str | None = None
    if path.exists():
        data = path.read_bytes()
        before = None if _looks_binary(data) else data.decode("utf-8", errors="replace")
        existed = True
    else:
        existed = False
    if ctx.changes is not None:
        ctx.changes.before_write(path)
    try:
        atomic_write(path, args.content)
    except OSError as exc:
        raise ToolError(f"Could not write {shown}: {exc.strerror or exc}") from exc
    n_lines = len(args.content.splitlines())
    state = {"files_read": {str(path): _mtime(path)}}
    if not existed:
        return ToolResult(f"Created {shown} ({_plural(n_lines, 'line')}).", state_update=state)
    if before is None:
        return ToolResult(f"Overwrote binary file {shown} ({_plural(n_lines, 'line')}).", state_update=state)
    if before == args.content:
        return ToolResult(f"Overwrote {shown} (content unchanged).", state_update=state)
    diff = short_diff(before, args.content, shown)
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


def _apply(text: str, span: _Span, new: str, mode: str) -> str:
    """Replace the span, or insert new_str as whole lines before/after the lines it covers
    (literally, when the match sits mid-line between other text)."""
    new = _reindent(new, span)
    if mode == "replace":
        return text[: span.start] + new + text[span.end :]
    if mode == "insert_before":
        line_start = text.rfind("\n", 0, span.start) + 1
        indent = text[line_start : span.start]
        if indent.strip():
            return text[: span.start] + new + text[span.start :]
        piece = _indented(new, indent)
        piece = piece if piece.endswith("\n") else piece + "\n"
        return text[:line_start] + piece + text[line_start:]
    last_line_start = text.rfind("\n", 0, span.end - 1) + 1
    indent = _indent(text[last_line_start : span.end])
    if text[span.end - 1] == "\n":  # the match ends with its line break
        piece = _indented(new, indent)
        piece = piece if piece.endswith("\n") else piece + "\n"
        return text[: span.end] + piece + text[span.end :]
    line_end = text.find("\n", span.end)
    line_end = len(text) if line_end == -1 else line_end
    if text[span.end : line_end].strip():
        return text[: span.end] + new + text[span.end :]
    piece = _indented(new, indent)
    piece = piece if piece.startswith("\n") else "\n" + piece
    return text[:line_end] + piece + text[line_end:]


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


async def _edit(args: EditArgs, ctx: ToolContext) -> ToolResult:
    path = resolve_path(args.path, ctx.workspace, ctx.settings)
    shown = display_path(path, ctx.workspace)
    if not path.exists():
        raise ToolError(f"File not found: {shown}. Use write to create a new file.")
    if path.is_dir():
        raise ToolError(f"{shown} is a directory; give a file path.")
    read_at = (ctx.state.get("files_read") or {}).get(str(path))
    if read_at is None:
        raise ToolError(f"Read {shown} with the read tool before editing it.")
    if _mtime(path) != read_at:
        raise ToolError(f"{shown} changed on disk since you read it; read it again before editing.")
    if args.old_str == "":
        raise ToolError("old_str is empty: copy the text to find from the file (use write to replace a whole file).")
    if args.mode == "replace" and args.old_str == args.new_str:
        raise ToolError("old_str and new_str are identical: nothing to change.")

    original = _read_text(path, shown)
    crlf = "\r\n" in original
    text = original.replace("\r\n", "\n") if crlf else original
    old = args.old_str.replace("\r\n", "\n")
    new = args.new_str.replace("\r\n", "\n")

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
    updated = text
    for span in reversed(spans):  # back to front keeps earlier offsets valid
        updated = _apply(updated, span, new, args.mode)
    if updated == text:
        raise ToolError("The edit would not change the file.")

    if ctx.changes is not None:
        ctx.changes.before_write(path)
    try:
        atomic_write(path, updated.replace("\n", "\r\n") if crlf else updated)
    except OSError as exc:
        raise ToolError(f"Could not write {shown}: {exc.strerror or exc}") from exc

    verb = {"replace": "Replaced", "insert_after": "Inserted after", "insert_before": "Inserted before"}[args.mode]
    count = f"{_plural(len(spans), 'match')}" + (" (matched ignoring whitespace differences)" if loose else "")
    summary = f"{verb} {count} in {shown}."
    return ToolResult(
        f"{summary}\n{short_diff(text, updated, shown)}",
        state_update={"files_read": {str(path): _mtime(path)}},
    )


# ---------------------------------------------------------------- registration


def tools(settings) -> list[Tool]:
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
