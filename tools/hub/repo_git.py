"""hf_repo_git: branches, tags, pull requests and repo creation/settings on the Hub.

Risk per call: listing is READ_ONLY; creating a branch, tag, PR or comment, and creating a repo are
remote writes (EXEC, asked in ask mode); merging, deleting and making a repo public cannot be taken
back by /undo (DESTRUCTIVE).
"""

from __future__ import annotations

from itertools import islice
from typing import Any, Literal

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from tools.base import Assessment, Risk, Tool, ToolContext, ToolError
from tools.hub.auth import hf_token, hub_api, require_token
from tools.hub.errors import hub_call

Operation = Literal[
    "list_refs",
    "list_prs",
    "create_branch",
    "delete_branch",
    "create_tag",
    "delete_tag",
    "create_pr",
    "comment_pr",
    "merge_pr",
    "close_pr",
    "create_repo",
    "update_repo",
]
READS = {"list_refs", "list_prs"}
DESTRUCTIVE = {"delete_branch", "delete_tag", "merge_pr"}
MAX_PRS = 50


class RepoGitArgs(BaseModel):
    operation: Operation
    repo_id: str = Field(description="'namespace/name'. For create_repo, the namespace is your user or an org.")
    repo_type: Literal["model", "dataset", "space"] = "model"
    branch: str | None = Field(None, description="create_branch/delete_branch.")
    tag: str | None = Field(None, description="create_tag/delete_tag.")
    revision: str | None = Field(None, description="create_branch: starting point; create_tag: what to tag.")
    pr_number: int | None = Field(None, gt=0, description="comment_pr/merge_pr/close_pr.")
    title: str | None = Field(None, description="create_pr: title.")
    message: str | None = Field(None, description="PR description, comment, tag message, or merge/close comment.")
    status: Literal["open", "closed", "all"] = Field("open", description="list_prs: which PRs.")
    private: bool | None = Field(None, description="create_repo/update_repo: visibility.")
    gated: Literal["auto", "manual", "off"] | None = Field(None, description="update_repo: access requests.")
    space_sdk: Literal["gradio", "docker", "static"] | None = Field(None, description="create_repo of a Space.")
    exist_ok: bool = Field(False, description="create_repo/create_branch: no error if it already exists.")


def _assess(args: dict[str, Any]) -> Assessment:
    op = args.get("operation")
    details = {k: v for k, v in args.items() if v not in (None, False, "") and k != "operation"}
    if op in READS:
        return Assessment(Risk.READ_ONLY)
    if op in DESTRUCTIVE or (op == "update_repo" and args.get("private") is False):
        return Assessment(Risk.DESTRUCTIVE, details=details)
    return Assessment(Risk.EXEC, details=details)


def _need(value: Any, name: str, op: str) -> Any:
    if value in (None, ""):
        raise ToolError(f"{op} needs {name}.")
    return value


async def _list_refs(args: RepoGitArgs, api: Any) -> str:
    refs = await hub_call(
        f"Listing refs of {args.repo_id}",
        api.list_repo_refs,
        args.repo_id,
        repo_type=args.repo_type,
        include_pull_requests=True,
    )
    lines = ["branches: " + (", ".join(f"{b.name} ({b.target_commit[:8]})" for b in refs.branches) or "none")]
    lines.append("tags: " + (", ".join(f"{t.name} ({t.target_commit[:8]})" for t in refs.tags) or "none"))
    if refs.pull_requests:
        lines.append("PR refs: " + ", ".join(p.ref for p in refs.pull_requests[:MAX_PRS]))
    return f"{args.repo_type} {args.repo_id}\n" + "\n".join(lines)


async def _list_prs(args: RepoGitArgs, api: Any) -> str:
    status = None if args.status == "all" else args.status

    def fetch():
        items = api.get_repo_discussions(
            args.repo_id, repo_type=args.repo_type, discussion_type="pull_request", discussion_status=status
        )
        return list(islice(items, MAX_PRS + 1))

    prs = await hub_call(f"Listing pull requests of {args.repo_id}", fetch)
    if not prs:
        return f"No {'' if status is None else status + ' '}pull requests on {args.repo_id}."
    lines = [f"#{p.num} [{p.status}] {p.title} (by {p.author}, {p.created_at:%Y-%m-%d}) {p.url}" for p in prs[:MAX_PRS]]
    if len(prs) > MAX_PRS:
        lines.append(f"[... more than {MAX_PRS} pull requests; the newest are shown - use status to narrow]")
    return "\n".join(lines)


