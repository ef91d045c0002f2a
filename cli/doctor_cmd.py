"""`ml-intern doctor`: one screen that checks what a user needs, each line ok or with the fix."""

from __future__ import annotations

import asyncio
import platform
import sqlite3
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

PACKAGES = [
    "langgraph",
    "langchain-core",
    "litellm",
    "langchain-litellm",
    "huggingface_hub",
    "mcp",
    "langchain-mcp-adapters",
    "typer",
    "rich",
]
PROVIDER_KEYS = {
    "Anthropic": "ANTHROPIC_API_KEY",
    "OpenAI": "OPENAI_API_KEY",
    "Hugging Face": "HF_TOKEN",
    "GitHub": "GITHUB_TOKEN",
}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warn: bool = False  # not fatal: reported, but the agent can work without it


def check_python() -> list[Check]:
    checks = [
        Check(
            "python",
            sys.version_info >= (3, 11),
            f"{platform.python_version()} ({sys.executable})",
            "use Python 3.11 or newer (uv run picks it from uv.lock)",
        )
    ]
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            checks.append(Check(f"package {name}", False, "not installed", "run `uv sync`"))
    checks.append(Check("packages", True, ", ".join(versions)))
    return checks


def check_providers() -> list[Check]:
    from core import credentials
    from models.factory import _hf_token

    checks = []
    for label, var in PROVIDER_KEYS.items():
        present = bool(credentials.get(var)) or (var == "HF_TOKEN" and bool(_hf_token()))
        checks.append(
            Check(
                f"{label} key",
                present,
                f"{var} is set" if present else f"{var} is not set",
                f"export {var}=... (or add it to ~/.config/ml-intern/.env)",
                warn=True,
            )
        )
    if not any(c.ok for c in checks[:3]):
        checks.append(
            Check(
                "providers",
                False,
                "no model provider key is set",
                "set ANTHROPIC_API_KEY, OPENAI_API_KEY or HF_TOKEN, run a local server, or use --model replay:FILE",
                warn=True,
            )
        )
    return checks


def check_hf_token(timeout: float = 3.0) -> Check:
    from models.factory import _hf_token

    token = _hf_token()
    if not token:
        return Check("HF token", False, "no token to check", "set HF_TOKEN or run `hf auth login`", warn=True)
    try:
        from huggingface_hub import HfApi

        who = HfApi(token=token).whoami()
        return Check("HF token", True, f"valid (user {who.get('name', '?')})")
    except Exception as e:  # offline, revoked, or the Hub is unreachable
        text = str(e).splitlines()[0][:120]
        if "401" in text or "Invalid" in text:
            return Check(
                "HF token",
                False,
                f"rejected by the Hub: {text}",
                "create a new token at https://huggingface.co/settings/tokens and set HF_TOKEN",
            )
        return Check("HF token", True, f"not verified (the Hub is unreachable: {type(e).__name__})", warn=True)


def check_database() -> Check:
    from persistence.database import database_url, describe_database, sqlite_path

    if database_url():
        return asyncio.run(_check_postgres())
    path = sqlite_path()
    if not path.exists():
        return Check("sessions database", True, f"{path} (not created yet)")
    size = path.stat().st_size
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            sessions = 0
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name='ml_intern_sessions'").fetchone():
                sessions = conn.execute("SELECT COUNT(*) FROM ml_intern_sessions").fetchone()[0]
    except sqlite3.DatabaseError as e:
        return Check(
            "sessions database",
            False,
            f"{describe_database()}: {e}",
            f"move {path} away (sessions in it are lost) or set ML_INTERN_HOME to another folder",
        )
    if result != "ok":
        return Check(
            "sessions database",
            False,
            f"{path}: integrity check failed ({result})",
            f"move {path} away or set ML_INTERN_HOME to another folder",
        )
    return Check("sessions database", True, f"{path} ({size / 1e6:.1f} MB, {sessions} sessions, integrity ok)")


async def _check_postgres() -> Check:
    from persistence.checkpointer import DatabaseError, open_saver
    from persistence.database import describe_database

    try:
        async with open_saver():
            pass
    except DatabaseError as e:
        return Check("sessions database", False, str(e), "start the server or fix ML_INTERN_DATABASE_URL")
    return Check("sessions database", True, f"{describe_database()} (reachable)")


