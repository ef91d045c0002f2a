"""`ml-intern watch`: wake the sessions that wait for a job (wait_for_job) and continue them with its result.

Everything it needs is on disk (the session's waiting.json, the job registry and logs), so a watcher killed
and started again, or started after the agent's own process is long gone, picks up where the last one was.
Each wake-up runs the session's next turn as `ml-intern --resume ID "<the job's result>"` would.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from cli import exit_codes


def _say(line: str) -> None:
    print(f"ml-intern watch: {line}", file=sys.stderr, flush=True)


def watch_cmd(
    session: Annotated[str | None, typer.Argument(help="Only this session (an id or a unique prefix).")] = None,
    once: Annotated[bool, typer.Option("--once", help="Check every waiting job once, then exit.")] = False,
    config: Annotated[str | None, typer.Option(help="Config file.")] = None,
) -> None:
    """Wait for the jobs sessions wait for and continue each session when its job ends (or stalls, logs a NaN
    loss or runs out of memory). Exits when no session waits any more."""
    from configs.loader import ConfigError, load_config
    from core.paths import ml_intern_home
    from tools.runs import waiting

    try:
        settings = load_config(config)
    except ConfigError as e:
        _say(str(e))
        raise typer.Exit(exit_codes.USAGE) from None
    home = ml_intern_home()
    due: dict[str, float] = {}
    announced: set[str] = set()
    while True:
        pending = [(sid, w) for sid, w in waiting.waiting_sessions(home) if session is None or sid.startswith(session)]
        if not pending:
            _say("no session is waiting for a job" if not announced else "no session waits any more")
            return
        for sid, wait in pending:
            if sid not in announced:
                announced.add(sid)
                _say(f"session {sid} waits for job {wait.job_id} ({wait.kind})")
            if time.monotonic() < due.get(sid, 0.0):
                continue
            wake = check_job(wait, settings)
            folder = home / "sessions" / sid
            if wake is None:
                wait.polls += 1
                waiting.save(folder, wait)
                due[sid] = time.monotonic() + waiting.next_delay(wait, settings.watch.poll_s, settings.watch.max_poll_s)
                continue
            if wake.final:
                waiting.clear(folder)
            else:
                waiting.save(folder, wait)  # the problem is reported once; the wait goes on
            _say(f"session {sid}: {wake.message.splitlines()[0]}")
            if not _continue(sid, wake.message, config):
                waiting.save(folder, wait)  # busy or failed: try again at the next check
                due[sid] = time.monotonic() + settings.watch.max_poll_s
        if once:
            return
        soonest = min((due.get(sid, 0.0) for sid, _ in pending), default=0.0)
        time.sleep(min(settings.watch.max_poll_s, max(settings.watch.poll_s / 4, soonest - time.monotonic(), 0.05)))


def check_job(wait, settings):
    """Check a waited-for job once (tools/runs/waiting.py); a Hugging Face Job costs one request."""
    from tools.runs import waiting

    if wait.kind == "local":
        return waiting.check_local(wait, settings.watch.stall_s)
    from tools.hub.auth import hub_api, require_token

    try:
        api = hub_api(settings, require_token("Hugging Face Jobs"))
        kwargs = {"namespace": wait.namespace} if wait.namespace else {}
        job = api.inspect_job(job_id=wait.job_id, **kwargs)
        lines = None
        if str(job.status.stage) not in waiting.HF_TERMINAL:  # its log so far: NaN, OOM, or silence
            lines = list(api.fetch_job_logs(job_id=wait.job_id, **kwargs))
    except Exception as e:  # the network or the Hub: try again after the backoff
        _say(f"could not check Hugging Face Job {wait.job_id}: {e}")
        return None
    from tools.hub.jobs import FREE_TIER

    paid = str(job.flavor) != FREE_TIER  # (as hf_jobs' approval sees it)
    return waiting.check_hf(wait, job, lines, settings.watch.stall_s, paid=paid)


def _continue(session_id: str, message: str, config: str | None) -> bool:
    """Run the session's next turn with the job's result as its prompt (as `--resume ID PROMPT` does)."""
    from cli.bootstrap import RunOptions
    from cli.headless import run_headless

    code = run_headless(RunOptions(prompt=message, resume=session_id, config=config))
    if code == exit_codes.USAGE:
        _say(f"session {session_id} could not be continued now (see above); trying again later")
        return False
    return True
