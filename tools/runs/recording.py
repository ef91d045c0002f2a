"""Putting a run in the ledger from the tool that started it. A run that cannot be recorded still runs:
the failure is one progress line, never the tool's error."""

from __future__ import annotations

import secrets
import shlex
from pathlib import Path
from typing import Any

from tools.base import ToolContext
from tools.blocking import off_loop
from tools.runs import ledger


async def record_run(ctx: ToolContext, run_id: str, kind: ledger.RunKind, **fields: Any) -> None:
    """ledger.new_record(...) + save, off the event loop (it reads git); `script_path` is read for its text."""

    def build() -> None:
        script_path: Path | None = fields.pop("script_path", None)
        text = fields.pop("script_text", None)
        if text is None and script_path is not None:
            text = script_path.read_text(errors="replace")
        ledger.save(ledger.new_record(run_id, kind, script_text=text, session=ctx.session_dir.name, **fields))

    try:
        await off_loop(build)
    except Exception as exc:  # the ledger must never stop a run
        ctx.log(f"the run {run_id} could not be added to the run ledger: {exc}")


def command_args(command: str | None) -> list[str]:
    """A shell command's words (for its hyperparameters); a command shlex cannot split gives none."""
    try:
        return shlex.split(command or "")
    except ValueError:
        return []


def script_in_command(command: str | None, cwd: Path) -> Path | None:
    """The workspace .py file a shell command runs (`python train.py --lr 3e-4`), so its code is hashed too."""
    for word in command_args(command):
        if word.endswith(".py"):
            path = (cwd / word).resolve()
            if path.is_file() and path.is_relative_to(cwd.resolve()):
                return path
    return None


async def record_command_run(
    ctx: ToolContext, command: str, cwd: Path, code: int | None, output: str, timed_out: bool, seconds: float
) -> None:
    """A bash command the model marked as a run: recorded whole once it ended, its output kept as the log."""
    run_id = f"cmd-{secrets.token_hex(4)}"

    def keep_output() -> Path:
        home = ledger.runs_home()
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        log = home / f"{run_id}.log"
        log.write_text(output + "\n", encoding="utf-8", errors="replace")
        return log

    try:
        log = await off_loop(keep_output)
    except OSError as exc:
        ctx.log(f"the run could not be added to the run ledger: {exc}")
        return
    script = script_in_command(command, cwd)
    await record_run(
        ctx, run_id, "command", command=command, cwd=cwd, args=command_args(command), script_path=script,
        script=str(script.relative_to(cwd.resolve())) if script else None, argv=["bash", "-c", command],
        status="timed_out" if timed_out else ("succeeded" if code == 0 else "failed"), running_s=seconds,
        log_path=str(log), exit_code=None if timed_out else code,
    )  # fmt: skip
