"""`ml-intern runs list|show|compare|reproduce`: the run ledger (tools/runs), also `/runs` in the chat.

A run is a training or evaluation job the agent started (local or on Hugging Face Jobs); its metrics are read
from its own log each time it is shown, so a run still going shows its latest numbers.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import typer

from cli import exit_codes

runs_app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    no_args_is_help=True,
    help="The runs the agent started (local and Hugging Face jobs): list, show, compare, reproduce.",
)


def _fail(message: str, code: int = exit_codes.USAGE) -> None:
    print(f"ml-intern: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _views(refs: list[str]) -> list[Any]:
    from tools.runs import ledger

    views = []
    for ref in refs:
        record = ledger.find(ref)
        if record is None:
            _fail(f"no run '{ref}' (or the prefix is ambiguous): see ml-intern runs list")
        views.append(ledger.view(record))  # type: ignore[arg-type]
    return views


KINDS = {"local": "local job", "hf_job": "Hugging Face Job", "command": "bash command"}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else (f"{minutes}m{secs:02d}s" if minutes else f"{secs}s")


def cost(view: Any) -> str:
    if view.record.kind in ("local", "command"):
        return "$0"
    return "unknown" if view.cost_usd is None else f"${view.cost_usd:.2f}"


def _metrics_text(metrics: dict[str, float], limit: int = 3) -> str:
    shown = [f"{k}={v:.4g}" for k, v in list(metrics.items())[-limit:]]
    return " ".join(shown) or "-"


def list_lines(views: list[Any]) -> list[str]:
    """One line per run: id, when, status, hardware, duration, cost, last metrics, what it ran."""
    if not views:
        return ["no runs yet: runs are recorded when the agent starts a job (jobs or hf_jobs, operation=run)"]
    lines = [f"{'RUN':<26} {'STARTED':<16} {'STATUS':<11} {'HARDWARE':<11} {'TIME':>7} {'COST':>8}  METRICS  COMMAND"]
    for v in views:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(v.record.created_at))
        flags = " NaN!" if v.scan.nan_line else (" OOM!" if v.scan.oom_line else "")
        lines.append(
            f"{v.record.id:<26} {when:<16} {v.status + flags:<11} {v.record.hardware:<11} {duration(v.duration_s):>7} "
            f"{cost(v):>8}  {_metrics_text(v.scan.final())}  {v.record.command[:60]}"
        )
    return lines


def show_lines(view: Any) -> list[str]:
    from tools.runs.metrics import sparkline

    r = view.record
    lines = [
        f"run {r.id} ({KINDS[r.kind]}), session {r.session or '-'}",
        f"status: {view.status}" + (f", exit code {view.exit_code}" if view.exit_code is not None else ""),
        f"command: {r.command}",
        f"hardware: {r.hardware}, time {duration(view.duration_s)}, cost {cost(view)}"
        + (f" (${r.price_per_hour_usd:.2f}/h)" if r.price_per_hour_usd else ""),
        f"code: script {r.script or '-'} sha256 {(r.code_sha256 or '-')[:12]}, git {(r.git_commit or '-')[:12]}"
        + (f" + uncommitted changes {r.diff_sha256[:12]}" if r.diff_sha256 else ""),
    ]
    if r.hyperparameters:
        lines.append("hyperparameters: " + " ".join(f"{k}={v}" for k, v in r.hyperparameters.items()))
    if r.datasets or r.models:
        lines.append(f"data: {', '.join(r.datasets) or '-'}; models: {', '.join(r.models) or '-'}")
    if r.reproduces:
        lines.append(f"reproduces: {r.reproduces}")
    for name, values in view.scan.curves.items():
        curve = f"  {sparkline(values)}" if len(values) > 1 else ""
        lines.append(f"  {name:<20} {values[-1]:<12.6g}{curve}  ({len(values)} points)")
    if view.scan.nan_line:
        lines.append(f"NaN loss: {view.scan.nan_line}")
    if view.scan.oom_line:
        lines.append(f"out of memory: {view.scan.oom_line}")
    if view.log_path:
        lines.append(f"log: {view.log_path}")
    return lines


def compare_lines(views: list[Any]) -> list[str]:
    """The runs side by side: a row per property, hyperparameter and metric (last value, and its curve)."""
    from tools.runs.metrics import sparkline

    rows: list[tuple[str, list[str]]] = [
        ("status", [v.status for v in views]),
        ("hardware", [v.record.hardware for v in views]),
        ("time", [duration(v.duration_s) for v in views]),
        ("cost", [cost(v) for v in views]),
        ("code", [(v.record.code_sha256 or "-")[:10] for v in views]),
    ]
    params = list(dict.fromkeys(k for v in views for k in v.record.hyperparameters))
    rows += [(k, [v.record.hyperparameters.get(k, "-") for v in views]) for k in params]
    metrics = list(dict.fromkeys(k for v in views for k in v.scan.curves))
    for name in metrics:
        rows.append((name, [f"{v.scan.curves[name][-1]:.4g}" if name in v.scan.curves else "-" for v in views]))
        if any(len(v.scan.curves.get(name, [])) > 1 for v in views):
            rows.append(("", [sparkline(v.scan.curves.get(name, []), 12) or "-" for v in views]))
    width = max(12, *(len(v.record.id) for v in views))
    label = max(len(name) for name, _ in rows) if rows else 8
    lines = [" " * label + "  " + "  ".join(f"{v.record.id:<{width}}" for v in views)]
    lines += [f"{name:<{label}}  " + "  ".join(f"{cell[:width]:<{width}}" for cell in cells) for name, cells in rows]
    return [line.rstrip() for line in lines]


@runs_app.command("list", help="Every run, oldest first (--session: one session's).")
def list_cmd(
    session: Annotated[str | None, typer.Option(help="Only the runs of this session.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    from tools.runs import ledger

    views = [ledger.view(r) for r in ledger.all_runs(session)]
    if as_json:
        print(json.dumps([v.as_dict() for v in views], indent=1))
        return
    print("\n".join(list_lines(views)))


@runs_app.command("show", help="One run: code, command, hyperparameters, data, hardware, cost, metrics.")
def show_cmd(run_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    view = _views([run_id])[0]
    print(json.dumps(view.as_dict(), indent=1) if as_json else "\n".join(show_lines(view)))


@runs_app.command("compare", help="Runs side by side: hyperparameters and metrics, with their curves.")
def compare_cmd(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids (unique prefixes work).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    if len(run_ids) < 2:
        _fail("compare needs two runs or more: ml-intern runs compare ID ID ...")
    views = _views(run_ids)
    if as_json:
        print(json.dumps([v.as_dict() for v in views], indent=1))
        return
    print("\n".join(compare_lines(views)))


@runs_app.command("reproduce", help="Run a local run again: same command, folder, environment and timeout.")
def reproduce_cmd(run_id: str) -> None:
    import asyncio

    from cli.reproduce import ReproduceError, reproduce

    record = _views([run_id])[0].record
    try:
        lines = asyncio.run(reproduce(record))
    except ReproduceError as e:
        _fail(str(e))
        return
    print("\n".join(lines))


@runs_app.command("cancel", help="Stop a run that is still going (a local job, or a Hugging Face Job).")
def cancel_cmd(run_id: str) -> None:
    import asyncio

    from tools.runs import ledger

    record = _views([run_id])[0].record
    if record.kind == "command":
        _fail(f"run {record.id} was a bash command and has ended: nothing to cancel")
        return
    if record.kind == "local":
        from tools.jobs import local, registry

        found = registry.find(record.id)
        if found is None:
            _fail(
                f"the job of run {record.id} is gone from the job registry: nothing to cancel", exit_codes.AGENT_ERROR
            )
            return
        job = asyncio.run(local.cancel_job(found[0]))
        print(f"run {record.id}: {registry.live_status(job)}")
        return
    from configs.loader import ConfigError, load_config
    from tools.hub.auth import hub_api, require_token

    try:
        api = hub_api(load_config(), require_token("Hugging Face Jobs"))
        api.cancel_job(job_id=record.id)
    except ConfigError as e:
        _fail(str(e))
    except Exception as e:  # the Hub's answer, in one line
        _fail(f"could not cancel Hugging Face Job {record.id}: {e}", exit_codes.AGENT_ERROR)
    ledger.update_hf(record.id, "canceled", None, None)
    print(f"run {record.id}: cancel requested")
