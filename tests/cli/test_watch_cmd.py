"""`ml-intern watch` on a Hugging Face Job (the fake Hub): checked with backoff, woken when it completes."""

from __future__ import annotations

from cli.watch_cmd import check_job
from tools.runs import waiting

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture


async def test_a_hugging_face_job_is_polled_with_backoff_until_it_completes(hf_env):
    from tools.hub import jobs

    hf_env.hub.next_job_ids.append("job-wait")
    (tool,) = jobs.tools(None)
    await tool.handler(jobs.HfJobsArgs(operation="run", script="print(1)"), hf_env.ctx())
    hf_env.hub.finish_after_polls["job-wait"] = 3  # running at the first two inspections, COMPLETED at the third

    wait = waiting.Waiting("job-wait", "hf_job", namespace="alice")
    delays = []
    while (wake := check_job(wait, hf_env.settings)) is None:
        wait.polls += 1
        delays.append(waiting.next_delay(wait, base_s=2, max_s=5))
    assert delays == [4, 5]  # doubling from the base, capped
    assert wake.final and wake.message.startswith("[ml-intern watch] Hugging Face Job job-wait finished: COMPLETED")
    assert len(hf_env.hub.seen("GET", r"^/api/jobs/alice/job-wait$")) == 3


async def test_a_nan_loss_on_paid_hardware_wakes_the_session_to_ask_about_cancelling(hf_env):
    from tools.hub import jobs

    hf_env.hub.next_job_ids.append("job-nan")
    (tool,) = jobs.tools(None)
    args = jobs.HfJobsArgs(operation="run", script="print(1)", flavor="a10g-small", timeout="1h")
    await tool.handler(args, hf_env.ctx())
    hf_env.hub.job_logs["job-nan"] = ["step 10 loss 2.31", "step 20 loss nan"]

    wait = waiting.Waiting("job-nan", "hf_job", namespace="alice")
    wake = check_job(wait, hf_env.settings)
    assert wake is not None and wake.reason == "nan_loss" and not wake.final
    assert "a NaN loss in its log (step 20 loss nan)" in wake.message
    assert "paid hardware: ask the user whether to cancel it" in wake.message
    assert check_job(wait, hf_env.settings) is None  # reported once; the job goes on
