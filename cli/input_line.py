"""The chat's input line (prompt_toolkit): editing, history kept across sessions, multi-line entry,
tab completion of slash commands and their arguments, and the terminal mode used while a turn runs.

Multi-line: Esc then Enter (or Alt+Enter) inserts a newline; so does a line ending in a backslash.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings

from core.paths import private_dir, private_file

PROMPT = FormattedText([("ansicyan bold", "› ")])
CONTINUATION = FormattedText([("ansibrightblack", "· ")])


class ChatCompleter(Completer):
    """Completes `/command` names, then the command's argument from `arguments(command)`."""

    def __init__(
        self, commands: Callable[[], Iterable[tuple[str, str]]], arguments: Callable[[str], Iterable[tuple[str, str]]]
    ):
        self.commands = commands
        self.arguments = arguments

    def get_completions(self, document, complete_event):
        text = document.text_before_cursor
        if not text.startswith("/") or "\n" in text:
            return
        if " " not in text:
            for name, meta in self.commands():
                if name.startswith(text):
                    yield Completion(name, start_position=-len(text), display_meta=meta)
            return
        command, _, rest = text.partition(" ")
        word = rest.lstrip()
        if " " in word:
            return
        for value, meta in self.arguments(command):
            if value.startswith(word) and value != word:
                yield Completion(value, start_position=-len(word), display_meta=meta)


def _bindings() -> KeyBindings:
    kb = KeyBindings()

    @kb.add("escape", "enter")
    def _newline(event) -> None:
        event.current_buffer.insert_text("\n")

    @kb.add("enter")
    def _enter(event) -> None:
        buffer = event.current_buffer
        if buffer.complete_state and buffer.complete_state.current_completion:
            buffer.apply_completion(buffer.complete_state.current_completion)
            return
        before = buffer.document.text_before_cursor
        if before.endswith("\\") and not buffer.document.text_after_cursor.strip():
            buffer.delete_before_cursor(1)
            buffer.insert_text("\n")
            return
        buffer.validate_and_handle()

    return kb


def _answer_bindings() -> KeyBindings:
    """Esc at a short question (an approval, a picker) is Ctrl-C: stop, as it is elsewhere."""
    kb = KeyBindings()

    @kb.add("escape")
    def _stop(event) -> None:
        event.app.exit(exception=KeyboardInterrupt())

    return kb


class InputLine:
    """One PromptSession for chat messages (file history) and one for short answers (no history)."""

    def __init__(self, history_file: Path, completer: Completer, footer: Callable[[], FormattedText] | None = None):
        private_dir(history_file.parent)  # $ML_INTERN_HOME: the user's alone, past messages too
        private_file(history_file)
        self.history = FileHistory(str(history_file))
        self.session: PromptSession = PromptSession(
            history=self.history,
            completer=completer,
            complete_while_typing=False,
            key_bindings=_bindings(),
            prompt_continuation=lambda width, line, wrap: CONTINUATION,
            enable_history_search=False,
            bottom_toolbar=footer,  # read at every redraw: it stays true after /yolo or /model
        )
        self.answers: PromptSession = PromptSession(history=InMemoryHistory(), key_bindings=_answer_bindings())

    async def read(self, default: str = "") -> str:
        """A chat message. Ctrl-C raises KeyboardInterrupt, Ctrl-D EOFError; text cleared by Ctrl-C is
        kept in the history (Up brings it back)."""
        try:
            return await self.session.prompt_async(PROMPT, default=default, handle_sigint=False)
        except KeyboardInterrupt:
            typed = self.session.default_buffer.text
            if typed.strip():
                self.history.append_string(typed)
            raise

    async def ask(self, question: str | FormattedText, password: bool = False) -> str:
        """A short answer (approval, picker, token). Ctrl-C raises KeyboardInterrupt, Ctrl-D EOFError."""
        if password:  # a fresh session: a secret never lands in any history
            return await PromptSession(history=InMemoryHistory()).prompt_async(
                question, is_password=True, handle_sigint=False
            )
        return await self.answers.prompt_async(question, handle_sigint=False)

    def abort(self) -> None:
        """End whatever prompt is open as if Ctrl-D was pressed (the chat is being closed)."""
        for session in (self.session, self.answers):
            app = session.app
            if app.is_running and not app.future.done():
                app.exit(exception=EOFError())


class TerminalModes:
    """Between prompts (while a turn runs, a command works...) the terminal is put in a quiet mode: no
    echo (it would garble the live display), no line editing by the tty (so keys typed ahead, Ctrl-D
    included, reach the next prompt as keys) and no flush of pending input on Ctrl-C (NOFLSH). Ctrl-C
    still raises SIGINT. prompt_toolkit switches to raw mode for each prompt and back to this after."""

    def __init__(self, stream=None):
        self.fd: int | None = None
        self.original: list | None = None
        try:
            import termios

            fd = (stream or sys.stdin).fileno()
            self.original = termios.tcgetattr(fd)
            self.fd = fd
        except Exception:  # not a terminal (or not POSIX): nothing to adjust
            pass

    def _set(self, attrs) -> None:
        import termios

        if self.fd is not None:
            termios.tcsetattr(self.fd, termios.TCSANOW, attrs)

    def quiet(self) -> None:
        if self.fd is None:
            return
        import termios

        attrs = [list(a) if isinstance(a, list) else a for a in self.original]
        attrs[3] = (attrs[3] & ~(termios.ECHO | termios.ICANON)) | termios.NOFLSH
        attrs[6][termios.VMIN], attrs[6][termios.VTIME] = 1, 0
        self._set(attrs)

    def restore(self) -> None:
        if self.original is not None:
            self._set(self.original)

    @contextmanager
    def normal(self):
        """The terminal as the user had it (for $EDITOR)."""
        self.restore()
        try:
            yield
        finally:
            self.quiet()
