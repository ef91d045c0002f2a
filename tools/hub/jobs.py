"""hf_jobs: run scripts and containers on Hugging Face Jobs, and watch them.

Operations mirror the local `jobs` tool (run, ps, logs, inspect, cancel) plus hardware and scheduled
jobs. `run` returns as soon as the job is submitted, with its URL: it never waits for the job.
`logs` returns a capped tail (the full log goes to the session folder) and, with follow=true,
streams new lines as tool_log events until the job ends or follow_timeout_s passes.

A Python script runs with uv (HfApi.run_uv_job): a URL is passed through; inline source or a
workspace .py file travels in the job's environment and is started with `python -c`, its
dependencies (including a PEP 723 `# /// script` block) installed with `uv run --with`. A Docker
image + command runs with HfApi.run_job.

Approval: cpu-basic runs are REMOTE_COMPUTE; any other hardware and every scheduled job always ask
(yolo never auto-approves them), with the estimated cost (price per hour x timeout) in the details.
Prices come from the live hardware list once fetched (operation=hardware), else a built-in table.
"""

from __future__ import annotations

import asyncio
import re
import time
import tomllib
import warnings
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from core import credentials
from core.secrets import HF_TOKEN_NAMES, is_secret_env
from tools.base import Assessment, Risk, Tool, ToolContext, ToolError
from tools.hub.auth import hf_endpoint, hf_token, hub_api, require_token
from tools.hub.errors import hub_call
from tools.output import cap_lines
from tools.runs import ledger
from tools.runs.recording import record_run
from tools.workspace_paths import display_path, resolve_path

Operation = Literal[
    "run",
    "ps",
    "logs",
    "inspect",
    "cancel",
    "hardware",
    "scheduled_run",
    "scheduled_ps",
    "scheduled_inspect",
    "scheduled_suspend",
    "scheduled_resume",
    "scheduled_delete",
]
READS = {"ps", "logs", "inspect", "hardware", "scheduled_ps", "scheduled_inspect"}
DEFAULT_TIMEOUT = "1h"
FREE_TIER = "cpu-basic"
SCRIPT_ENV = "ML_INTERN_SCRIPT"
# Started by `uv run --with deps python -c ...`: runs the script carried in the environment as __main__.
BOOTSTRAP = f"import os,sys;sys.argv[0]='script.py';exec(compile(os.environ.pop('{SCRIPT_ENV}'),'script.py','exec'))"
MAX_SCRIPT_BYTES = 100_000
PS_LIMIT = 50
TERMINAL = {"COMPLETED", "CANCELED", "ERROR", "DELETED"}
# USD per hour, Hugging Face list prices; replaced by the live list once operation=hardware ran.
PRICES_PER_HOUR = {
    "cpu-basic": 0.01,
    "cpu-upgrade": 0.03,
    "t4-small": 0.40,
    "t4-medium": 0.60,
    "l4x1": 0.80,
    "l4x4": 3.80,
    "l40sx1": 1.80,
    "l40sx4": 8.30,
    "l40sx8": 23.50,
    "a10g-small": 1.00,
    "a10g-large": 1.50,
    "a10g-largex2": 3.00,
    "a10g-largex4": 5.00,
    "a100-large": 2.50,
}
_live_prices: dict[str, float] = {}
_namespaces: dict[tuple[str, str], str] = {}  # (endpoint, token) -> user name, saves a whoami per call


