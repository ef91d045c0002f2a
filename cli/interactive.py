"""Interactive chat front end (placeholder until the terminal issue lands)."""

from __future__ import annotations

from cli import exit_codes
from cli.bootstrap import HeadlessOptions


def run_interactive(options: HeadlessOptions) -> int:
    import sys

    print("ml-intern: the interactive chat is not built yet; pass a PROMPT to run headless", file=sys.stderr)
    return exit_codes.USAGE
