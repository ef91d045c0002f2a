"""GitHub tools: find example code, list an owner's repositories, read a file (notebooks as cells).

The REST API base is endpoints.github_api_url in the config, env GITHUB_API_URL, default
https://api.github.com. GITHUB_TOKEN is optional (code search needs it; it also raises the rate
limit) and is sent only to that API origin - never the HF token. Rate limits (403/429 with
x-ratelimit-remaining: 0) are reported with the reset time.
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, Field

from configs.schema import AgentConfig
from core import credentials
from tools.base import Risk, Tool, ToolContext, ToolError
from tools.endpoints import configured, endpoints
from tools.notebook import render_notebook
from tools.output import human_size, one_line
from tools.web.fetch import Fetched, fetch

DEFAULT_API = "https://api.github.com"
READ_CHARS = 20_000


def api_base(settings: AgentConfig | None) -> str:
    return configured(endpoints(settings).github_api_url, "GITHUB_API_URL", DEFAULT_API)


def _github_token() -> str | None:
    return credentials.get("GITHUB_TOKEN")


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def _rate_limit_line(resp: Fetched) -> str | None:
    headers = resp.headers
    if resp.status not in (403, 429):
        return None
    hint = "" if _github_token() else " Set GITHUB_TOKEN for a higher limit."
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit():
        reset = int(headers["x-ratelimit-reset"])
        when = time.strftime("%H:%M:%S UTC", time.gmtime(reset))
        wait = max(0, reset - int(time.time()))
        limit = headers.get("x-ratelimit-limit")
        return (
            f"GitHub rate limit reached{f' ({limit} requests/hour)' if limit else ''}: it resets at {when} "
            f"(in {wait // 60} min {wait % 60} s).{hint}"
        )
    if headers.get("retry-after", "").isdigit():
        return f"GitHub secondary rate limit: retry in {headers['retry-after']} s.{hint}"
    return None


async def _get(
    settings: AgentConfig, path: str, params: dict[str, Any] | None = None, accept: str | None = None, what: str = ""
) -> Fetched:
    base = api_base(settings)
    token = _github_token()
    resp = await fetch(
        f"{base}{path}",
        params=params,
        headers={"Accept": accept or "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
        token_for=lambda url: token if token and _same_origin(url, base) else None,
        timeout=30,
    )
    if resp.ok:
        return resp
    limited = _rate_limit_line(resp)
    if limited:
        raise ToolError(limited)
    detail = resp.error_detail()
    if resp.status == 401:
        if token:
            raise ToolError(f"GitHub rejected GITHUB_TOKEN (401: {detail or 'bad credentials'}): fix or unset it.")
        raise ToolError(f"GitHub needs a token for this (401: {detail}): set GITHUB_TOKEN.")
    if resp.status == 404:
        private = "" if token else " (private repos need GITHUB_TOKEN)"
        raise ToolError(f"Not found on GitHub: {what or path}{private}.")
    if resp.status == 422:
        raise ToolError(f"GitHub rejected the request (422): {detail or 'invalid query'}.")
    raise ToolError(f"GitHub error {resp.status} for {what or path}: {detail or 'no details'}.")


# -- find examples ------------------------------------------------------------------------------
class FindExamplesArgs(BaseModel):
    query: str = Field(description="What to find, e.g. 'DPOTrainer peft LoraConfig' or 'GRPO reward function'.")
    language: str | None = Field("python", description="Programming language filter; null for any.")
    repo: str | None = Field(None, description="Search inside one repository 'owner/name' (e.g. huggingface/trl).")
    kind: Literal["code", "repositories"] = Field("code", description="Search code (needs GITHUB_TOKEN) or repos.")
    limit: int = Field(10, ge=1, le=30)


async def _find(args: FindExamplesArgs, ctx: ToolContext) -> str:
    qualifiers = [f"language:{args.language}" if args.language else "", f"repo:{args.repo}" if args.repo else ""]
    query = " ".join([args.query, *[q for q in qualifiers if q]])
    note = ""
    kind = args.kind
    if kind == "code" and not _github_token():
        kind, note = "repositories", "(code search needs GITHUB_TOKEN; showing repositories instead)\n"
        query = " ".join([args.query, f"language:{args.language}" if args.language else ""]).strip()
    if kind == "code":
        resp = await _get(
            ctx.settings,
            "/search/code",
            {"q": query, "per_page": args.limit},
            accept="application/vnd.github.text-match+json",
            what=f"code search '{query}'",
        )
        data = resp.json()
        items = data.get("items", [])
        if not items:
            return f"No code found for '{query}'."
        out = [f"{data.get('total_count', len(items)):,} code results for '{query}' (top {len(items)}):"]
        for item in items:
            repo = item.get("repository", {}).get("full_name", "?")
            out.append(f"{repo}: {item.get('path')} - {item.get('html_url', '')}")
            for match in (item.get("text_matches") or [])[:2]:
                out.append("    " + one_line(match.get("fragment", ""), 240))
        out.append("Read a file with github_read_file(repo, path).")
        return "\n".join(out)
    resp = await _get(
        ctx.settings,
        "/search/repositories",
        {"q": query, "sort": "stars", "order": "desc", "per_page": args.limit},
        what=f"repository search '{query}'",
    )
    items = resp.json().get("items", [])
    if not items:
        return note + f"No repositories found for '{query}'."
    return note + f"Repositories for '{query}' (by stars):\n" + "\n".join(_repo_line(r) for r in items)


def _repo_line(repo: dict[str, Any]) -> str:
    desc = one_line(repo.get("description") or "", 160)
    updated = (repo.get("pushed_at") or repo.get("updated_at") or "")[:10]
    facts = ", ".join(x for x in (repo.get("language") or "", f"updated {updated}" if updated else "") if x)
    archived = " [archived]" if repo.get("archived") else ""
    return f"{repo.get('full_name')} ★{repo.get('stargazers_count', 0):,}{archived} - {desc}" + (
        f" ({facts})" if facts else ""
    )


# -- list repos ---------------------------------------------------------------------------------
class ListReposArgs(BaseModel):
    owner: str = Field(description="GitHub user or organization, e.g. 'huggingface'.")
    sort: Literal["updated", "stars", "name"] = "updated"
    limit: int = Field(30, ge=1, le=100)


async def _list(args: ListReposArgs, ctx: ToolContext) -> str:
    owner = args.owner.strip().strip("/")
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})", owner):
        raise ToolError(f"'{args.owner}' is not a GitHub user or organization name.")
    params = {
        "per_page": 100 if args.sort == "stars" else args.limit,
        "sort": {"updated": "pushed", "stars": "pushed", "name": "full_name"}[args.sort],
        "type": "owner",
    }
    resp = await _get(ctx.settings, f"/users/{quote(owner)}/repos", params, what=f"user or org '{owner}'")
    repos = resp.json()
    if args.sort == "stars":
        repos.sort(key=lambda r: -r.get("stargazers_count", 0))
    repos = repos[: args.limit]
    if not repos:
        return f"{owner} has no public repositories."
    return f"Repositories of {owner} (by {args.sort}, {len(repos)} shown):\n" + "\n".join(_repo_line(r) for r in repos)


# -- read a file --------------------------------------------------------------------------------
class ReadFileArgs(BaseModel):
    repo: str = Field(description="'owner/name', or a github.com URL of the file (then path/ref are taken from it).")
    path: str = Field("", description="File or folder path in the repo.")
    ref: str | None = Field(None, description="Branch, tag or commit. Default: the repo's default branch.")
    offset: int = Field(0, ge=0, description="Character offset for long files.")


def _parse_target(args: ReadFileArgs) -> tuple[str, str, str | None]:
    match = re.match(r"https?://github\.com/([^/]+/[^/]+)(?:/(?:blob|tree)/([^/]+)(?:/(.*))?)?", args.repo.strip())
    if match:
        return match.group(1), (match.group(3) or args.path).strip("/"), match.group(2) or args.ref
    if not re.fullmatch(r"[^/\s]+/[^/\s]+", args.repo.strip()):
        raise ToolError(f"repo '{args.repo}' should be 'owner/name' or a github.com URL.")
    return args.repo.strip(), args.path.strip("/"), args.ref


async def _read(args: ReadFileArgs, ctx: ToolContext) -> str:
    repo, path, ref = _parse_target(args)
    resp = await _get(
        ctx.settings,
        f"/repos/{repo}/contents/{quote(path)}",
        {"ref": ref},
        accept="application/vnd.github.raw+json",
        what=f"{repo}/{path}" + (f"@{ref}" if ref else ""),
    )
    if "json" in resp.headers.get("content-type", "") and resp.text.lstrip().startswith("["):
        entries = sorted(resp.json(), key=lambda e: (e.get("type") != "dir", e.get("name", "")))
        lines = [
            f"{e['name']}/" if e.get("type") == "dir" else f"{e['name']}  {human_size(e.get('size'))}" for e in entries
        ]
        return f"{repo}/{path or ''} ({len(entries)} entries):\n" + "\n".join(lines)
    if b"\x00" in resp.content[:8192]:
        return f"{repo}/{path} is a binary file ({human_size(len(resp.content))}): not shown."
    text = resp.text
    if path.endswith(".ipynb"):
        text = render_notebook(text)
    if args.offset >= len(text) > 0:
        return f"Offset {args.offset} is past the end of {repo}/{path} ({len(text):,} characters)."
    end = min(len(text), args.offset + READ_CHARS)
    head = f"[{repo}/{path}, characters {args.offset:,}-{end:,} of {len(text):,}]\n" if args.offset else ""
    more = f"\n[... {len(text) - end:,} more characters; call again with offset={end}]" if end < len(text) else ""
    return head + text[args.offset : end] + more


def tools(settings: AgentConfig | None) -> list[Tool]:
    return [
        Tool(
            name="github_find_examples",
            description=(
                "Find real example code on GitHub for a library or task (e.g. how others configure SFTTrainer "
                "with LoRA). kind='code' searches code (needs GITHUB_TOKEN), kind='repositories' finds projects; "
                "narrow with language or repo ('huggingface/trl'). Read hits with github_read_file."
            ),
            risk=Risk.READ_ONLY,
            handler=_find,
            args_model=FindExamplesArgs,
        ),
        Tool(
            name="github_list_repos",
            description="List a GitHub user's or organization's repositories (by recent activity, stars or name).",
            risk=Risk.READ_ONLY,
            handler=_list,
            args_model=ListReposArgs,
        ),
        Tool(
            name="github_read_file",
            description=(
                "Read a file (or list a folder) from a GitHub repository; notebooks come back as cells. Accepts "
                "'owner/name' + path (+ ref) or a github.com URL. Long files: continue with offset."
            ),
            risk=Risk.READ_ONLY,
            handler=_read,
            args_model=ReadFileArgs,
        ),
    ]
