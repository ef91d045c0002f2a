"""Which environment variables count as secrets: every name below must stay out of what `bash` and
`jobs` run, while ordinary settings (and variables that merely look alike) still reach them."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from tools import bash as bash_module
from tools.base import ToolContext
from tools.jobs import registry
from tools.jobs import tool as jobs_tool

# name -> value: each value is unique, so finding it in a command's environment is a leak.
SECRETS = {
    "MY_API_KEYS": "leak-my-api-keys-1111",
    "OPENAI_API_KEY_BACKUP": "leak-key-backup-2222",
    "SECRET_KEY_BASE": "leak-secret-key-base-3333",
    "MYSQL_PWD": "leak-mysql-pwd-4444",
    "DB_PASS": "leak-db-pass-5555",
    "REDIS_URL": "redis://:leak-redis-pw-6666@cache.internal:6379/0",
    "SENTRY_DSN": "https://leak0sentry0key7777@o1.ingest.sentry.io/42",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/leak8888webhook",
    "AWS_ACCESS_KEY_ID": "AKIALEAK9999EXAMPLE0",
    "AWS_SECRET_ACCESS_KEY": "leak-aws-secret-0000",
    "PGPASSWORD": "leak-pgpassword-1212",
    "GITHUB_TOKEN": "leak-github-token-1313",
    "ODDLY_NAMED": "sk-ant-api03-leakleakleakleakleak1414",  # a key's shape gives it away whatever the name
}
KEPT = {
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",  # a flag, not a secret
    "KEEP_ME": "visible",
    "CACHE_URL": "redis://cache.internal:6379/0",  # a URL without a password
}


@pytest.fixture
def env(monkeypatch, tmp_path, tool_ctx):
    for name, value in {**SECRETS, **KEPT}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ML_INTERN_HOME", str(tmp_path / "home"))
    yield tool_ctx()
    for record in registry.all_records():
        if record.pid:
            try:
                os.killpg(record.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


async def _run(tool, ctx: ToolContext, **args) -> str:
    return (await tool.handler(tool.args_model(**args), ctx)).content


def _assert_only_settings_passed(environment: str) -> None:
    leaked = [name for name, value in SECRETS.items() if value in environment]
    assert not leaked, f"passed on: {leaked}"
    for name, value in KEPT.items():
        assert f"{name}={value}" in environment


async def test_secret_variables_do_not_reach_bash(env):
    (bash,) = bash_module.tools(env.settings)
    _assert_only_settings_passed(await _run(bash, env, command="env"))


async def test_secret_variables_do_not_reach_jobs(env):
    (jobs,) = jobs_tool.tools(env.settings)
    started = await _run(jobs, env, operation="run", command="env")
    job_id = started.split("Started job ", 1)[1].split()[0]
    deadline = time.monotonic() + 20
    while registry.live_status(registry.find(job_id)[1]) not in registry.TERMINAL:
        assert time.monotonic() < deadline, "the job never finished"
        await asyncio.sleep(0.05)
    _assert_only_settings_passed(registry.log_path(registry.job_dir(job_id)).read_text())
