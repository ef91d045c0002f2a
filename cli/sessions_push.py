"""`ml-intern sessions push`: share a session's redacted trace in a PRIVATE Hugging Face dataset repo.

Nothing leaves the machine unless the user runs this command. What is uploaded is exactly the
trace `sessions export` writes (core/redact.py: token patterns and the literal values of the secrets
this process holds). The repo is
created private; an existing repo that is not private is refused rather than leaking the trace.
The token goes only to the configured endpoint (endpoints.hf_endpoint in the config, else HF_ENDPOINT).
"""

from __future__ import annotations

from typing import Any

from cli import exit_codes
from cli.bootstrap import UserError

DEFAULT_REPO_NAME = "ml-intern-sessions"


def require_token() -> str:
    """The HF token (HF_TOKEN, else `hf auth login`), or the one line saying how to provide one."""
    from tools.hub.auth import LOGIN_HINT, hf_token

    token = hf_token()
    if not token:
        raise UserError(f"pushing a session needs a Hugging Face token: {LOGIN_HINT}")
    return token


def _hub_failure(exc: Exception, repo_id: str, endpoint: str) -> UserError:
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError

    from tools.hub.errors import hub_error_message

    if isinstance(exc, HFValidationError):
        return UserError(f"--repo '{repo_id}' is not a valid repo id: use user/name or org/name")
    status = exc.response.status_code if isinstance(exc, HfHubHTTPError) and exc.response is not None else None
    if status == 401:
        return UserError(
            f"the Hub at {endpoint} rejected your token (401 Unauthorized): set HF_TOKEN to a valid "
            "token or run `hf auth login`"
        )
    if status == 403:
        return UserError(
            f"the Hub refused to write to {repo_id} (403 Forbidden): use a token with write access "
            "to that namespace (fine-grained tokens need the repo write permission), or pass another "
            "--repo"
        )
    return UserError(hub_error_message(exc, f"Pushing the session to {repo_id}"), exit_codes.AGENT_ERROR)


def push_trace(text: str, session_id: str, repo: str | None, settings: Any, token: str) -> str:
    """Upload the trace to `repo` (default <user>/ml-intern-sessions) as sessions/<id>.jsonl; its URL."""
    from tools.hub.auth import hf_endpoint, hub_api

    endpoint = hf_endpoint(settings)
    api = hub_api(settings, token)
    repo_id = repo or DEFAULT_REPO_NAME
    path = f"sessions/{session_id}.jsonl"
    try:
        if "/" not in repo_id:
            repo_id = f"{api.whoami()['name']}/{repo_id}"
        api.create_repo(repo_id, repo_type="dataset", private=True, exist_ok=True)
        if api.repo_info(repo_id, repo_type="dataset").private is not True:
            raise UserError(
                f"{repo_id} is not a private dataset: session traces only go to private repos (make it "
                "private in its settings on the Hub, or pass another --repo)"
            )
        api.upload_file(
            path_or_fileobj=text.encode(),
            path_in_repo=path,
            repo_id=repo_id,
            repo_type="dataset",
            commit_message=f"ml-intern session {session_id}",
        )
    except UserError:
        raise
    except Exception as exc:
        raise _hub_failure(exc, repo_id, endpoint) from None
    return f"{endpoint}/datasets/{repo_id}/blob/main/{path}"
