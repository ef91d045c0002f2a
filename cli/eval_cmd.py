"""`ml-intern eval`: give the agent the ML-engineering tasks in eval/tasks and check what it really did.

A task is a folder: task.json (title, prompt, max_iterations, timeout_s), workspace/ (copied fresh for every
run) and check.py, which looks at the workspace after the run (files, exit codes, a metric read from the
script's own output, never the agent's answer) and exits 0 when the outcome is right. The check and any
hidden data stay in the task folder, where the agent cannot see them.

Each run is the real `ml-intern` binary, headless in yolo mode, with its own ML_INTERN_HOME, so a run leaves
no session behind and one run cannot read another's. `--model replay:DIR` plays DIR/<task>.jsonl for each task:
that is how the harness is tested without a model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from cli import exit_codes
from cli.bootstrap import UserError

_HERE = Path(__file__).resolve().parent
# An installed wheel ships eval/ inside this package (pyproject: force-include); a checkout has it at the top.
TASKS = next((p for p in (_HERE / "eval" / "tasks", _HERE.parent / "eval" / "tasks") if p.is_dir()), _HERE / "eval")
CHECK_TIMEOUT_S = 600


@dataclass
class Task:
    name: str
    folder: Path
    title: str
    prompt: str
    max_iterations: int
    timeout_s: float


@dataclass
class RunResult:
    task: str
    repeat: int
    passed: bool
    check: str  # the check's one line: why it passed or failed
    status: str  # the agent's own turn status (done, max_iterations, error:..., timeout)
    exit_code: int | None
    steps: int  # model calls
    input_tokens: int
    output_tokens: int
    cost_usd: float
    wall_s: float
    plan_finished: bool | None = None
    final_response: str = ""  # the agent's last answer (shown in --json, never judged)
    error: str | None = None  # the agent's error line when its turn failed (error:provider: which failure)


def load_tasks(folder: Path = TASKS) -> dict[str, Task]:
    tasks = {}
    for path in sorted(folder.glob("*/task.json")):
        spec = json.loads(path.read_text())
        tasks[path.parent.name] = Task(
            name=path.parent.name,
            folder=path.parent,
            title=spec["title"],
            prompt=spec["prompt"],
            max_iterations=int(spec.get("max_iterations", 20)),
            timeout_s=float(spec.get("timeout_s", 900)),
        )
    return tasks


def select(tasks: dict[str, Task], names: list[str]) -> list[Task]:
    wanted = [n.strip().replace("-", "_") for name in names for n in name.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in tasks]
    if unknown:
        raise UserError(f"unknown task(s) {', '.join(unknown)}: pick from {', '.join(tasks)}")
    return [tasks[n] for n in wanted] if wanted else list(tasks.values())


def model_for(model: str | None, task: Task) -> str | None:
    """replay:DIR means DIR/<task>.jsonl; any other id is used as given."""
    if model and model.startswith("replay:"):
        path = Path(model.removeprefix("replay:")).expanduser()
        if path.is_dir():
            script = path / f"{task.name}.jsonl"
            if not script.is_file():
                raise UserError(f"no replay script for task {task.name}: add {script}")
            return f"replay:{script.resolve()}"
    return model


def check(task: Task, workspace: Path) -> tuple[bool, str]:
    """Run the task's check on the workspace: (passed, its last line)."""
    try:
        run = subprocess.run(
            [sys.executable, str(task.folder / "check.py"), str(workspace)],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
            cwd=tempfile.gettempdir(),
        )
    except subprocess.TimeoutExpired:
        return False, f"the check took more than {CHECK_TIMEOUT_S}s"
    lines = (run.stdout + "\n" + run.stderr).strip().splitlines()
    return run.returncode == 0, (lines[-1] if lines else f"check exited {run.returncode}")[:300]


