"""The set-up screen, drawn in process at the width of a narrow terminal."""

from __future__ import annotations

from rich.console import Console

from cli.first_run import first_run_screen
from models.factory import KEYED_PROVIDERS, LOCAL_SERVERS


def test_the_setup_screen_keeps_every_name_and_url_whole_at_60_columns():
    console = Console(record=True, width=60, color_system=None)
    first_run_screen(console, "~/.config/ml-intern/config.json")
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 60
    wanted = [f"export {var}=..." for var in KEYED_PROVIDERS.values()]
    wanted += [var for var, _ in LOCAL_SERVERS.values()] + [url for _, url in LOCAL_SERVERS.values()]
    wanted.append("ml-intern example tiny-classifier")
    for piece in wanted:
        assert any(piece in line for line in lines), piece  # on one line: not cut, not wrapped apart
