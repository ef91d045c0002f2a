"""Long text (a tool's whole output, a call's full arguments) through $PAGER, so it never floods the
scrollback; text that fits on the screen is printed as is."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager

from rich.console import Console
from rich.text import Text


def pager_command() -> list[str]:
    configured = os.environ.get("PAGER", "").strip()
    if configured:
        return shlex.split(configured)
    return ["less", "-R"] if shutil.which("less") else ["more"]


async def show_long(text: str, console: Console, terminal: Callable[[], AbstractContextManager]) -> None:
    """Print `text` when it fits; otherwise hand it to the pager (with the terminal as the user set it up)."""
    if text.count("\n") + 1 <= max(console.height - 3, 5) or not sys.stdout.isatty():
        console.print(Text(text))
        return
    command = pager_command()
    env = {**os.environ, "LESS": os.environ.get("LESS", "FRX")}  # F: quit when it fits; R: keep colours
    try:
        with terminal():
            done = await asyncio.to_thread(
                subprocess.run, command, input=text, text=True, env=env, check=False, errors="replace"
            )
    except OSError as e:
        console.print(Text(f"cannot start the pager {' '.join(command)!r}: {e.strerror} (set PAGER)", style="red"))
        return
    if done.returncode not in (0, None):
        console.print(Text(f"the pager {' '.join(command)!r} exited with code {done.returncode}", style="dim"))
