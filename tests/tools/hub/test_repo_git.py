"""hf_repo_git through the real HfApi against the local fake Hub."""

from __future__ import annotations

import pytest

from tools.base import Risk, ToolError
from tools.hub import repo_git

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture
TOOL = repo_git.tools(None)[0]


async def call(env, **kwargs):
    return await TOOL.handler(repo_git.RepoGitArgs(**kwargs), env.ctx())


async def test_branches_and_tags_round_trip(hf_env):
    repo = hf_env.hub.add_repo("alice/demo", {"a": "a"})
    assert "Created branch exp" in await call(hf_env, operation="create_branch", repo_id="alice/demo", branch="exp")
    assert "as v1.0" in await call(hf_env, operation="create_tag", repo_id="alice/demo", tag="v1.0", message="first")
    refs = await call(hf_env, operation="list_refs", repo_id="alice/demo")
    assert "branches: main" in refs and "exp (" in refs and "tags: v1.0" in refs
    await call(hf_env, operation="delete_branch", repo_id="alice/demo", branch="exp")
    await call(hf_env, operation="delete_tag", repo_id="alice/demo", tag="v1.0")
    assert set(repo.branches) == {"main"} and not repo.tags


async def test_existing_branch_is_a_conflict_unless_exist_ok(hf_env):
    hf_env.hub.add_repo("alice/demo", {})
    await call(hf_env, operation="create_branch", repo_id="alice/demo", branch="exp")
    with pytest.raises(ToolError, match="409"):
        await call(hf_env, operation="create_branch", repo_id="alice/demo", branch="exp")
    await call(hf_env, operation="create_branch", repo_id="alice/demo", branch="exp", exist_ok=True)


async def test_pull_request_lifecycle(hf_env):
    repo = hf_env.hub.add_repo("alice/demo", {"a.txt": "a"})
    out = await call(hf_env, operation="create_pr", repo_id="alice/demo", title="Add eval", message="numbers")
    assert "#1" in out and "refs/pr/1" in out and "/alice/demo/discussions/1" in out
    await call(hf_env, operation="create_pr", repo_id="alice/demo", title="Second")
    await call(hf_env, operation="comment_pr", repo_id="alice/demo", pr_number=1, message="looks good")

    listed = await call(hf_env, operation="list_prs", repo_id="alice/demo")
    assert "#1 [open] Add eval" in listed and "#2 [open] Second" in listed

    repo.pr_files[1]["eval.json"] = b"{}"
    assert "Merged" in await call(hf_env, operation="merge_pr", repo_id="alice/demo", pr_number=1)
    assert repo.files["eval.json"] == b"{}"
    await call(hf_env, operation="close_pr", repo_id="alice/demo", pr_number=2, message="superseded")
    assert await call(hf_env, operation="list_prs", repo_id="alice/demo") == "No open pull requests on alice/demo."
    everything = await call(hf_env, operation="list_prs", repo_id="alice/demo", status="all")
    assert "[merged]" in everything and "[closed]" in everything


async def test_create_and_update_repo(hf_env):
    out = await call(hf_env, operation="create_repo", repo_id="acme/new-model", private=True)
    assert "Created private model repo acme/new-model" in out
    repo = hf_env.hub.repos[("model", "acme/new-model")]
    assert repo.private
    await call(hf_env, operation="update_repo", repo_id="acme/new-model", private=False, gated="auto")
    assert not repo.private and repo.gated == "auto"
    with pytest.raises(ToolError, match="space_sdk"):
        await call(hf_env, operation="create_repo", repo_id="alice/app", repo_type="space")


async def test_creating_in_a_foreign_namespace_is_explained(hf_env):
    with pytest.raises(ToolError) as err:
        await call(hf_env, operation="create_repo", repo_id="bigcorp/model")
    message = str(err.value)
    assert "403" in message and "bigcorp" in message and "\n" not in message


async def test_missing_arguments_and_token(hf_env, monkeypatch):
    hf_env.hub.add_repo("alice/demo", {})
    with pytest.raises(ToolError, match="needs branch"):
        await call(hf_env, operation="create_branch", repo_id="alice/demo")
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(ToolError, match="set HF_TOKEN or run `hf auth login`"):
        await call(hf_env, operation="merge_pr", repo_id="alice/demo", pr_number=1)


def test_risk_per_operation():
    assert TOOL.assessment({"operation": "list_prs"}).risk == Risk.READ_ONLY
    assert TOOL.assessment({"operation": "create_repo", "repo_id": "a/b"}).risk == Risk.EXEC
    assert TOOL.assessment({"operation": "create_pr"}).risk == Risk.EXEC
    for op in ("merge_pr", "delete_branch", "delete_tag"):
        assert TOOL.assessment({"operation": op}).risk == Risk.DESTRUCTIVE
    assert TOOL.assessment({"operation": "update_repo", "private": False}).risk == Risk.DESTRUCTIVE
    assert TOOL.assessment({"operation": "update_repo", "private": True}).risk == Risk.EXEC


async def test_long_pr_lists_are_capped_with_a_note(hf_env):
    repo = hf_env.hub.add_repo("alice/busy", {})
    for i in range(70):
        hf_env.hub._open_discussion(repo, f"PR {i}", "", True)
    out = await call(hf_env, operation="list_prs", repo_id="alice/busy")
    assert out.count("\n#") == 49 and "#70 [open] PR 69" in out.splitlines()[0]
    assert out.endswith("use status to narrow]")
