"""glob and grep: find files and text in the workspace, skipping what .gitignore hides.

File lists come from `rg --files` when ripgrep is installed, else `git ls-files` in a git repo
(both exact about .gitignore), else a directory walk with a simple .gitignore reading. grep uses
ripgrep when installed and a Python scan otherwise. Both tools cap their results and say so;
the slow parts (walks, stat, Python scans) run in threads the engine can abandon (tools.blocking),
so the event loop keeps going and a timeout ends the call. Only regular files are listed or read:
a FIFO, socket or device in the tree is skipped (reading one could block forever).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from core.paths import outputs_dir
from tools.base import Risk, Tool, ToolContext, ToolError
from tools.blocking import off_loop
from tools.regular_files import not_regular, open_regular, read_regular
from tools.workspace_paths import display_path, resolve_path

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".ipynb_checkpoints",
    }
)
GLOB_CAP = 500
MAX_WALK_FILES = 200_000
_MAX_GREP_FILE_BYTES = 20_000_000
_MAX_MATCH_LINE = 500


# ---------------------------------------------------------------- patterns


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob: `*` and `?` stay within one path segment, `**/` spans folders, `{a,b}` alternates."""
    try:
        return re.compile("(?s:" + _glob_body(pattern) + r")\Z")
    except re.error as exc:
        raise ToolError(f"Invalid glob {pattern!r}: {exc}.") from exc


def _glob_body(pattern: str) -> str:
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and (close := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : close]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = close + 1
        elif c == "{" and (close := pattern.find("}", i)) != -1:
            options = pattern[i + 1 : close].split(",")
            out.append("(?:" + "|".join(_glob_body(o) for o in options) + ")")
            i = close + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def glob_matches(pattern: str, rel_path: str) -> bool:
    """A pattern with a '/' matches the whole relative path; one without matches the file name."""
    pattern = pattern.removeprefix("./")
    target = rel_path if "/" in pattern else rel_path.rsplit("/", 1)[-1]
    return glob_regex(pattern).match(target) is not None


# ---------------------------------------------------------------- file listing


@dataclass
class _IgnoreRule:
    base: str  # folder of the .gitignore, relative to the walk root ("" for the root)
    pattern: str
    negate: bool
    dir_only: bool
    anchored: bool


def _parse_gitignore(path: Path, base: str) -> list[_IgnoreRule]:
    try:
        data, _ = read_regular(path, path.name)
    except ToolError:  # missing, unreadable or not a regular file
        return []
    text = data.decode("utf-8", errors="replace")
    rules = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line[1:] if negate else line
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        line = line.lstrip("/")
        if line:
            rules.append(_IgnoreRule(base, line, negate, dir_only, anchored))
    return rules


def _ignored(rules: list[_IgnoreRule], rel: str, is_dir: bool) -> bool:
    verdict = False
    for rule in rules:
        if rule.base:
            if not rel.startswith(rule.base + "/"):
                continue
            sub = rel[len(rule.base) + 1 :]
        else:
            sub = rel
        if rule.dir_only and not is_dir:
            continue
        target = sub if rule.anchored else sub.rsplit("/", 1)[-1]
        if glob_regex(rule.pattern).match(target):
            verdict = not rule.negate
    return verdict


def _walk(root: Path, workspace: Path) -> tuple[list[str], bool]:
    """Files under root (relative, '/'-separated) honouring .gitignore files; (files, truncated).

    Rules are matched on paths relative to the workspace, so .gitignore files above the search
    root still apply.
    """
    ws = workspace.resolve()
    origin = ws if root.is_relative_to(ws) else root
    lead = root.relative_to(origin).as_posix()
    lead = "" if lead == "." else lead
    rules: list[_IgnoreRule] = []
    if lead:
        parts = lead.split("/")
        for k in range(len(parts)):
            folder_rel = "/".join(parts[:k])
            rules.extend(_parse_gitignore(origin / folder_rel / ".gitignore", folder_rel))
    files: list[str] = []
    cut = len(lead) + 1 if lead else 0
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(origin).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        if ".gitignore" in filenames:
            rules.extend(_parse_gitignore(Path(dirpath) / ".gitignore", rel_dir))
        keep = []
        for d in sorted(dirnames):
            rel = f"{rel_dir}/{d}" if rel_dir else d
            if d in SKIP_DIRS or _ignored(rules, rel, True):
                continue
            keep.append(d)
        dirnames[:] = keep
        for f in sorted(filenames):
            rel = f"{rel_dir}/{f}" if rel_dir else f
            if not _is_regular(Path(dirpath) / f):
                continue
            if not _ignored(rules, rel, False):
                files.append(rel[cut:])
                if len(files) >= MAX_WALK_FILES:
                    return files, True
    return files, False