def run_task(
    task: Task, model: str | None, repeat: int, extra: list[str], keep: Path | None, timeout_s: float | None = None
) -> RunResult:
    """One run of one task in a fresh workspace, then its check."""
    with tempfile.TemporaryDirectory(prefix=f"ml-intern-eval-{task.name}-") as tmp:
        root = Path(tmp)
        workspace = root / "workspace"
        shutil.copytree(task.folder / "workspace", workspace)
        for placeholder in workspace.rglob(".keep"):
            placeholder.unlink()
        args = [
            sys.executable,
            "-m",
            "cli.main",
            "--output-format",
            "json",
            "--yolo",
        ]  # streamed: no read timeout mid-answer
        args += ["--workspace", str(workspace), "--max-iterations", str(task.max_iterations), *extra]
        chosen = model_for(model, task)
        if chosen:
            args += ["--model", chosen]
        env = {**os.environ, "ML_INTERN_HOME": str(root / "home")}
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [*args, task.prompt],
                capture_output=True,
                text=True,
                timeout=timeout_s or task.timeout_s,
                env=env,
                cwd=workspace,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            out, code = proc.stdout, proc.returncode
            stderr = proc.stderr
        except subprocess.TimeoutExpired as e:
            out, code = "", None
            stderr = (e.stderr or b"").decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        wall = time.monotonic() - started
        report = _last_json(out)
        usage = report.get("usage") or {}
        status = report.get("status") or ("timeout" if code is None else f"exit {code}")
        if code not in (None, exit_codes.DONE) and not report:
            status = (stderr.strip().splitlines() or [status])[-1][:200]
        passed, line = check(task, workspace)
        if keep is not None:  # the workspace, and the home beside it: its session shows what the agent did
            shutil.copytree(workspace, keep / f"{task.name}-{repeat}", dirs_exist_ok=True)
            if (root / "home").is_dir():
                shutil.copytree(root / "home", keep / f"{task.name}-{repeat}.home", dirs_exist_ok=True)
    return RunResult(
        task=task.name,
        repeat=repeat,
        passed=passed,
        check=line,
        status=status,
        exit_code=code,
        steps=int(usage.get("calls", 0)),
        input_tokens=int(usage.get("input_tokens", 0)),
        output_tokens=int(usage.get("output_tokens", 0)),
        cost_usd=float(usage.get("cost_usd", 0.0)),
        wall_s=round(wall, 1),
        plan_finished=report.get("plan_finished"),
        final_response=str(report.get("final_response") or "")[:2000],
        error=str(report["error"])[:500] if report.get("error") else None,
    )


def _last_json(out: str) -> dict:
    for line in reversed(out.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


def table(results: list[RunResult]) -> str:
    """The results as a Markdown table, one row per run and a total."""
    rows = ["| task | result | agent status | steps | tokens in/out | cost | wall time | check |", "|---" * 8 + "|"]
    for r in results:
        rows.append(
            f"| {r.task}{f' #{r.repeat}' if r.repeat > 1 else ''} | {'pass' if r.passed else 'FAIL'} | {_status(r)} | "
            f"{r.steps} | {r.input_tokens:,}/{r.output_tokens:,} | ${r.cost_usd:.4f} | {_duration(r.wall_s)} | "
            f"{r.check.replace('|', '/')} |"
        )
    passed = sum(r.passed for r in results)
    rows.append(
        f"| **total** | **{passed}/{len(results)}** | | {sum(r.steps for r in results)} | "
        f"{sum(r.input_tokens for r in results):,}/{sum(r.output_tokens for r in results):,} | "
        f"${sum(r.cost_usd for r in results):.4f} | {_duration(sum(r.wall_s for r in results))} | |"
    )
    return "\n".join(rows)


def _status(result: RunResult) -> str:
    """The agent's status, with its error line when it failed (cut to fit a table cell)."""
    if not result.error:
        return result.status
    error = result.error.replace("|", "/").replace("\n", " ")
    return f"{result.status} ({error[:80]}{'...' if len(error) > 80 else ''})"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


def run_eval(
    model: str | None,
    task_names: list[str],
    repeat: int,
    as_json: bool,
    extra: list[str],
    keep: str | None = None,
    timeout_s: float | None = None,
) -> int:
    """Run the tasks (each `repeat` times), print the table (or JSON); exit 0 only when every run passed."""
    if repeat < 1:
        raise UserError("--repeat must be at least 1")
    tasks = select(load_tasks(), task_names)
    keep_dir = Path(keep).resolve() if keep else None
    results = []
    for task in tasks:
        for n in range(1, repeat + 1):
            if not as_json:
                print(f"== {task.name} #{n}: {task.title}", file=sys.stderr, flush=True)
            result = run_task(task, model, n, extra, keep_dir, timeout_s)
            if not as_json:
                print(f"   {'pass' if result.passed else 'FAIL'}: {result.check}", file=sys.stderr, flush=True)
            results.append(result)
    if as_json:
        print(json.dumps({"model": model, "results": [asdict(r) for r in results]}, indent=2))
    else:
        print(table(results))
    return exit_codes.DONE if all(r.passed for r in results) else exit_codes.AGENT_ERROR
