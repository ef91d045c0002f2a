"""`ml-intern runs reproduce ID`: start a local run again from its ledger record, as the jobs tool would (same
argv, folder, variables, dependencies and timeout, in the same command sandbox), and record the new run as
reproducing the old one. The code is compared first: a script that changed since is said, not hidden."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from tools.runs.ledger import RunRecord


class ReproduceError(Exception):
    """Why a run cannot be started again; one line naming what to do."""


async def reproduce(record: RunRecord) -> list[str]:
    from configs.loader import ConfigError, load_config
    from tools.jobs import local, registry
    from tools.runs import ledger
    from tools.runs.code import git_state, sha256_text
    from tools.sandbox.local import SandboxUnavailable, for_settings

    if record.kind == "hf_job" or not record.argv:
        raise ReproduceError(
            f"run {record.id} ran on Hugging Face Jobs: ask the agent to submit it again (`runs show {record.id}` "
            "has its command and hardware); reproduce starts local runs"
        )
    cwd = Path(record.cwd)
    if not cwd.is_dir():
        raise ReproduceError(f"the folder of run {record.id}, {cwd}, no longer exists: nothing to run it in")
    try:
        settings = load_config()
        sandbox = for_settings(settings)
    except (ConfigError, SandboxUnavailable) as e:
        raise ReproduceError(str(e)) from None
    notes = []
    script = cwd / record.script if record.script else None
    if script is not None and record.code_sha256:
        now = sha256_text(script.read_text(errors="replace")) if script.is_file() else None
        if now != record.code_sha256:
            notes.append(f"note: {record.script} changed since run {record.id} (it runs as it is now)")

    def confine(job_dir: Path) -> list[str]:
        return sandbox.command([], workspace=cwd, settings=settings, tmp=job_dir / "tmp")

    directory, job = await local.start_job(
        argv=list(record.argv),
        display=record.command,
        cwd=cwd,
        env=sandbox.env(settings, dict(record.env)),
        confine=confine if sandbox.confined else None,
        timeout_s=record.timeout_s,
        dependencies=list(record.dependencies),
        session=record.session,
    )
    commit, diff = git_state(cwd)
    code = sha256_text(script.read_text(errors="replace")) if script is not None and script.is_file() else None
    ledger.save(
        dataclasses.replace(
            record, id=job.id, created_at=time.time(), reproduces=record.id, git_commit=commit, diff_sha256=diff,
            code_sha256=code or record.code_sha256,
        )
    )  # fmt: skip
    status = registry.live_status(job)
    return [
        *notes,
        f"started run {job.id} (reproduces {record.id}): {record.command} [{status}]",
        f"log: {registry.log_path(directory)}; see it with ml-intern runs show {job.id}",
    ]
