"""hf_jobs through the real HfApi (run_uv_job, run_job, logs SSE, scheduled jobs) against the fake Hub."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tools.base import Risk, ToolError
from tools.hub import jobs

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture
TOOL = jobs.tools(None)[0]
UV_IMAGE = "ghcr.io/astral-sh/uv:python3.12-bookworm"
SCRIPT = """# /// script
# dependencies = ["pandas>=2"]
# ///
import sys
print("args", sys.argv[1:], __name__)
"""


async def call(env, **kwargs):
    return await TOOL.handler(jobs.HfJobsArgs(**kwargs), env.ctx())


@pytest.fixture(autouse=True)
def fast_polls_and_fresh_caches(hf_env, monkeypatch):
    hf_env.configure(hf_jobs_poll_s=0.01)
    monkeypatch.setattr(jobs, "_live_prices", {})
    monkeypatch.setattr(jobs, "_namespaces", {})


async def test_run_inline_script_submits_and_returns_at_once(hf_env):
    out = await call(
        hf_env,
        operation="run",
        script=SCRIPT,
        dependencies=["numpy"],
        script_args=["--lr", "1e-4"],
        secrets={"HF_TOKEN": "$HF_TOKEN"},
        timeout="2h",
    )
    job_id = next(iter(hf_env.hub.job_specs))
    assert f"Submitted job {job_id} on cpu-basic in alice (status SCHEDULING" in out
    assert f"URL: {hf_env.hub.url}/jobs/alice/{job_id}" in out
    spec = hf_env.hub.job_specs[job_id]
    assert spec["dockerImage"] == UV_IMAGE and spec["flavor"] == "cpu-basic" and spec["timeoutSeconds"] == 7200
    assert spec["command"] == [
        "uv",
        "run",
        "--with",
        "numpy",
        "--with",
        "pandas>=2",
        "python",
        "-c",
        jobs.BOOTSTRAP,
        "--lr",
        "1e-4",
    ]
    assert spec["environment"][jobs.SCRIPT_ENV] == SCRIPT
    assert spec["secrets"] == {"HF_TOKEN": hf_env.hub.token}  # resolved locally, never written in the conversation
    assert hf_env.hub.jobs[job_id]["status"]["stage"] == "SCHEDULING"  # nobody waited for it


def test_bootstrap_runs_the_script_as_main_with_its_arguments():
    env = {**os.environ, jobs.SCRIPT_ENV: SCRIPT}
    done = subprocess.run(
        [sys.executable, "-c", jobs.BOOTSTRAP, "--lr", "1e-4"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.stdout.strip() == "args ['--lr', '1e-4'] __main__"


async def test_run_workspace_file_url_and_docker(hf_env):
    (hf_env.workspace / "train.py").write_text("print('train')\n")
    await call(hf_env, operation="run", script="train.py", flavor="a10g-small")
    await call(
        hf_env, operation="run", script="https://huggingface.co/datasets/x/y/resolve/main/eval.py", dependencies=["trl"]
    )
    await call(hf_env, operation="run", image="python:3.12", command=["python", "-c", "print(1)"])
    await call(hf_env, operation="run", image="alpine", command="nproc && free -m")
    file_spec, url_spec, docker_spec, shell_spec = hf_env.hub.job_specs.values()
    assert file_spec["environment"][jobs.SCRIPT_ENV] == "print('train')\n" and file_spec["flavor"] == "a10g-small"
    assert file_spec["labels"]["name"] == "train"
    assert url_spec["command"] == [
        "uv",
        "run",
        "--with",
        "trl",
        "https://huggingface.co/datasets/x/y/resolve/main/eval.py",
    ]
    assert jobs.SCRIPT_ENV not in url_spec["environment"]
    assert docker_spec["dockerImage"] == "python:3.12" and docker_spec["command"] == ["python", "-c", "print(1)"]
    assert shell_spec["command"] == ["sh", "-c", "nproc && free -m"]


async def test_bad_run_requests_fail_before_submitting(hf_env, monkeypatch):
    with pytest.raises(ToolError, match="script .* or image \\+ command"):
        await call(hf_env, operation="run", image="python:3.12")
    with pytest.raises(ToolError, match=r"\$NOPE is not set"):
        await call(hf_env, operation="run", script="print(1)", secrets={"KEY": "$NOPE"})
    with pytest.raises(ToolError, match="outside the workspace"):
        await call(hf_env, operation="run", script="../../etc/x.py")
    with pytest.raises(ToolError, match="local file"):
        await call(hf_env, operation="run", script="print(1)", script_args=["config.yaml"])
    with pytest.raises(ToolError, match="not a duration"):
        await call(hf_env, operation="run", script="print(1)", timeout="soon")
    assert not hf_env.hub.seen("POST", r"^/api/jobs/")
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(ToolError, match="set HF_TOKEN or run `hf auth login`"):
        await call(hf_env, operation="ps")


async def test_billing_and_namespace_errors_are_one_clear_line(hf_env):
    hf_env.hub.fail("POST", r"^/api/jobs/alice$", 402, "Payment required: no credits left")
    with pytest.raises(ToolError) as billing:
        await call(hf_env, operation="run", script="print(1)", flavor="a100-large")
    assert "402" in str(billing.value) and "settings/billing" in str(billing.value) and "\n" not in str(billing.value)

    with pytest.raises(ToolError) as forbidden:
        await call(hf_env, operation="run", script="print(1)", namespace="bigcorp")
    message = str(forbidden.value)
    assert "403" in message and "not a member of bigcorp" in message and "namespace" in message

    hf_env.hub.fail("POST", r"^/api/jobs/alice$", 400, "Invalid flavor: h900")
    with pytest.raises(ToolError, match="operation=hardware lists them"):
        await call(hf_env, operation="run", script="print(1)", flavor="h900")

    hf_env.hub.fail("POST", r"^/api/jobs/alice$", 403, "Missing scope job.write")
    with pytest.raises(ToolError, match="job write scope"):
        await call(hf_env, operation="run", script="print(1)")


async def test_ps_and_inspect(hf_env):
    hf_env.hub.add_job("jrun", "RUNNING")
    hf_env.hub.add_job("jdone", "COMPLETED")
    hf_env.hub.add_job("other", "RUNNING", namespace="bob")
    active = await call(hf_env, operation="ps")
    assert "jrun  RUNNING" in active and "jdone" not in active and "other" not in active
    assert "jdone  COMPLETED" in await call(hf_env, operation="ps", all=True)

    await call(hf_env, operation="run", script="print(1)", flavor="t4-small")
    job_id = list(hf_env.hub.job_specs)[-1]
    details = await call(hf_env, operation="inspect", job_id=job_id)
    assert f"Job {job_id}" in details and "hardware: t4-small" in details
    assert "<script, 8 chars>" in details and "print(1)" not in details
    with pytest.raises(ToolError, match="not found"):
        await call(hf_env, operation="inspect", job_id="nope")


async def test_logs_return_a_capped_tail_and_keep_the_full_log(hf_env):
    hf_env.hub.add_job("j1", "COMPLETED", logs=[f"step {i}" for i in range(500)])
    out = await call(hf_env, operation="logs", job_id="j1", tail=20)
    assert out.splitlines()[0].startswith("Job j1 [COMPLETED]: last 20 of 500 log lines (full log: s/hf_jobs/j1.log)")
    assert out.splitlines()[1] == "step 480" and out.splitlines()[-1] == "step 499"
    assert "Job started" not in out
    saved = (hf_env.workspace / "s" / "hf_jobs" / "j1.log").read_text().splitlines()
    assert len(saved) == 500 and saved[0] == "step 0"
    assert not hf_env.logs  # no streaming without follow


async def test_logs_follow_streams_new_lines_until_the_job_ends(hf_env):
    hf_env.hub.add_job("j2", "RUNNING", logs=["loading"])
    hf_env.hub.more_logs["j2"] = ["epoch 1", "epoch 2", "epoch 3"]
    hf_env.hub.finish_after_polls["j2"] = 3
    out = await call(hf_env, operation="logs", job_id="j2", follow=True, follow_timeout_s=30)
    assert "[COMPLETED]" in out
    assert hf_env.logs == ["loading", "epoch 1", "epoch 2", "epoch 3"]  # each line streamed once, in order


async def test_logs_follow_gives_up_after_its_timeout(hf_env):
    hf_env.hub.add_job("j3", "RUNNING", logs=["still going"])
    out = await call(hf_env, operation="logs", job_id="j3", follow=True, follow_timeout_s=1)
    assert "still RUNNING after following 1 s" in out and "still going" in out


async def test_cancel(hf_env):
    hf_env.hub.add_job("j4", "RUNNING")
    assert "Cancelled job j4" in await call(hf_env, operation="cancel", job_id="j4")
    assert hf_env.hub.jobs["j4"]["status"]["stage"] == "CANCELED"


async def test_hardware_lists_prices_and_feeds_cost_estimates(hf_env, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")  # public list
    out = await call(hf_env, operation="hardware")
    assert "a10g-small       $1.00/h  4 vCPU, 15 GB, 1x A10G 24 GB" in out
    assessment = TOOL.assessment({"operation": "run", "flavor": "a100-large", "timeout": "3h"})
    assert assessment.details["price_per_hour_usd"] == 2.5 and assessment.details["estimated_max_cost_usd"] == 7.5


async def test_scheduled_jobs_lifecycle(hf_env):
    out = await call(
        hf_env, operation="scheduled_run", script="print('nightly')", schedule="@daily", dependencies=["datasets"]
    )
    sid = next(iter(hf_env.hub.scheduled))
    assert f"Scheduled job {sid} (@daily)" in out
    spec = hf_env.hub.scheduled[sid]["jobSpec"]
    assert spec["command"][:4] == ["uv", "run", "--with", "datasets"]
    listed = await call(hf_env, operation="scheduled_ps")
    assert f"{sid}  @daily  active  cpu-basic" in listed and "<script>" in listed
    await call(hf_env, operation="scheduled_suspend", job_id=sid)
    assert hf_env.hub.scheduled[sid]["suspend"] is True
    await call(hf_env, operation="scheduled_resume", job_id=sid)
    assert hf_env.hub.scheduled[sid]["suspend"] is False
    await call(hf_env, operation="scheduled_delete", job_id=sid)
    assert not hf_env.hub.scheduled
    with pytest.raises(ToolError, match="needs schedule"):
        await call(hf_env, operation="scheduled_run", script="print(1)")


def test_approval_risk_and_cost():
    free = TOOL.assessment({"operation": "run", "flavor": "cpu-basic"})
    assert free.risk == Risk.REMOTE_COMPUTE and not free.always_ask
    gpu = TOOL.assessment(
        {"operation": "run", "flavor": "a10g-large", "timeout": "2h", "secrets": {"HF_TOKEN": "$HF_TOKEN"}}
    )
    assert gpu.risk == Risk.REMOTE_COMPUTE and gpu.always_ask
    assert gpu.details["estimated_max_cost_usd"] == 3.0 and gpu.details["secrets"] == ["HF_TOKEN"]
    assert TOOL.assessment({"operation": "run", "flavor": "cpu-upgrade"}).always_ask  # paid CPU asks too
    unknown = TOOL.assessment({"operation": "run", "flavor": "h100x8"})
    assert "unknown price" in unknown.details["estimated_max_cost_usd"]
    scheduled = TOOL.assessment({"operation": "scheduled_run", "flavor": "cpu-basic", "schedule": "@hourly"})
    assert scheduled.always_ask and scheduled.details["schedule"] == "@hourly"
    assert TOOL.assessment({"operation": "scheduled_resume", "job_id": "s"}).always_ask
    assert TOOL.assessment({"operation": "cancel", "job_id": "j"}).risk == Risk.DESTRUCTIVE
    for op in ("ps", "logs", "inspect", "hardware", "scheduled_ps"):
        assert TOOL.assessment({"operation": op}).risk == Risk.READ_ONLY
    assert TOOL.timeout_for({"operation": "logs", "follow": True, "follow_timeout_s": 600}, 60) >= 600


async def test_a_job_never_carries_off_the_agents_own_keys(hf_env, monkeypatch):
    from configs.schema import AgentConfig, BashConfig

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-" + "k" * 30)
    monkeypatch.setenv("WANDB_PROJECT", "demo")
    with pytest.raises(ToolError, match="own credentials"):
        await call(hf_env, operation="run", script=SCRIPT, secrets={"K": "$ANTHROPIC_API_KEY"})
    assert hf_env.hub.job_specs == {}
    await call(hf_env, operation="run", script=SCRIPT, secrets={"HF_TOKEN": "$HF_TOKEN", "P": "$WANDB_PROJECT"})
    assert next(iter(hf_env.hub.job_specs.values()))["secrets"]["P"] == "demo"
    # a run with secrets is always shown to the user, even on free hardware in yolo mode
    assert TOOL.assessment({"operation": "run", "secrets": {"HF_TOKEN": "$HF_TOKEN"}}).always_ask
    assert not TOOL.assessment({"operation": "run"}).always_ask
    # the user may opt in
    opted = jobs._secrets({"K": "$ANTHROPIC_API_KEY"}, AgentConfig(bash=BashConfig(pass_secrets=True)))
    assert opted["K"].startswith("sk-ant-")