async def _git_files(root: Path) -> list[str] | None:
    """Tracked + untracked-not-ignored files under root, or None when root is not in a git work tree."""
    if shutil.which("git") is None:
        return None
    try:
        proc = await asyncio.create_subprocess_exec(
            "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard",
            cwd=str(root), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    except (OSError, TimeoutError):
        return None
    if proc.returncode != 0:
        return None
    seen: dict[str, None] = {}
    for rel in out.decode("utf-8", errors="surrogateescape").split("\0"):
        if rel and not any(part in SKIP_DIRS for part in rel.split("/")[:-1]):
            seen[rel] = None
    return [rel for rel in seen if (root / rel).is_file()]


async def _rg_files(rg: str, root: Path) -> list[str] | None:
    """`rg --files`: the fastest listing, with full .gitignore semantics, in or out of a git repo."""
    cmd = [rg, "--files", "--null", "--hidden", "--no-require-git", "--no-messages"]
    for d in sorted(SKIP_DIRS):
        cmd += ["--glob", f"!{d}"]
    try:
        proc = await asyncio.create_subprocess_exec(
            *cmd, ".", cwd=str(root), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    except (OSError, TimeoutError):
        return None
    if proc.returncode not in (0, 1):  # 1: no files
        return None
    names = out.decode("utf-8", errors="surrogateescape").split("\0")
    return [n.removeprefix("./") for n in names if n]


def _is_regular(path: Path) -> bool:
    """A regular file, or a symlink to one (what `ls` would list as a file)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _search_root(path: str | None, ctx: ToolContext) -> Path:
    """The folder or regular file to search; ToolError for a missing path or a special file."""
    root = resolve_path(path or ".", ctx.workspace, ctx.settings, readable=[outputs_dir(ctx.session_dir)])
    try:
        mode = os.stat(root).st_mode
    except OSError:
        raise ToolError(f"Path not found: {path}.") from None
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise not_regular(display_path(root, ctx.workspace), mode)
    return root


async def list_files(root: Path, workspace: Path) -> tuple[list[str], bool]:
    """Regular files under root, relative to it, skipping ignored ones; (files, truncated)."""
    if root.is_file():
        return [root.name], False
    rg = _ripgrep()
    if rg is not None and (listed := await _rg_files(rg, root)) is not None:
        return listed, False
    listed = await _git_files(root)
    if listed:  # empty: an ignored folder the model asked for by name, so walk it
        return sorted(listed), False
    return await off_loop(_walk, root, workspace)


def _where(root: Path, workspace: Path) -> str:
    shown = display_path(root, workspace)
    return "the workspace" if shown == "." else shown


def _join(prefix: str, rel: str) -> str:
    return rel if prefix in ("", ".") else f"{prefix}/{rel}"


# ---------------------------------------------------------------- glob


class GlobArgs(BaseModel):
    pattern: str = Field(description="Glob such as '**/*.py', 'src/*.json' or '*.{yaml,yml}'.")
    path: str | None = Field(None, description="Folder to search, relative to the workspace (default: all of it).")


async def _glob(args: GlobArgs, ctx: ToolContext) -> str:
    root = _search_root(args.path, ctx)
    pattern = args.pattern.strip()
    if not pattern:
        raise ToolError("Empty pattern: try '**/*.py'.")
    files, truncated = await list_files(root, ctx.workspace)
    base = root.parent if root.is_file() else root
    prefix = display_path(base, ctx.workspace)

    def newest_first_matches() -> list[str]:
        found: dict[str, float] = {}
        for rel in files:
            if glob_matches(pattern, rel):
                try:
                    info = os.stat(base / rel)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):  # a listing may name a FIFO or socket (git, ripgrep)
                    found[rel] = info.st_mtime
        return sorted(found, key=lambda rel: (-found[rel], rel))

    hits = await off_loop(newest_first_matches)  # thousands of stat() calls stay off the loop
    where = _where(root, ctx.workspace)
    if not hits:
        return f"No files match '{pattern}' in {where}." + (" (file listing was cut short)" if truncated else "")
    shown = [_join(prefix, rel) for rel in hits[:GLOB_CAP]]
    notes = []
    if len(hits) > GLOB_CAP:
        notes.append(f"(showing {GLOB_CAP} of {len(hits)} files, newest first; narrow the pattern or path)")
    if truncated:
        notes.append(f"(listing stopped after {MAX_WALK_FILES} files; search a narrower path)")
    return "\n".join(shown + notes)


# ---------------------------------------------------------------- grep


class GrepArgs(BaseModel):
    pattern: str = Field(description="Regular expression to search for.")
    path: str | None = Field(None, description="File or folder to search, relative to the workspace (default: all).")
    glob: str | None = Field(None, description="Only search files matching this glob, e.g. '*.py'.")
    ignore_case: bool = Field(False, description="Case-insensitive search.")
    max_results: int = Field(100, ge=1, le=2000, description="Maximum matching lines to return.")


def _ripgrep() -> str | None:
    return shutil.which("rg")


async def _grep_rg(rg: str, args: GrepArgs, root: Path, ctx: ToolContext) -> tuple[list[str], bool]:
    """ripgrep, run from the workspace so it prints workspace-relative paths.

    The file glob is applied here rather than with rg's --glob, which would override .gitignore.
    """
    target = display_path(root, ctx.workspace)
    base = display_path(root.parent, ctx.workspace) if root.is_file() else target
    cmd = [rg, "--line-number", "--no-heading", "--with-filename", "--null", "--color", "never", "--hidden",
           "--no-require-git", "--sort", "path", "--max-columns", str(_MAX_MATCH_LINE),
           "--max-columns-preview", "--no-messages"]  # fmt: skip
    for d in sorted(SKIP_DIRS):
        cmd += ["--glob", f"!{d}"]
    if args.ignore_case:
        cmd.append("--ignore-case")
    cmd += ["--regexp", args.pattern, "--", target]
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=str(ctx.workspace.resolve()), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, limit=1 << 20,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[str] = []
    capped = finished = False
    try:
        while raw := await proc.stdout.readline():
            name, _, rest = raw.decode("utf-8", errors="replace").rstrip("\n").partition("\0")
            name = name.removeprefix("./")
            if args.glob:
                rel = name[len(base) + 1 :] if base not in ("", ".") and name.startswith(base + "/") else name
                if not glob_matches(args.glob, rel):
                    continue
            if len(lines) >= args.max_results:
                capped = True
                break
            lines.append(f"{name}:{rest}")
        else:
            finished = True
    except ValueError:  # a line longer than the stream limit: keep what we have
        capped = True
    finally:
        if not finished and proc.returncode is None:
            # os.kill, not proc.kill(): Popen.kill() polls first and would reap the child
            # behind asyncio's back (which then reports exit code 255).
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        err = (await proc.stderr.read()).decode(errors="replace").strip()
        await proc.wait()
    if finished and proc.returncode == 2 and not lines:
        raise ToolError(f"grep failed: {err.splitlines()[-1] if err else 'ripgrep error'}")
    return lines, capped


def _is_within(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _grep_python(args: GrepArgs, root: Path, files: list[str], prefix: str) -> tuple[list[str], bool]:
    flags = re.IGNORECASE if args.ignore_case else 0
    try:
        regex = re.compile(args.pattern, flags)
        # a cheap whole-file test first (skipped for \A / \Z, which mean line start/end line by line)
        quick = None if ("\\A" in args.pattern or "\\Z" in args.pattern) else re.compile(args.pattern, flags | re.M)
    except re.error as exc:
        raise ToolError(f"Invalid regular expression {args.pattern!r}: {exc}.") from exc
    base = root.parent if root.is_file() else root
    out: list[str] = []
    for rel in files:
        if args.glob and not glob_matches(args.glob, rel):
            continue
        path = base / rel
        if path.is_symlink() or not _is_within(path.resolve(), root if root.is_dir() else base):
            continue  # a link could lead out of the workspace (ripgrep does not follow links either)
        try:
            reader, info = open_regular(path, rel)  # FIFOs, sockets and devices are skipped
        except ToolError:
            continue
        with reader:
            if info.st_size > _MAX_GREP_FILE_BYTES:
                continue
            try:
                data = reader.read()
            except OSError:
                continue
        if b"\x00" in data[:8192]:
            continue
        text = data.decode("utf-8", errors="replace")
        if quick is not None and not quick.search(text):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if regex.search(line):
                if len(out) >= args.max_results:
                    return out, True
                if len(line) > _MAX_MATCH_LINE:
                    line = line[:_MAX_MATCH_LINE] + " ..."
                out.append(f"{_join(prefix, rel)}:{number}:{line}")
    return out, False


async def _grep(args: GrepArgs, ctx: ToolContext) -> str:
    root = _search_root(args.path, ctx)
    if not args.pattern:
        raise ToolError("Empty pattern.")
    rg = _ripgrep()
    truncated_listing = False
    if rg is not None:
        lines, capped = await _grep_rg(rg, args, root, ctx)
    else:
        files, truncated_listing = await list_files(root, ctx.workspace)
        prefix = display_path(root.parent if root.is_file() else root, ctx.workspace)
        lines, capped = await off_loop(_grep_python, args, root, files, prefix)
    where = _where(root, ctx.workspace)
    if not lines:
        return f"No matches for /{args.pattern}/ in {where}."
    notes = []
    if capped:
        notes.append(f"(results capped at {args.max_results} lines; narrow the pattern, path or glob)")
    if truncated_listing:
        notes.append(f"(only the first {MAX_WALK_FILES} files were searched; search a narrower path)")
    return "\n".join(lines + notes)


def tools(settings: AgentConfig | None) -> list[Tool]:
    return [
        Tool(
            name="glob",
            description=(
                "Find files by name pattern (e.g. '**/*.py', 'configs/*.yaml'; a pattern without '/' matches "
                "file names at any depth). Newest first; .gitignored files are skipped."
            ),
            risk=Risk.READ_ONLY,
            handler=_glob,
            args_model=GlobArgs,
        ),
        Tool(
            name="grep",
            description=(
                "Search file contents with a regular expression; returns path:line:text lines. Filter files "
                "with glob (e.g. '*.py'); .gitignored files are skipped."
            ),
            risk=Risk.READ_ONLY,
            handler=_grep,
            args_model=GrepArgs,
        ),
    ]