def check_mcp(settings) -> list[Check]:
    if not settings.mcpServers:
        return [Check("MCP servers", True, "none configured")]
    from tools.mcp.manager import probe
    from tools.sandbox.local import SandboxUnavailable, server_wrapper

    try:  # as a session starts them: in the command sandbox (its own check says when that is missing)
        wrap = server_wrapper(settings, Path.cwd)
    except SandboxUnavailable:
        wrap = None
    return [
        Check(
            f"MCP {s.name}",
            s.state == "running",
            f"{s.transport}, {len(s.tools or [])} tools" if s.state == "running" else f"{s.state}: {s.error}",
            "fix its entry under mcpServers (see `ml-intern mcp list`)",
            warn=True,
        )
        for s in asyncio.run(probe(settings.mcpServers, startup_timeout=10, wrap=wrap))
    ]


def check_command_sandbox(settings) -> Check:
    """Which backend runs bash, jobs and MCP stdio servers, and how to get the sandbox when it is off."""
    from tools.sandbox import bwrap
    from tools.sandbox.local import SandboxUnavailable, for_settings

    config = settings.sandbox
    name = "command sandbox"
    try:
        active = for_settings(settings)
    except SandboxUnavailable:
        found = bwrap.probe(config.bwrap)
        return Check(name, False, f"sandbox.backend is bubblewrap but {found.detail}", found.fix)
    if active.confined:
        found = bwrap.probe(config.bwrap)
        return Check(name, True, f"{active.describe()}; {found.detail}")
    if config.backend == "local":
        fix = "set sandbox.backend to auto to confine commands with bubblewrap"
        return Check(name, False, "local: commands run unconfined (sandbox.backend is local)", fix, warn=True)
    found = bwrap.probe(config.bwrap)
    return Check(name, False, f"local: commands run unconfined ({found.detail})", found.fix, warn=True)


def check_sandbox_spaces() -> Check:
    """Sandbox Spaces this machine created and still has on record; orphans cost money until deleted."""
    from tools.sandbox import records

    found = records.all_records()
    if not found:
        return Check("sandbox Spaces", True, "none recorded")
    orphans = [r for r in found if records.state(r) == "orphan"]
    detail = f"{len(found)} recorded, {len(orphans)} orphaned: {', '.join(r.space_id for r in orphans[:3])}"
    if not orphans:
        return Check("sandbox Spaces", True, f"{len(found)} recorded, in use by running sessions")
    return Check("sandbox Spaces", False, detail, "ml-intern sandboxes delete --orphans", warn=True)


def check_local_servers() -> Check:
    from models.autodetect import detect_sync

    server = detect_sync()
    if server is None:
        return Check("local model server", True, "none found (Ollama, llama.cpp, vLLM, LM Studio)", warn=True)
    return Check("local model server", True, f"{server.provider} at {server.base_url} ({server.model_id})")


def check_workspace(workspace: Path) -> Check:
    try:
        with tempfile.NamedTemporaryFile(dir=workspace, prefix=".ml-intern-doctor-"):
            pass
    except OSError as e:
        return Check(
            "workspace",
            False,
            f"{workspace}: cannot write ({e.strerror})",
            "run from a folder you can write to, or pass --workspace DIR",
        )
    return Check("workspace", True, f"{workspace} (writable)")


def run_doctor(workspace: Path, config: str | None, online: bool) -> int:
    from rich.console import Console

    from configs.loader import ConfigError, load_config

    console = Console(highlight=False)
    checks = check_python()
    try:
        settings = load_config(config)
        checks.append(Check("config", True, f"model {settings.model_name}"))
    except ConfigError as e:
        settings = None
        checks.append(Check("config", False, str(e), "fix the key named above"))
    checks += check_providers()
    if online:
        checks.append(check_hf_token())
    checks.append(check_database())
    if settings is not None:
        checks.append(check_command_sandbox(settings))
        checks += check_mcp(settings)
    checks.append(check_sandbox_spaces())
    checks.append(check_local_servers())
    checks.append(check_workspace(workspace))

    failed = 0
    for c in checks:
        if c.ok:
            mark = "[green]ok  [/green]"
        elif c.warn:
            mark = "[yellow]warn[/yellow]"
        else:
            mark = "[red]FAIL[/red]"
            failed += 1
        console.print(f"{mark} {c.name:<22} {c.detail}", markup=True)
        if not c.ok and c.fix:
            console.print(f"     {'':<22} fix: {c.fix}")
    return 1 if failed else 0
