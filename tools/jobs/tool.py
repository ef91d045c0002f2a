"""The `jobs` tool: run long scripts on this machine without blocking the conversation.

run returns a job id at once; ps, logs, inspect and cancel work from any session because the
registry lives under $ML_INTERN_HOME. Risk depends on the operation: run and cancel execute or
stop code, the others only read.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from tools.base import Assessment, Risk, Tool, ToolContext, ToolError, ToolResult
from tools.bash import LineLogger
from tools.jobs import local, registry
from tools.runs.recording import command_args, record_run, script_in_command
from tools.sandbox.local import SandboxUnavailable, for_settings
from tools.workspace_paths import display_path, resolve_path

DEFAULT_TIMEOUT_S = 24 * 3600
PS_LIMIT = 50
MAX_TAIL = 2000
_FOLLOW_POLL_S = 0.5
_FOLLOW_MAX_CHUNK = 1_000_000


class JobsArgs(BaseModel):
    operation: Literal["run", "ps", "logs", "inspect", "cancel"] = Field(
        description="run: start a job; ps: list jobs; logs: show a job's output; inspect: full record; cancel: stop it."
    )
    script: str | None = Field(None, description="run: path of a Python script in the workspace (or use command).")
    command: str | None = Field(None, description="run: a shell command to run instead of a script.")
    dependencies: list[str] = Field(
        default_factory=list,
        description="run: pip packages for the job, installed into a throwaway env with `uv run --with`.",
    )
    env: dict[str, str] = Field(default_factory=dict, description="run: extra environment variables.")
    timeout_s: int | None = Field(
        None, gt=0, description=f"run: stop the job after this many seconds (default {DEFAULT_TIMEOUT_S})."
    )
    hardware: str = Field("local", description="run: only 'local' (this machine). Hugging Face hardware: hf_jobs.")
    job_id: str | None = Field(
        None,
        description="logs/inspect/cancel: the job id (a unique prefix is enough; "
        "omitted: the last job this session started).",
    )
    tail: int = Field(100, ge=1, le=MAX_TAIL, description="logs: how many last lines to return.")
    follow: bool = Field(False, description="logs: stream new output until the job ends or follow_timeout_s passes.")
    follow_timeout_s: int = Field(60, ge=1, le=3600, description="logs: how long to follow at most.")


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _duration(record: registry.JobRecord) -> str:
    if not record.started_at:
        return "-"
    seconds = int((record.ended_at or time.time()) - record.started_at)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _gpu_line(gpus: list[str]) -> str:
    return "GPUs: " + ("; ".join(gpus) if gpus else "none detected (CPU only)")


def _lookup(job_id: str | None, ctx: ToolContext) -> tuple[Path, registry.JobRecord]:
    if not job_id:
        found = registry.latest(ctx.session_dir.name)
        if found is None:
            raise ToolError("This session has started no job yet: give job_id (list jobs with operation='ps').")
        return found
    found = registry.find(job_id)
    if found is None:
        raise ToolError(f"No job '{job_id}' (or the prefix is ambiguous); list jobs with operation='ps'.")
    return found


def _outcome(record: registry.JobRecord, status: str) -> str:
    text = f"Job {record.id}: {status}"
    if record.exit_code is not None and status in registry.TERMINAL:
        text += f" (exit code {record.exit_code})"
    if record.error:
        text += f" - {record.error}"
    return text


async def _run(args: JobsArgs, ctx: ToolContext) -> str:
    if args.hardware.strip().lower() != "local":
        raise ToolError(
            f"hardware '{args.hardware}' is Hugging Face hardware: use the hf_jobs tool for it. "
            "The jobs tool runs on this machine only (hardware='local')."
        )
    if bool(args.script) == bool(args.command):
        raise ToolError("Give exactly one of script (a Python file in the workspace) or command (a shell command).")
    for dep in args.dependencies:
        if not dep.strip() or dep.strip().startswith("-"):
            raise ToolError(f"Invalid dependency {dep!r}: give package specs like 'transformers>=4.40'.")
    workspace = resolve_path(".", ctx.workspace, ctx.settings)
    script = None
    if args.script:
        script = resolve_path(args.script, ctx.workspace, ctx.settings)
        if not script.is_file():
            raise ToolError(f"Script not found: {args.script}. Write it first, or check the path with glob.")
    deps = [d.strip() for d in args.dependencies]
    argv = local.build_argv(script, args.command, deps)
    gpus = await local.detect_gpus()
    timeout_s = args.timeout_s or DEFAULT_TIMEOUT_S
    display = display_path(script, ctx.workspace) if script else (args.command or "")
    try:
        sandbox = for_settings(ctx.settings)
    except SandboxUnavailable as exc:
        raise ToolError(str(exc)) from None

    def confine(job_dir: Path) -> list[str]:
        # its own sandbox, tied to the runner (which outlives the agent), not to the agent
        return sandbox.command([], workspace=workspace, settings=ctx.settings, tmp=job_dir / "tmp")

    directory, record = await local.start_job(
        argv=argv,
        display=display,
        cwd=workspace,
        env=sandbox.env(ctx.settings, args.env),
        confine=confine if sandbox.confined else None,
        timeout_s=timeout_s,
        dependencies=deps,
        gpus=gpus,
        session=ctx.session_dir.name,
    )
    status = registry.live_status(record)
    if record.pid is not None:  # the run ledger (tools/runs): its code, command, hyperparameters
        ran = script or script_in_command(args.command, workspace)
        await record_run(
            ctx, record.id, "local", command=display, cwd=workspace, args=command_args(args.command),
            script_path=ran, script=display_path(ran, ctx.workspace) if ran else None, argv=argv,
            env=dict(args.env), dependencies=deps, timeout_s=timeout_s, hardware="local",
        )  # fmt: skip
    if record.pid is None and status in registry.TERMINAL:  # it never started
        tail = "\n".join(registry.tail_lines(registry.log_path(directory), 20))
        raise ToolError(f"{_outcome(record, status)}\n{tail}".rstrip())
    if status in registry.TERMINAL:
        status = f"already {status}" + (f", exit code {record.exit_code}" if record.exit_code is not None else "")
    return "\n".join(
        [
            f"Started job {record.id} on this machine (status {status}, pid {record.pid}): {display}",
            f"Timeout: {timeout_s:g} s. " + (f"Dependencies: {', '.join(deps)}. " if deps else "") + _gpu_line(gpus),
            f"Log: {registry.log_path(directory)}",
            f"Check it with operation='logs' job_id='{record.id}' (follow=true to watch), or 'ps'.",
        ]
    )


async def _ps(args: JobsArgs, ctx: ToolContext) -> str:
    records = registry.all_records()
    if not records:
        return "No jobs yet. Start one with operation='run'."
    rows = [f"{'ID':<10} {'STATUS':<10} {'STARTED':<19} {'RUNTIME':>8}  COMMAND"]
    for record in records[:PS_LIMIT]:
        status = registry.live_status(record)
        command = record.display if len(record.display) <= 80 else record.display[:77] + "..."
        rows.append(
            f"{record.id:<10} {status:<10} {_when(record.started_at or record.created_at):<19} "
            f"{_duration(record):>8}  {command}"
        )
    if len(records) > PS_LIMIT:
        rows.append(f"({len(records) - PS_LIMIT} older jobs not shown)")
    return "\n".join(rows)


async def _logs(args: JobsArgs, ctx: ToolContext) -> str:
    directory, record = _lookup(args.job_id, ctx)
    path = registry.log_path(directory)
    status = registry.live_status(record)
    note = ""
    if args.follow and status not in registry.TERMINAL:
        status, note = await _follow(directory, path, args.follow_timeout_s, ctx)
        record = registry.load(directory)
    lines = registry.tail_lines(path, args.tail)
    header = _outcome(record, status)
    header += f" - last {len(lines)} log lines" if lines else " - no output yet"
    body = "\n".join([header + note, *lines])
    if status not in registry.TERMINAL and not note:
        body += f"\n(still {status}; use follow=true to watch it)"
    return body


async def _follow(directory: Path, path: Path, timeout_s: float, ctx: ToolContext) -> tuple[str, str]:
    """Stream new log lines as tool_log events until the job ends or time is up."""
    position = path.stat().st_size if path.exists() else 0
    streamer = LineLogger(ctx.log)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            status = registry.live_status(registry.load(directory))
            if path.exists():
                size = path.stat().st_size
                if size - position > _FOLLOW_MAX_CHUNK:
                    ctx.log(f"... ({size - position - _FOLLOW_MAX_CHUNK} bytes skipped)")
                    position = size - _FOLLOW_MAX_CHUNK
                if size > position:
                    with path.open("rb") as fh:
                        fh.seek(position)
                        chunk = fh.read(size - position)
                    position += len(chunk)
                    streamer.feed(chunk)
            if status in registry.TERMINAL:
                return status, ""
            if time.monotonic() >= deadline:
                return status, (
                    f" (still {status} after following for {timeout_s:g} s; call logs again to keep watching)"
                )
            await asyncio.sleep(_FOLLOW_POLL_S)
    finally:
        streamer.flush(final=True)


async def _inspect(args: JobsArgs, ctx: ToolContext) -> str:
    directory, record = _lookup(args.job_id, ctx)
    data = asdict(record)
    data["sandbox"] = "bubblewrap" if record.sandbox else "none (unconfined)"
    data["status"] = registry.live_status(record)
    for key in ("created_at", "started_at", "ended_at"):
        data[key] = _when(data[key]) if data[key] else None
    data["runtime"] = _duration(record)
    data["log_path"] = str(registry.log_path(directory))
    if not data["gpus"]:
        data["gpus_now"] = await local.detect_gpus()
    return json.dumps(data, indent=1)


async def _cancel(args: JobsArgs, ctx: ToolContext) -> str:
    directory, record = _lookup(args.job_id, ctx)
    status = registry.live_status(record)
    if status in registry.TERMINAL:
        return f"{_outcome(record, status)}: already finished, nothing to cancel."
    record = await local.cancel_job(directory)
    return f"{_outcome(record, registry.live_status(record))}. Its processes were stopped."


_HANDLERS = {"run": _run, "ps": _ps, "logs": _logs, "inspect": _inspect, "cancel": _cancel}


async def _jobs(args: JobsArgs, ctx: ToolContext) -> ToolResult:
    return ToolResult(await _HANDLERS[args.operation](args, ctx))


def _assess(args: dict) -> Assessment:
    operation = args.get("operation")
    if operation == "run":
        details = {
            "hardware": args.get("hardware") or "local",
            "what": args.get("script") or args.get("command"),
            "timeout_s": args.get("timeout_s") or DEFAULT_TIMEOUT_S,
        }
        if args.get("dependencies"):
            details["dependencies"] = args["dependencies"]
        return Assessment(Risk.EXEC, details=details)
    if operation == "cancel":
        return Assessment(Risk.EXEC, details={"job_id": args.get("job_id")})
    return Assessment(Risk.READ_ONLY)


def tools(settings: AgentConfig) -> list[Tool]:
    default_timeout = float(settings.tool_timeout_s)
    try:
        confined = for_settings(settings).confined
    except SandboxUnavailable:
        confined = False
    sandbox_note = (
        " A job runs in a sandbox of its own, like bash: it writes only to the workspace, its /tmp is its own, "
        "and it keeps running after the agent exits."
        if confined
        else ""
    )

    def call_timeout(args: dict) -> float:
        if args.get("operation") == "logs" and args.get("follow"):
            try:
                follow_s = float(args.get("follow_timeout_s") or 60)
            except (TypeError, ValueError):
                follow_s = 60.0
            return max(default_timeout, follow_s + 30)
        return default_timeout

    return [
        Tool(
            name="jobs",
            description=(
                "Run long jobs (training, evaluation) on this machine in the background. operation='run' "
                "with script (a .py file in the workspace) or command, optional dependencies (pip specs), "
                "env and timeout_s; it returns a job id at once and the job keeps running. Then use 'logs' "
                "(tail, follow=true to watch), 'ps', 'inspect' or 'cancel' with job_id. For Hugging Face "
                "hardware (GPUs in the cloud) use hf_jobs instead." + sandbox_note
            ),
            risk=Risk.EXEC,
            handler=_jobs,
            args_model=JobsArgs,
            timeout=call_timeout,
            assess=_assess,
        )
    ]
