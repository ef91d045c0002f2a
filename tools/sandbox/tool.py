"""sandbox_create, sandbox_files and sandbox_delete; and bash/read/write/edit acting in the sandbox once it exists.

`adapt(registry)` (called by tools.registry once every built-in tool is loaded) wraps the handlers of bash,
read, write and edit: while the session has a sandbox Space they act there, otherwise as before. The other
tools (glob, grep, jobs, the hub tools) stay on this machine; sandbox_files moves files between the two.

Creating a sandbox costs money on paid hardware: its approval shows the price per hour and always asks on
anything but free hardware (yolo included), as hf_jobs does.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.base import Assessment, Risk, Tool, ToolContext, ToolError, ToolResult
from tools.sandbox import active
from tools.workspace_paths import display_path, resolve_path

_LINE_CHARS = 2000
_DEFAULT_READ_LINES = 2000


class CreateArgs(BaseModel):
    hardware: str | None = Field(
        None,
        description="Space hardware, e.g. cpu-basic (free, needs a PRO account), cpu-upgrade, t4-small, l4x1, "
        "a10g-small, a10g-large, l40sx1, a100-large. Omit for the configured default.",
    )


class FilesArgs(BaseModel):
    operation: Literal["upload", "download"] = Field(
        description="upload: a workspace file into the sandbox; download: a sandbox file into the workspace."
    )
    path: str = Field(description="upload: the file in the workspace; download: the file in the sandbox.")
    to: str | None = Field(
        None, description="Where it goes (upload: a path in the sandbox; download: a workspace path). Default: same."
    )


class DeleteArgs(BaseModel):
    pass


def _session(ctx: ToolContext) -> str:
    return ctx.session_dir.name


def _assess_create(settings: Any):
    def assess(args: dict[str, Any]) -> Assessment:
        from tools.sandbox.space import FREE, price_per_hour

        config = settings.sandbox.space
        hardware = args.get("hardware") or config.hardware
        price = price_per_hour(hardware)
        details: dict[str, Any] = {
            "hardware": hardware,
            "price_per_hour_usd": price if price is not None else "unknown (not in the price list)",
            "billed": "per hour while the Space exists, building included",
            "deleted": f"when the session ends, or after {config.idle_timeout_s / 60:g} min without a call",
            "owner": config.namespace or "your user",
            "visibility": "private",
        }
        if hardware == FREE:
            details["note"] = "free hardware, but a Docker Space on cpu-basic needs a PRO account"
        return Assessment(Risk.REMOTE_COMPUTE, always_ask=price is None or price > 0, details=details)

    return assess


async def _create(args: CreateArgs, ctx: ToolContext) -> str:
    existing = active.current(_session(ctx))
    if existing is not None:
        return (
            f"This session already has the sandbox Space {existing.space_id} on {existing.hardware}: use it, or "
            "sandbox_delete it first to change hardware."
        )
    hardware = (args.hardware or ctx.settings.sandbox.space.hardware).strip()
    live = await active.open_sandbox(ctx.settings, _session(ctx), hardware, ctx.log)
    price = "free" if not live.price_per_hour else f"${live.price_per_hour:.2f}/h"
    idle = ctx.settings.sandbox.space.idle_timeout_s / 60
    return (
        f"Created the private sandbox Space {live.space_id} on {hardware} ({price}); it is deleted when this "
        f"session ends or after {idle:g} min without a call.\n"
        "From now on bash, read, write and edit act in the sandbox (relative paths start in its work folder); "
        "glob, grep, jobs and the hub tools still act on this machine. Move files with sandbox_files. "
        "Call sandbox_delete when you are done: it costs money while it exists."
    )


async def _files(args: FilesArgs, ctx: ToolContext) -> str:
    live = active.get(_session(ctx))
    if live is None:
        raise ToolError("This session has no sandbox: create one with sandbox_create first.")
    async with active.using(live) as client:
        if args.operation == "upload":
            source = resolve_path(args.path, ctx.workspace, ctx.settings)
            if not source.is_file():
                raise ToolError(f"{args.path} is not a file in the workspace (upload takes one file: tar a folder).")
            target = args.to or display_path(source, ctx.workspace)
            done = await client.upload(target, source.read_bytes())
            return f"Uploaded {display_path(source, ctx.workspace)} to {done['path']} in the sandbox ({done['bytes']} bytes)."
        data = await client.download(args.path)
        target_path = resolve_path(args.to or os.path.basename(args.path), ctx.workspace, ctx.settings)
        if ctx.changes is not None:
            ctx.changes.before_write(target_path)  # undo restores what was there
        target_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target_path.parent, prefix=f".{target_path.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target_path)
        return f"Downloaded {args.path} from the sandbox to {display_path(target_path, ctx.workspace)} ({len(data)} bytes)."


async def _delete(args: DeleteArgs, ctx: ToolContext) -> str:
    live = active.current(_session(ctx))
    if live is None:
        active.forget(_session(ctx))
        return "This session has no sandbox: commands run on this machine."
    cost = live.cost_so_far()
    await active.close(_session(ctx))
    return f"Deleted the sandbox Space {live.space_id} ({cost}). Commands and files act on this machine again."


def _assess_files(args: dict[str, Any]) -> Assessment:
    if args.get("operation") == "download":
        return Assessment(Risk.WORKSPACE_WRITE, details={"from_sandbox": args.get("path"), "to": args.get("to")})
    return Assessment(Risk.REMOTE_COMPUTE, details={"to_sandbox": args.get("path")})


def tools(settings: Any) -> list[Tool]:
    config = settings.sandbox.space
    return [
        Tool(
            name="sandbox_create",
            description=(
                "Create a private remote sandbox on a Hugging Face Space with the hardware you need (GPUs), for "
                "work this machine cannot do. From then on bash, read, write and edit act in the sandbox. It "
                "costs the Space's price per hour while it exists (the user approves it) and is deleted when "
                "the session ends or goes idle. Prefer hf_jobs for one-off training runs."
            ),
            risk=Risk.REMOTE_COMPUTE,
            handler=_create,
            args_model=CreateArgs,
            assess=_assess_create(settings),
            timeout=float(config.start_timeout_s) + 120,
        ),
        Tool(
            name="sandbox_files",
            description="Copy one file between the workspace and the sandbox (upload into it, download from it).",
            risk=Risk.REMOTE_COMPUTE,
            handler=_files,
            args_model=FilesArgs,
            assess=_assess_files,
            timeout=900,
        ),
        Tool(
            name="sandbox_delete",
            description="Delete this session's sandbox Space (its files are lost); commands run here again.",
            risk=Risk.DESTRUCTIVE,
            handler=_delete,
            args_model=DeleteArgs,
            timeout=300,
        ),
    ]


# ---------------------------------------------------------------- bash/read/write/edit in the sandbox


async def _bash(client: Any, args: Any, ctx: ToolContext) -> ToolResult:
    bash_config = ctx.settings.bash
    timeout_s = min(float(args.timeout or bash_config.default_timeout_s), float(bash_config.max_timeout_s))
    result = await client.call("/bash", {"command": args.command, "timeout_s": timeout_s}, timeout=timeout_s + 60)
    output = str(result.get("output") or "").rstrip("\n")
    if result.get("timed_out"):
        note = f"[timed out after {timeout_s:g} s in the sandbox: the command and its child processes were killed]"
        return ToolResult(f"{output}\n{note}" if output else note, is_error=True)
    code = result.get("exit_code")
    return ToolResult(f"{output or '(no output)'}\n[exit code {code}]", is_error=code not in (0, None))


async def _read(client: Any, args: Any, ctx: ToolContext) -> ToolResult:
    start, limit = args.offset or 1, args.limit or _DEFAULT_READ_LINES
    page = await client.call("/read", {"path": args.path, "offset": start, "limit": limit})
    lines, total = page["lines"], page["total"]
    if not lines:
        if total == 0:
            return ToolResult(f"{page['path']} (sandbox) is empty.")
        raise ToolError(f"offset {start} is past the end of {page['path']} (sandbox, {total} lines).")
    budget = max(4000, int(ctx.settings.tool_output_cap) - 1000)
    out, used = [], 0
    for number, line in enumerate(lines, start):
        if len(line) > _LINE_CHARS:
            line = line[:_LINE_CHARS] + f" ... [line truncated, {len(line)} chars]"
        rendered = f"{number:>6}\t{line}"
        if out and used + len(rendered) > budget:
            break
        out.append(rendered)
        used += len(rendered) + 1
    end = start + len(out) - 1
    body = "\n".join(out)
    if end < total:
        body += (
            f"\n(Showing lines {start}-{end} of {total} in the sandbox. Call read with offset={end + 1} to see more.)"
        )
    return ToolResult(body)


async def _write(client: Any, args: Any, ctx: ToolContext) -> str:
    done = await client.call("/write", {"path": args.path, "content": args.content})
    return f"Wrote {done['path']} in the sandbox ({done['bytes']} bytes)."


async def _edit(client: Any, args: Any, ctx: ToolContext) -> str:
    payload = {"path": args.path, "old_str": args.old_str, "new_str": args.new_str,
               "replace_all": args.replace_all, "mode": args.mode}  # fmt: skip
    done = await client.call("/edit", payload)
    n = done["replacements"]
    return f"Edited {done['path']} in the sandbox ({n} {'change' if n == 1 else 'changes'})."


_REMOTE = {"bash": _bash, "read": _read, "write": _write, "edit": _edit}


def _routed(local: Any, remote: Any) -> Any:
    async def handler(args: Any, ctx: ToolContext) -> Any:
        live = active.get(_session(ctx))
        if live is None:
            return await local(args, ctx)
        async with active.using(live) as client:
            return await remote(client, args, ctx)

    return handler


def adapt(registry: Any) -> None:
    """Route bash, read, write and edit to the session's sandbox while it has one."""
    for name, remote in _REMOTE.items():
        tool = registry.get(name)
        if tool is not None:
            registry.add(replace(tool, handler=_routed(tool.handler, remote)))
