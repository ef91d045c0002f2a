"""wait_for_job: end the turn waiting for a job; the session continues with the job's result when it ends.

The wait is written to the session's folder (tools/runs/waiting.py), so it outlives this process:
`ml-intern watch` (or the chat left open) wakes the session when the job finishes, stalls, logs a NaN
loss or runs out of memory.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from tools.base import Risk, Tool, ToolContext, ToolError
from tools.runs import waiting


class WaitArgs(BaseModel):
    job_id: str | None = Field(
        None, description="The job to wait for (from jobs or hf_jobs operation=run); local default: the last one."
    )
    backend: Literal["local", "hf_jobs"] = Field("local", description="local: the jobs tool; hf_jobs: Hugging Face.")
    namespace: str | None = Field(None, description="hf_jobs: the user or org that runs the job (default: you).")


async def _wait(args: WaitArgs, ctx: ToolContext) -> str:
    job_id = (args.job_id or "").strip()
    if args.backend == "local":
        from tools.jobs import registry

        found = registry.find(job_id) if job_id else registry.latest(ctx.session_dir.name)
        if found is None:
            raise ToolError(f"No local job '{job_id or '(none started in this session)'}': see jobs operation='ps'.")
        job_id = found[1].id
        if registry.live_status(found[1]) in registry.TERMINAL:
            raise ToolError(f"Job {job_id} has already ended: read its result with jobs operation='logs'.")
    elif not job_id:
        raise ToolError("hf_jobs: give job_id (from hf_jobs operation=run).")
    kind: waiting.WaitKind = "local" if args.backend == "local" else "hf_job"
    waiting.save(ctx.session_dir, waiting.Waiting(job_id, kind, namespace=args.namespace))
    return (
        f"Waiting for job {job_id}. End your turn now with one line saying what you wait for; this session "
        "continues with the job's result when it ends (or when it stalls, logs a NaN loss or runs out of memory)."
    )


def tools(settings: AgentConfig | None) -> list[Tool]:
    return [
        Tool(
            name="wait_for_job",
            description=(
                "Wait for a long job (local or Hugging Face) without polling: call it, then end your turn. The "
                "session is woken with the job's result when it finishes, or earlier if it stalls, logs a NaN "
                "loss or runs out of memory; it survives the agent restarting."
            ),
            risk=Risk.READ_ONLY,
            handler=_wait,
            args_model=WaitArgs,
        )
    ]
