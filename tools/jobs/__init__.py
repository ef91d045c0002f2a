"""Local jobs: long-running commands (training, evaluation) that run detached from the agent.

Layout (one folder per job, under $ML_INTERN_HOME/jobs/<id>/, default ~/.ml-intern/jobs):
    job.json   the record (registry.JobRecord): status, argv, pids, exit code, times
    log.txt    stdout+stderr of the job
    cancel     present once a cancel was requested

Modules:
    registry  on-disk records, live status (a dead runner means "lost"), log tails
    runner    `python -m tools.jobs.runner <job dir>`: detaches, runs the job in its own process
              group, enforces the timeout and writes the final status, so the record is right even
              after the agent has exited
    local     start_job / cancel_job / detect_gpus: what the tool calls
    tool      the `jobs` tool: operation = run | ps | logs | inspect | cancel

A remote backend (the hf_jobs tool) can mirror the same operations: run returns an id at once,
ps lists, logs {job_id, tail, follow, follow_timeout_s} returns a capped tail (follow streams
tool_log lines), inspect returns the record, cancel stops it.
"""