class HfJobsArgs(BaseModel):
    operation: Operation = Field(
        description=(
            "run: submit a job (returns at once); ps: list jobs; logs: output of a job; inspect: details; cancel; "
            "hardware: flavors and prices; scheduled_run/scheduled_ps/scheduled_inspect/scheduled_suspend/"
            "scheduled_resume/scheduled_delete: cron-like jobs."
        )
    )
    script: str | None = Field(
        None, description=("run: Python to run with uv: inline source, a .py file in the workspace, or an https URL.")
    )
    dependencies: list[str] = Field(default_factory=list, description="run: pip packages, e.g. ['trl', 'peft'].")
    python: str | None = Field(None, description="run: Python version for the script, e.g. '3.12'.")
    script_args: list[str] = Field(default_factory=list, description="run: arguments passed to the script.")
    image: str | None = Field(None, description="run: Docker image (use with command instead of script).")
    command: list[str] | str | None = Field(
        None, description=("run: command for the image: an argv list, or a string run with `sh -c`.")
    )
    flavor: str = Field(
        FREE_TIER,
        description="run: hardware, e.g. cpu-basic, cpu-upgrade, t4-small, l4x1, "
        "a10g-small, a10g-large, l40sx1, a100-large (operation=hardware lists all with prices).",
    )
    timeout: str | int = Field(DEFAULT_TIMEOUT, description="run: max duration, e.g. '30m', '2h', or seconds.")
    env: dict[str, str] = Field(default_factory=dict, description="run: environment variables.")
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "run: secret environment variables. A value '$NAME' is taken from the local environment when the job is "
            "submitted ('$HF_TOKEN': the user's HF token), so secrets never appear in the conversation."
        ),
    )
    namespace: str | None = Field(None, description="User or org that runs (and pays for) the job. Default: you.")
    job_id: str | None = Field(None, description="logs/inspect/cancel: job id; scheduled_*: scheduled job id.")
    tail: int = Field(100, ge=1, le=2000, description="logs: how many last lines to return.")
    follow: bool = Field(False, description="logs: stream new output until the job ends or follow_timeout_s.")
    follow_timeout_s: int = Field(60, ge=1, le=3600, description="logs: how long to follow at most.")
    schedule: str | None = Field(None, description="scheduled_run: cron ('0 3 * * *') or @hourly/@daily/@weekly.")
    all: bool = Field(False, description="ps: include finished jobs.")


# -- money and time ------------------------------------------------------------------------------
def timeout_seconds(value: str | int | None) -> int:
    if value is None or value == "":
        value = DEFAULT_TIMEOUT
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(value))
    if not match:
        raise ToolError(f"timeout '{value}' is not a duration: use e.g. '45m', '2h' or seconds.")
    return int(float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)])


def price_per_hour(flavor: str) -> float | None:
    return _live_prices.get(flavor, PRICES_PER_HOUR.get(flavor))


def _cost_details(args: dict[str, Any]) -> dict[str, Any]:
    flavor = args.get("flavor") or FREE_TIER
    details: dict[str, Any] = {"flavor": flavor, "namespace": args.get("namespace") or "(your user)"}
    try:
        seconds = timeout_seconds(args.get("timeout"))
        details["timeout"] = f"{seconds / 3600:.2f} h"
    except ToolError:
        seconds = None
        details["timeout"] = f"invalid: {args.get('timeout')}"
    price = price_per_hour(flavor)
    if price is None:
        details["estimated_max_cost_usd"] = "unknown price: check operation=hardware"
    else:
        details["price_per_hour_usd"] = price
        if seconds is not None:
            per_run = args.get("operation") == "scheduled_run"
            label = "estimated_max_cost_per_run_usd" if per_run else "estimated_max_cost_usd"
            details[label] = round(price * seconds / 3600, 2)
    if args.get("schedule"):
        details["schedule"] = args["schedule"]
    command = args.get("command")
    what = args.get("script") or (command if isinstance(command, str) else " ".join(command or [])) or args.get("image")
    if what:
        details["runs"] = what if len(what) <= 200 else what[:200] + "..."
    if args.get("secrets"):
        details["secrets"] = sorted(args["secrets"])
    return details


def _assess(args: dict[str, Any]) -> Assessment:
    op = args.get("operation")
    if op in READS:
        return Assessment(Risk.READ_ONLY)
    if op in ("cancel", "scheduled_delete"):
        return Assessment(Risk.DESTRUCTIVE, details={"job_id": args.get("job_id")})
    if op == "scheduled_suspend":
        return Assessment(Risk.EXEC, details={"job_id": args.get("job_id")})
    if op == "scheduled_resume":  # future runs on whatever hardware the schedule uses
        return Assessment(Risk.REMOTE_COMPUTE, always_ask=True, details={"job_id": args.get("job_id")})
    details = _cost_details(args)
    paid = (args.get("flavor") or FREE_TIER) != FREE_TIER
    # a run that carries secrets off the machine is always shown to the user
    return Assessment(
        Risk.REMOTE_COMPUTE, always_ask=paid or op == "scheduled_run" or bool(args.get("secrets")), details=details
    )


# -- building a run -----------------------------------------------------------------------------
def pep723_dependencies(source: str) -> list[str]:
    """Dependencies declared in a `# /// script` block (PEP 723), so inline scripts keep them."""
    match = re.search(r"(?m)^# /// script\s*$\n((?:^#(?: .*)?$\n)+?)^# ///\s*$", source)
    if not match:
        return []
    body = "\n".join(line[2:] if line.startswith("# ") else line[1:] for line in match.group(1).splitlines())
    try:
        return list(tomllib.loads(body).get("dependencies", []))
    except tomllib.TOMLDecodeError:
        return []


