"""hf_repo_files: list, read, upload and delete files in a Hub repo (model, dataset or Space).

Reads fetch only the requested byte range, so peeking at a 10 GB checkpoint costs one small request.
Uploads take files or folders from the workspace only and leave the machine, so they are asked for
in ask mode (risk EXEC); deletes are DESTRUCTIVE. Both can open a pull request instead of
committing to the branch (create_pr).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from tools.base import Assessment, Risk, Tool, ToolContext, ToolError
from tools.hub.auth import hf_endpoint, hf_token, hub_api, require_token
from tools.hub.errors import hub_call
from tools.notebook import render_notebook
from tools.output import cap_lines, human_size
from tools.workspace_paths import display_path, resolve_path

MAX_LISTED = 300
DEFAULT_READ_BYTES = 20_000
# Never shipped to the Hub from a workspace folder unless the model names them explicitly.
DEFAULT_IGNORE = [
    ".env",
    "*/.env",
    ".env.*",
    "*/.env.*",
    ".netrc",
    "*/.netrc",
    "id_rsa*",
    "*/id_rsa*",
    ".venv/",
    "*/.venv/",
    "__pycache__/",
    "*/__pycache__/",
    "*.pyc",
    ".git/",
    "*/.git/",
]

RepoType = Literal["model", "dataset", "space"]


class RepoFilesArgs(BaseModel):
    operation: Literal["list", "read", "upload", "delete"]
    repo_id: str = Field(description="'namespace/name', e.g. 'openai-community/gpt2'.")
    repo_type: RepoType = "model"
    revision: str | None = Field(None, description="Branch, tag, commit or 'refs/pr/N'. Default: main.")
    path: str | None = Field(
        None,
        description="list: folder in the repo (default root). read: file in the repo. "
        "upload: destination in the repo (default: the file's name, or the root for a folder).",
    )
    paths: list[str] | None = Field(None, description="delete: files, or folders ending with '/'.")
    local_path: str | None = Field(None, description="upload: file or folder in the workspace.")
    recursive: bool = Field(True, description="list: include sub-folders.")
    offset: int = Field(0, ge=0, description="read: byte offset to start at (for files larger than max_bytes).")
    max_bytes: int = Field(DEFAULT_READ_BYTES, gt=0, le=200_000, description="read: bytes to read.")
    commit_message: str | None = None
    create_pr: bool = Field(False, description="upload/delete: open a pull request instead of committing.")
    ignore_patterns: list[str] | None = Field(None, description="upload of a folder: extra glob patterns to skip.")


def _assess(args: dict[str, Any]) -> Assessment:
    op = args.get("operation")
    details = {
        k: args[k]
        for k in ("repo_id", "repo_type", "revision", "path", "paths", "local_path", "create_pr")
        if args.get(k) not in (None, [], False)
    }
    if op == "delete":
        return Assessment(Risk.DESTRUCTIVE, details=details)
    if op == "upload":  # leaves the machine: never auto-approved as a mere workspace write
        return Assessment(Risk.EXEC, details=details)
    return Assessment(Risk.READ_ONLY)


async def _list(args: RepoFilesArgs, settings: AgentConfig) -> str:
    from itertools import islice

    from huggingface_hub.hf_api import RepoFile

    api = hub_api(settings, hf_token())

    def fetch():
        items = api.list_repo_tree(
            args.repo_id,
            path_in_repo=args.path or None,
            recursive=args.recursive,
            revision=args.revision,
            repo_type=args.repo_type,
        )
        return list(islice(items, 10_000))

    entries = await hub_call(f"Listing {args.repo_id}", fetch)
    files = [e for e in entries if isinstance(e, RepoFile)]
    folders = [e for e in entries if not isinstance(e, RepoFile)]
    total = sum(f.size or 0 for f in files)
    lines = [
        f"{f.path}  {human_size(f.size)}{'  [LFS]' if getattr(f, 'lfs', None) else ''}"
        for f in sorted(files, key=lambda f: f.path)
    ]
    if not args.recursive:
        lines += [f"{d.path}/" for d in sorted(folders, key=lambda d: d.path)]
    where = f"/{args.path.strip('/')}" if args.path else ""
    head = (
        f"{args.repo_type} {args.repo_id}{where} @ {args.revision or 'main'}: {len(files)} files, "
        f"{len(folders)} folders, {human_size(total)} listed"
    )
    body = cap_lines(lines, MAX_LISTED, "entries", "list a sub-folder with path=... to see them")
    return f"{head}\n{body}" if lines else f"{head}\n(empty)"


def _decode(data: bytes) -> str | None:
    """Text, or None for binary data (a cut multi-byte character at either end is fine)."""
    if b"\x00" in data[:8192]:
        return None
    text = data.decode("utf-8", errors="replace")
    return None if text.count("\ufffd") > max(4, len(text) // 100) else text


def _total_size(headers: Any, status: int = 206) -> int | None:
    content_range = headers.get("content-range", "")
    if "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
        return int(content_range.rsplit("/", 1)[1])
    length = headers.get("content-length", "")
    return int(length) if status == 200 and length.isdigit() else None


async def _read(args: RepoFilesArgs, settings: AgentConfig) -> str:
    if not args.path:
        raise ToolError("read needs path: the file inside the repo, e.g. 'config.json'.")
    path = args.path
    token = hf_token()
    endpoint = hf_endpoint(settings)

    def fetch() -> tuple[bytes, int | None]:
        from huggingface_hub import hf_hub_url
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        url = hf_hub_url(args.repo_id, path, repo_type=args.repo_type, revision=args.revision, endpoint=endpoint)
        headers = build_hf_headers(token=token or False)
        headers["Range"] = f"bytes={args.offset}-{args.offset + args.max_bytes - 1}"
        headers["Accept-Encoding"] = "identity"
        # Redirects to a CDN are followed by huggingface_hub's client, which drops the token across origins.
        with get_session().stream("GET", url, headers=headers) as resp:
            if resp.status_code == 416:  # offset past the end
                return b"", _total_size(resp.headers)
            hf_raise_for_status(resp)
            skip = args.offset if resp.status_code == 200 else 0  # 200: the server ignored the Range header
            want = skip + args.max_bytes
            data = bytearray()
            for chunk in resp.iter_bytes():
                data.extend(chunk)
                if len(data) >= want:
                    break
            return bytes(data[skip:want]), _total_size(resp.headers, resp.status_code)

    data, total = await hub_call(f"Reading {args.path} from {args.repo_id}", fetch)
    if total is not None and args.offset >= total > 0:
        return f"{args.path}: offset {args.offset} is past the end of the file ({total:,} bytes)."
    end = args.offset + len(data)
    text = _decode(data)
    if text is None:
        return (
            f"{args.path} is a binary file ({human_size(total)}): not shown. Download it in a job or script "
            "with huggingface_hub.hf_hub_download if you need it."
        )
    complete = args.offset == 0 and (total is None or end >= total)
    if complete and args.path.endswith(".ipynb"):
        text = render_notebook(text)
    if total is not None and end < total:
        text += f"\n[... showed bytes {args.offset:,}-{end:,} of {total:,}; call read with offset={end} for more]"
    elif args.offset:
        text = f"[bytes {args.offset:,}-{end:,} of {total if total is not None else '?'}]\n" + text
    return text


def _links_leading_out(folder: Path, ctx: ToolContext) -> list[str]:
    """Paths (relative to folder) of symlinks inside it that resolve outside the workspace: never uploaded."""
    out = []
    for path in folder.rglob("*"):
        if path.is_symlink():
            try:
                resolve_path(str(path), ctx.workspace, ctx.settings)
            except ToolError:
                rel = path.relative_to(folder).as_posix()
                out += [rel, f"{rel}/*"]  # a file link, or everything under a folder link
    return out


async def _upload(args: RepoFilesArgs, ctx: ToolContext) -> str:
    if not args.local_path:
        raise ToolError("upload needs local_path: a file or folder in the workspace.")
    local = resolve_path(args.local_path, ctx.workspace, ctx.settings)
    if not local.exists():
        raise ToolError(f"upload: {args.local_path} does not exist in the workspace.")
    token = require_token("Uploading to the Hub")
    api = hub_api(ctx.settings, token)
    shown = display_path(local, ctx.workspace)
    message = args.commit_message or f"Upload {shown} with ml-intern"
    if local.is_dir():
        escaping = _links_leading_out(local, ctx)
        info = await hub_call(
            f"Uploading {shown} to {args.repo_id}",
            api.upload_folder,
            repo_id=args.repo_id,
            folder_path=local,
            path_in_repo=(args.path or "").strip("/") or None,
            repo_type=args.repo_type,
            revision=args.revision,
            commit_message=message,
            create_pr=args.create_pr,
            ignore_patterns=DEFAULT_IGNORE + list(args.ignore_patterns or []) + escaping,
        )
    else:
        info = await hub_call(
            f"Uploading {shown} to {args.repo_id}",
            api.upload_file,
            path_or_fileobj=str(local),
            path_in_repo=(args.path or local.name).strip("/"),
            repo_id=args.repo_id,
            repo_type=args.repo_type,
            revision=args.revision,
            commit_message=message,
            create_pr=args.create_pr,
        )
    if args.create_pr:
        return f"Uploaded {shown} to {args.repo_id} in pull request {info.pr_url} (revision {info.pr_revision})."
    return f"Uploaded {shown} to {args.repo_id} ({args.revision or 'main'}): {info.commit_url}"


async def _delete(args: RepoFilesArgs, ctx: ToolContext) -> str:
    targets = list(args.paths or ([] if args.path is None else [args.path]))
    if not targets:
        raise ToolError("delete needs paths: files, or folders ending with '/'.")
    token = require_token("Deleting from the Hub")
    from huggingface_hub import CommitOperationDelete

    api = hub_api(ctx.settings, token)
    ops = [CommitOperationDelete(path_in_repo=p.lstrip("/")) for p in targets]
    info = await hub_call(
        f"Deleting {', '.join(targets)} from {args.repo_id}",
        api.create_commit,
        repo_id=args.repo_id,
        operations=ops,
        commit_message=args.commit_message or f"Delete {', '.join(targets)} with ml-intern",
        repo_type=args.repo_type,
        revision=args.revision,
        create_pr=args.create_pr,
    )
    if args.create_pr:
        return f"Opened pull request {info.pr_url} deleting {', '.join(targets)}."
    return f"Deleted {', '.join(targets)} from {args.repo_id}: {info.commit_url}"


async def _run(args: RepoFilesArgs, ctx: ToolContext) -> str:
    if args.operation == "list":
        return await _list(args, ctx.settings)
    if args.operation == "read":
        return await _read(args, ctx.settings)
    if args.operation == "upload":
        return await _upload(args, ctx)
    return await _delete(args, ctx)


def tools(settings: AgentConfig | None) -> list[Tool]:
    return [
        Tool(
            name="hf_repo_files",
            description=(
                "Files of a Hugging Face Hub repo (model, dataset or Space). operation: list (files with sizes), "
                "read (a text file, max_bytes at a time from offset; notebooks as cells), upload (a file or folder "
                "from the workspace to path in the repo; .env, .venv and caches are skipped), delete (paths; "
                "folders end with '/'). upload/delete can open a pull request with create_pr=true; push more files "
                "to that PR with revision='refs/pr/N'."
            ),
            risk=Risk.DESTRUCTIVE,  # the worst case; assess() gives the risk of each call
            handler=_run,
            args_model=RepoFilesArgs,
            assess=_assess,
        )
    ]