async def _run(args: RepoGitArgs, ctx: ToolContext) -> str:
    op, repo, kind = args.operation, args.repo_id, args.repo_type
    if op in READS:
        api = hub_api(ctx.settings, hf_token())
        return await (_list_refs(args, api) if op == "list_refs" else _list_prs(args, api))
    api = hub_api(ctx.settings, require_token(f"{op} on {repo}"))
    action = f"{op} on {repo}"
    if op == "create_branch":
        branch = _need(args.branch, "branch", op)
        await hub_call(
            action,
            api.create_branch,
            repo,
            branch=branch,
            revision=args.revision,
            repo_type=kind,
            exist_ok=args.exist_ok,
        )
        return f"Created branch {branch} on {repo} from {args.revision or 'main'}."
    if op == "delete_branch":
        branch = _need(args.branch, "branch", op)
        await hub_call(action, api.delete_branch, repo, branch=branch, repo_type=kind)
        return f"Deleted branch {branch} of {repo}."
    if op == "create_tag":
        tag = _need(args.tag, "tag", op)
        await hub_call(
            action, api.create_tag, repo, tag=tag, tag_message=args.message, revision=args.revision, repo_type=kind
        )
        return f"Tagged {args.revision or 'main'} of {repo} as {tag}."
    if op == "delete_tag":
        tag = _need(args.tag, "tag", op)
        await hub_call(action, api.delete_tag, repo, tag=tag, repo_type=kind)
        return f"Deleted tag {tag} of {repo}."
    if op == "create_pr":
        pr = await hub_call(
            action,
            api.create_pull_request,
            repo,
            _need(args.title, "title", op),
            description=args.message,
            repo_type=kind,
        )
        return (
            f"Opened pull request #{pr.num} on {repo}: {pr.url}\nPush files to it with hf_repo_files "
            f"upload revision='{pr.git_reference}'."
        )
    if op == "comment_pr":
        num = _need(args.pr_number, "pr_number", op)
        await hub_call(action, api.comment_discussion, repo, num, _need(args.message, "message", op), repo_type=kind)
        return f"Commented on #{num} of {repo}."
    if op == "merge_pr":
        num = _need(args.pr_number, "pr_number", op)
        await hub_call(action, api.merge_pull_request, repo, num, comment=args.message, repo_type=kind)
        return f"Merged pull request #{num} into {repo}."
    if op == "close_pr":
        num = _need(args.pr_number, "pr_number", op)
        await hub_call(action, api.change_discussion_status, repo, num, "closed", comment=args.message, repo_type=kind)
        return f"Closed pull request #{num} of {repo}."
    if op == "create_repo":
        if kind == "space" and not args.space_sdk:
            raise ToolError("create_repo of a Space needs space_sdk: gradio, docker or static.")
        url = await hub_call(
            action,
            api.create_repo,
            repo,
            private=args.private,
            repo_type=kind,
            exist_ok=args.exist_ok,
            space_sdk=args.space_sdk,
        )
        visibility = "private" if args.private else "public"
        return f"Created {visibility} {kind} repo {url.repo_id}: {url}"
    # update_repo
    if args.private is None and args.gated is None:
        raise ToolError("update_repo needs private and/or gated.")
    gated = False if args.gated == "off" else args.gated
    await hub_call(action, api.update_repo_settings, repo, private=args.private, gated=gated, repo_type=kind)
    changes = []
    if args.private is not None:
        changes.append("private" if args.private else "public")
    if args.gated is not None:
        changes.append(f"gated={args.gated}")
    return f"Updated {repo}: {', '.join(changes)}."


def tools(settings: AgentConfig | None) -> list[Tool]:
    return [
        Tool(
            name="hf_repo_git",
            description=(
                "Git-level work on a Hugging Face Hub repo. operation: list_refs (branches, tags), list_prs, "
                "create_branch / delete_branch, create_tag / delete_tag, create_pr (an empty PR; then upload "
                "files to revision 'refs/pr/N' with hf_repo_files), comment_pr, merge_pr, close_pr, create_repo "
                "(private=true for a private repo; Spaces need space_sdk), update_repo (private, gated)."
            ),
            risk=Risk.DESTRUCTIVE,  # the worst case; assess() gives the risk of each call
            handler=_run,
            args_model=RepoGitArgs,
            assess=_assess,
        )
    ]