def _secrets(values: dict[str, str], settings: AgentConfig) -> dict[str, str]:
    """Fill `$NAME` values from the local environment. Only the HF token and names that are not the agent's
    own credentials may be filled (unless bash.pass_secrets): a job must not carry off the user's API keys."""
    pass_secrets = bool(getattr(getattr(settings, "bash", None), "pass_secrets", False))
    resolved = {}
    for key, value in values.items():
        if value.startswith("$") and len(value) > 1:
            name = value[1:]
            held = credentials.get(name) or ""
            if name not in HF_TOKEN_NAMES and is_secret_env(name, held) and not pass_secrets:
                raise ToolError(
                    f"secret {key}: ${name} is one of the agent's own credentials and is not sent to "
                    "jobs (only $HF_TOKEN is); the user can allow it with bash.pass_secrets in the config"
                )
            found = hf_token() if name in HF_TOKEN_NAMES else held
            if not found:
                raise ToolError(f"secret {key}: ${name} is not set in the local environment; set it or pass the value.")
            resolved[key] = found
        else:
            resolved[key] = value
    return resolved


def _check_script_args(script_args: list[str]) -> None:
    # huggingface_hub uploads script arguments that name local files to a bucket, and rejects ones that look
    # like missing local files: neither is what a remote job wants, so say so before submitting.
    for arg in script_args:
        if arg.startswith(("http://", "https://")):
            continue
        try:
            local = Path(arg).is_file()
        except OSError:  # e.g. an argument too long to be a file name
            local = False
        if local or Path(arg).suffix in (".py", ".sh", ".yaml", ".yml", ".toml"):
            raise ToolError(
                f"script_args '{arg}': huggingface_hub treats arguments naming files (.py/.sh/.yaml/.yml/"
                ".toml, or existing local files) as local files to ship, which a remote job cannot use. "
                "Put the file in a Hub repo and pass its URL, or inline its content in the script."
            )


def _script_source(args: HfJobsArgs, ctx: ToolContext) -> tuple[str, str | None]:
    """(name, inline source) for the script; source None means a URL passed through."""
    script = (args.script or "").strip()
    if script.startswith(("https://", "http://")):
        return re.sub(r"[^A-Za-z0-9_-]", "-", script.rsplit("/", 1)[-1].removesuffix(".py")) or "script", None
    if "\n" not in script and script.endswith(".py"):
        path = resolve_path(script, ctx.workspace, ctx.settings)
        if not path.is_file():
            raise ToolError(f"script {script} does not exist in the workspace (pass inline source or a URL).")
        source = path.read_text(errors="replace")
        name = re.sub(r"[^A-Za-z0-9_-]", "-", path.stem)
    else:
        source, name = args.script or "", "ml-intern-script"
    if len(source.encode()) > MAX_SCRIPT_BYTES:
        raise ToolError(
            f"script is over {MAX_SCRIPT_BYTES // 1000} KB: upload it to a Hub repo with hf_repo_files "
            "and pass its resolve URL as script."
        )
    return name, source


async def _namespace(api: Any, args: HfJobsArgs, token: str) -> str:
    if args.namespace:
        return args.namespace
    key = (api.endpoint, token)
    if key not in _namespaces:
        who = await hub_call("Looking up your Hugging Face user", api.whoami, jobs=True)
        _namespaces[key] = who["name"]
    return _namespaces[key]


def _submit_kwargs(args: HfJobsArgs, ctx: ToolContext, namespace: str, token: str) -> tuple[str, dict[str, Any]]:
    """('uv' or 'docker', keyword arguments shared by run_* and create_scheduled_*)."""
    common: dict[str, Any] = dict(
        env=dict(args.env),
        secrets=_secrets(args.secrets, ctx.settings),
        flavor=args.flavor,
        timeout=timeout_seconds(args.timeout),
        namespace=namespace,
        token=token,
    )
    if args.script:
        if args.command:
            raise ToolError("Give either script (run with uv) or image + command, not both.")
        _check_script_args(args.script_args)
        name, source = _script_source(args, ctx)
        kwargs = dict(
            common,
            script_args=list(args.script_args),
            dependencies=list(args.dependencies),
            python=args.python,
            image=args.image,
            name=name,
        )
        if source is None:
            kwargs["script"] = args.script.strip()
        else:
            deps = list(dict.fromkeys([*args.dependencies, *pep723_dependencies(source)]))
            kwargs.update(script="python", script_args=["-c", BOOTSTRAP, *args.script_args], dependencies=deps)
            kwargs["env"][SCRIPT_ENV] = source
        return "uv", kwargs
    if not (args.image and args.command):
        raise ToolError("run needs script (Python, run with uv) or image + command (a Docker container).")
    command = ["sh", "-c", args.command] if isinstance(args.command, str) else list(args.command)
    return "docker", dict(common, image=args.image, command=command)


