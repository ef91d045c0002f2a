"""`ml-intern sandboxes list|delete`: the sandbox Spaces this machine created, and deleting leftovers.

A sandbox is normally deleted by its session (at the end, or when idle) and, after a crash, by the next
session that starts; these commands are for looking and for cleaning up by hand (say, without network at
the next start).
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Annotated

import typer

from cli import exit_codes

sandboxes_app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    no_args_is_help=True,
    help="List the sandbox Spaces this machine created, or delete them.",
)


def _settings():
    from configs.loader import ConfigError, load_config

    try:
        return load_config()
    except ConfigError as e:
        print(f"ml-intern: {e}", file=sys.stderr)
        raise typer.Exit(exit_codes.USAGE) from None


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


@sandboxes_app.command(
    "list", help="Every sandbox Space recorded here: live, orphan (its session is gone) or elsewhere."
)
def list_cmd() -> None:
    from tools.sandbox import records

    found = records.all_records()
    if not found:
        print("no sandbox Spaces recorded on this machine")
        return
    now = time.time()
    print(f"{'SPACE':<44} {'STATE':<12} {'HARDWARE':<12} {'PRICE':>8} {'AGE':>7}  SESSION")
    for record in found:
        price = "free" if not record.price_per_hour else f"${record.price_per_hour:.2f}/h"
        state = records.state(record)
        if record.status == "delete_failed":
            state = "orphan (delete failed)"
        print(
            f"{record.space_id:<44} {state:<12} {record.hardware:<12} {price:>8} {_age(now - record.created_at):>7}  "
            f"{record.session}"
        )


@sandboxes_app.command("delete", help="Delete sandbox Spaces by id (or --orphans: every one whose session is gone).")
def delete_cmd(
    space_ids: Annotated[list[str] | None, typer.Argument(help="Space ids, as `sandboxes list` shows them.")] = None,
    orphans: Annotated[bool, typer.Option("--orphans", help="Delete every orphan.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Also delete one a running session still uses.")] = False,
) -> None:
    from tools.base import ToolError
    from tools.hub.auth import hf_endpoint
    from tools.sandbox import records, space

    settings = _settings()
    wanted = list(space_ids or [])
    if orphans:
        wanted += [r.space_id for r in records.orphans() if r.space_id not in wanted]
    if not wanted:
        print(
            "ml-intern: name the sandboxes to delete, or pass --orphans (see: ml-intern sandboxes list)",
            file=sys.stderr,
        )
        raise typer.Exit(exit_codes.USAGE if not orphans else 0)
    failed = False
    for space_id in wanted:
        record = records.load_or_none(space_id)
        if record is not None and records.state(record) == "live" and not force:
            print(
                f"ml-intern: {space_id} belongs to a running ml-intern (pid {record.owner_pid}): end that session, "
                "or pass --force",
                file=sys.stderr,
            )
            failed = True
            continue
        if record is not None and record.endpoint != hf_endpoint(settings):
            print(
                f"ml-intern: {space_id} lives on {record.endpoint}, not on {hf_endpoint(settings)}: set "
                f"HF_ENDPOINT={record.endpoint} to delete it",
                file=sys.stderr,
            )
            failed = True
            continue
        try:
            asyncio.run(space.delete(settings, space_id))
        except ToolError as e:
            print(f"ml-intern: {e}", file=sys.stderr)
            failed = True
            continue
        print(f"deleted {space_id}")
    raise typer.Exit(exit_codes.AGENT_ERROR if failed else 0)
