"""The chat's rendering, drawn in process into terminals that behave like the user's (no pty needed)."""

from __future__ import annotations

import pytest
from fakes.reflow_terminal import ReflowTerminal
from rich.console import Console

from cli.chat_render import ChatRenderer
from core.events import AssistantChunk, AssistantMessage

SENTENCE = "The streamed paragraph keeps growing while the window is made narrower. "


def _draw_a_resize(monkeypatch, terminal_env: dict[str, str], draw_before_sigwinch: bool = False) -> str:
    for var in ("TMUX", "XTERM_VERSION"):
        monkeypatch.delenv(var, raising=False)
    for var, value in terminal_env.items():
        monkeypatch.setenv(var, value)
    term = ReflowTerminal(120)
    console = Console(file=term, force_terminal=True, color_system=None, width=120, height=24)  # type: ignore[arg-type]
    renderer = ChatRenderer(console, auto_refresh=False)
    renderer.begin()
    renderer.handle(AssistantChunk(content="Intro line.\n\n" + SENTENCE * 3))  # the second block is still open
    renderer.live.refresh()
    renderer.live.refresh()
    term.resize(60)  # the user drags the window narrower: the terminal re-wraps, then SIGWINCH
    console.size = (60, 24)
    if draw_before_sigwinch:  # rich's refresh thread draws before the chat's loop gets to the signal
        renderer.handle(AssistantChunk(content="More words. "))
        renderer.live.refresh()
    renderer.resized(60)
    renderer.handle(AssistantChunk(content="The end."))
    renderer.live.refresh()
    renderer.handle(AssistantMessage(content=""))
    renderer.end()
    return term.text()


def test_a_resize_during_a_stream_leaves_no_copy_of_the_live_block(monkeypatch):
    screen = _draw_a_resize(monkeypatch, {"TMUX": "/tmp/tmux-0/default,1,0"})
    assert screen.count("Intro line.") == 1
    assert screen.count("The streamed paragraph keeps") == 3  # the three sentences, once each
    assert "thinking…" not in screen and "working…" not in screen and "Ctrl-C to stop" not in screen
    assert screen.rstrip().endswith("The end.")


def test_a_draw_between_the_resize_and_its_sigwinch_leaves_no_copy_either(monkeypatch):
    screen = _draw_a_resize(monkeypatch, {"TMUX": "/tmp/tmux-0/default,1,0"}, draw_before_sigwinch=True)
    assert screen.count("Intro line.") == 1
    assert screen.count("The streamed paragraph keeps") == 3
    assert "thinking…" not in screen and "working…" not in screen and "Ctrl-C to stop" not in screen
    assert " ".join(screen.split()).endswith("made narrower. More words. The end.")


@pytest.mark.parametrize("rows", [24])
def test_the_live_frame_never_outgrows_the_screen(rows):
    """A frame taller than the screen scrolls its first rows away, where no redraw can erase them."""
    term = ReflowTerminal(80)
    console = Console(file=term, force_terminal=True, color_system=None, width=80, height=rows)  # type: ignore[arg-type]
    renderer = ChatRenderer(console, auto_refresh=False)
    renderer.begin()
    renderer.handle(AssistantChunk(content="\n".join(f"- item {i}" for i in range(60))))  # one long open block
    renderer.live.refresh()
    assert 0 < len(renderer.frame_widths) < rows
    assert max(renderer.frame_widths) < 80  # nothing reaches the last column (no pending wrap)
    renderer.end()