def _quietly(fn: Any) -> Any:
    """run_uv_job & co. warn that they are experimental on every call: noise for the user, not news."""

    def call(**kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is experimental.*")
            return fn(**kwargs)

    return call


# -- formatting ---------------------------------------------------------------------------------
def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _shown_env(env: dict[str, Any] | None) -> dict[str, Any]:
    return {k: (f"<script, {len(str(v)):,} chars>" if k == SCRIPT_ENV else v) for k, v in (env or {}).items()}


def _what(job: Any) -> str:
    command = [
        ("<script>" if len(c) > 80 and i and job.command[i - 1] == "-c" else c) for i, c in enumerate(job.command or [])
    ]
    text = " ".join(command)
    source = job.docker_image or (f"space {job.space_id}" if job.space_id else "?")
    return f"{source}: {text if len(text) <= 120 else text[:120] + '...'}"


def _job_line(job: Any) -> str:
    return f"{job.id}  {job.status.stage:<10} {job.flavor or '?':<12} {_when(job.created_at)}  {_what(job)}"


def _job_details(job: Any) -> str:
    lines = [
        f"Job {job.id} ({job.url})",
        f"status: {job.status.stage}" + (f" - {job.status.message}" if job.status.message else ""),
        f"hardware: {job.flavor}",
        f"runs: {_what(job)}",
        f"owner: {job.owner.name}",
        f"created: {_when(job.created_at)}, started: {_when(job.started_at)}, finished: {_when(job.finished_at)}",
    ]
    if job.environment:
        lines.append(f"env: {_shown_env(job.environment)}")
    if job.secrets:
        lines.append(f"secrets: {', '.join(sorted(job.secrets))}")
    if job.labels:
        lines.append(f"labels: {job.labels}")
    running = job.durations.running_secs if job.durations else None
    price = price_per_hour(str(job.flavor))
    if running:
        cost = f", about ${price * running / 3600:.2f} so far" if price is not None else ""
        lines.append(f"running for {running // 60} min{cost}")
    return "\n".join(lines)


def _scheduled_line(s: Any) -> str:
    spec = s.job_spec
    state = "suspended" if s.suspend else "active"
    last = f", last job {s.status.last_job.id}" if s.status.last_job else ""
    nxt = f", next run {_when(s.status.next_job_run_at)}" if s.status.next_job_run_at else ""
    command = " ".join("<script>" if len(c) > 80 else c for c in (spec.command or []))
    return (
        f"{s.id}  {s.schedule}  {state}  {spec.flavor}  {spec.docker_image or spec.space_id}: "
        f"{command[:100]}{last}{nxt}"
    )


# -- operations ---------------------------------------------------------------------------------
async def _run(args: HfJobsArgs, ctx: ToolContext, api: Any, token: str, namespace: str) -> str:
    kind, kwargs = _submit_kwargs(args, ctx, namespace, token)
    fn = _quietly(api.run_uv_job) if kind == "uv" else api.run_job
    job = await hub_call(f"Submitting the job to {namespace}", fn, jobs=True, **kwargs)
    details = _cost_details(args.model_dump())
    source = kwargs.get("env", {}).get(SCRIPT_ENV)
    await record_run(  # the run ledger (tools/runs): its code, command, hyperparameters, hardware and price
        ctx, job.id, "hf_job", command=str(details.get("runs") or ""), cwd=ctx.workspace,
        args=list(args.script_args) + (args.command.split() if isinstance(args.command, str) else list(args.command or [])),
        script_text=source, script=(args.script or "").strip()[:200] if args.script and source is None else None,
        env=dict(args.env), dependencies=list(kwargs.get("dependencies") or []), hardware=args.flavor,
        timeout_s=float(kwargs["timeout"]), price_per_hour_usd=price_per_hour(args.flavor),
    )  # fmt: skip
    cost = details.get("estimated_max_cost_usd")
    cost_text = f", at most ~${cost:.2f}" if isinstance(cost, (int, float)) else ""
    return (
        f"Submitted job {job.id} on {job.flavor} in {namespace} (status {job.status.stage}; timeout "
        f"{details['timeout']}{cost_text}).\nURL: {job.url}\n"
        f"Watch it with hf_jobs operation=logs job_id={job.id} (follow=true to stream)."
    )


async def _ps(args: HfJobsArgs, api: Any, namespace: str) -> str:
    jobs = await hub_call(f"Listing jobs of {namespace}", lambda: list(api.list_jobs(namespace=namespace)), jobs=True)
    if not args.all:
        jobs = [j for j in jobs if j.status.stage not in TERMINAL]
    jobs.sort(key=lambda j: j.created_at.timestamp() if j.created_at else 0, reverse=True)
    if not jobs:
        return f"No {'' if args.all else 'running or scheduling '}jobs in {namespace}" + (
            "" if args.all else " (all=true shows finished ones)."
        )
    head = f"{len(jobs)} {'' if args.all else 'active '}jobs in {namespace}:"
    return head + "\n" + cap_lines([_job_line(j) for j in jobs], PS_LIMIT, "jobs")


def _log_path(ctx: ToolContext, job_id: str) -> Path:
    folder = ctx.session_dir / "hf_jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{re.sub(r'[^A-Za-z0-9_-]', '_', job_id)}.log"


async def _logs(args: HfJobsArgs, ctx: ToolContext, api: Any, namespace: str) -> str:
    job_id = _need_id(args)

    def fetch() -> list[str]:
        return list(api.fetch_job_logs(job_id=job_id, namespace=namespace))

    lines = await hub_call(f"Reading logs of job {job_id}", fetch, jobs=True)
    job = await hub_call(f"Inspecting job {job_id}", api.inspect_job, job_id=job_id, namespace=namespace, jobs=True)
    note = ""
    if args.follow:
        poll = ctx.settings.hf_jobs.poll_s
        deadline = time.monotonic() + args.follow_timeout_s
        for line in lines:
            ctx.log(line)
        while job.status.stage not in TERMINAL and time.monotonic() < deadline:
            await asyncio.sleep(min(poll, max(0.0, deadline - time.monotonic())))
            fresh = await hub_call(f"Reading logs of job {job_id}", fetch, jobs=True)
            for line in fresh[len(lines) :]:
                ctx.log(line)
            lines = fresh if len(fresh) >= len(lines) else lines
            job = await hub_call(
                f"Inspecting job {job_id}", api.inspect_job, job_id=job_id, namespace=namespace, jobs=True
            )
        if job.status.stage in TERMINAL:
            final = await hub_call(f"Reading logs of job {job_id}", fetch, jobs=True)
            for line in final[len(lines) :]:
                ctx.log(line)
            lines = final if len(final) >= len(lines) else lines
        else:
            note = f"\n(still {job.status.stage} after following {args.follow_timeout_s} s; call logs again later)"
    path = _log_path(ctx, job_id)
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    running = job.durations.running_secs if job.durations else None
    ledger.update_hf(job_id, str(job.status.stage), running, path)  # a run in the ledger reads its metrics here
    shown = lines[-args.tail :]
    message = f" - {job.status.message}" if job.status.message else ""
    head = (
        f"Job {job_id} [{job.status.stage}{message}]: last {len(shown)} of {len(lines)} log lines "
        f"(full log: {display_path(path, ctx.workspace)})"
    )
    return head + "\n" + ("\n".join(shown) if shown else "(no output yet)") + note


def _need_id(args: HfJobsArgs) -> str:
    if not args.job_id:
        what = "scheduled job id (see scheduled_ps)" if args.operation.startswith("scheduled") else "job_id (see ps)"
        raise ToolError(f"{args.operation} needs {what}.")
    return args.job_id


async def _hardware(api: Any) -> str:
    flavors = await hub_call("Listing Jobs hardware", api.list_jobs_hardware, jobs=True)
    lines = []
    for hw in flavors:
        per_hour = hw.unit_cost_usd * (60 if hw.unit_label == "minute" else 1)
        _live_prices[hw.name] = round(per_hour, 4)
        acc = hw.accelerator
        gpu = f", {acc.quantity}x {acc.model} {acc.vram}" if acc else ""
        lines.append(f"{hw.name:<16} ${per_hour:.2f}/h  {hw.cpu}, {hw.ram}{gpu}  ({hw.pretty_name})")
    return "Hugging Face Jobs hardware (flavor, price, resources):\n" + "\n".join(lines)


async def _scheduled(args: HfJobsArgs, ctx: ToolContext, api: Any, token: str, namespace: str) -> str:
    op = args.operation
    if op == "scheduled_run":
        if not args.schedule:
            raise ToolError("scheduled_run needs schedule: cron like '0 3 * * *' or @hourly/@daily/@weekly/@monthly.")
        kind, kwargs = _submit_kwargs(args, ctx, namespace, token)
        fn = _quietly(api.create_scheduled_uv_job) if kind == "uv" else api.create_scheduled_job
        created = await hub_call(f"Scheduling the job in {namespace}", fn, schedule=args.schedule, jobs=True, **kwargs)
        return (
            f"Scheduled job {created.id} ({args.schedule}) on {args.flavor} in {namespace}.\n"
            f"{hf_endpoint(ctx.settings)}/jobs/{namespace}\nSuspend it with operation=scheduled_suspend."
        )
    if op == "scheduled_ps":
        items = await hub_call(
            f"Listing scheduled jobs of {namespace}", api.list_scheduled_jobs, namespace=namespace, jobs=True
        )
        if not items:
            return f"No scheduled jobs in {namespace}."
        return f"{len(items)} scheduled jobs in {namespace}:\n" + cap_lines(
            [_scheduled_line(s) for s in items], PS_LIMIT, "scheduled jobs"
        )
    sid = _need_id(args)
    if op == "scheduled_inspect":
        found = await hub_call(
            f"Inspecting scheduled job {sid}",
            api.inspect_scheduled_job,
            scheduled_job_id=sid,
            namespace=namespace,
            jobs=True,
        )
        return _scheduled_line(found) + f"\nenv: {_shown_env(found.job_spec.environment)}"
    action = {
        "scheduled_suspend": ("Suspending", api.suspend_scheduled_job, "Suspended"),
        "scheduled_resume": ("Resuming", api.resume_scheduled_job, "Resumed"),
        "scheduled_delete": ("Deleting", api.delete_scheduled_job, "Deleted"),
    }[op]
    await hub_call(f"{action[0]} scheduled job {sid}", action[1], scheduled_job_id=sid, namespace=namespace, jobs=True)
    return f"{action[2]} scheduled job {sid} in {namespace}."


async def _handle(args: HfJobsArgs, ctx: ToolContext) -> str:
    if args.operation == "hardware":  # public: no token needed
        return await _hardware(hub_api(ctx.settings, hf_token()))
    token = require_token("Hugging Face Jobs")
    api = hub_api(ctx.settings, token)
    namespace = await _namespace(api, args, token)
    op = args.operation
    if op == "run":
        return await _run(args, ctx, api, token, namespace)
    if op == "ps":
        return await _ps(args, api, namespace)
    if op == "logs":
        return await _logs(args, ctx, api, namespace)
    if op == "inspect":
        job = await hub_call(
            f"Inspecting job {_need_id(args)}", api.inspect_job, job_id=args.job_id, namespace=namespace, jobs=True
        )
        return _job_details(job)
    if op == "cancel":
        await hub_call(
            f"Cancelling job {_need_id(args)}", api.cancel_job, job_id=args.job_id, namespace=namespace, jobs=True
        )
        return f"Cancelled job {args.job_id} in {namespace}."
    return await _scheduled(args, ctx, api, token, namespace)


def _timeout(args: dict[str, Any]) -> float:
    if args.get("operation") == "logs" and args.get("follow"):
        return float(args.get("follow_timeout_s") or 60) + 120
    return 300.0


def tools(settings: AgentConfig | None) -> list[Tool]:
    return [
        Tool(
            name="hf_jobs",
            description=(
                "Run code on Hugging Face Jobs (cloud CPUs/GPUs, billed to the user or an org). run submits and "
                "returns the job URL at once: a Python script (inline, a workspace .py file or a URL) run with uv "
                "and dependencies, or a Docker image + command; choose flavor (GPU for training) and timeout. "
                "Then logs (tail, or follow=true to stream), inspect, ps, cancel. hardware lists flavors with "
                "prices. scheduled_run with schedule creates recurring jobs. Push results to the Hub from the "
                "job: pass secrets={'HF_TOKEN': '$HF_TOKEN'} - the job's disk is gone when it ends."
            ),
            risk=Risk.REMOTE_COMPUTE,
            handler=_handle,
            args_model=HfJobsArgs,
            timeout=_timeout,
            assess=_assess,
        )
    ]
