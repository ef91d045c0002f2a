"""Keys typed while a turn runs: read from the terminal (which is in the quiet mode then, see
input_line.TerminalModes), echoed under the live region and put in the next prompt's input line.

Editing is minimal (Backspace, Ctrl-U, Ctrl-W); escape sequences (arrows...) are dropped. Ctrl-D is not
end-of-file here: it must not quit the chat when the turn ends, so it only says how to quit. Enter keeps
the text for the prompt (it is not sent on its own: the turn's result may change what you want to say).
"""

from __future__ import annotations

import asyncio
import codecs
import os

CTRL_D, CTRL_U, CTRL_W = "\x04", "\x15", "\x17"


class TypeAhead:
    def __init__(self, fd: int | None):
        self.fd = fd
        self.text = ""
        self.note = ""  # a one-line hint shown with the echo (e.g. after Ctrl-D)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._escape = ""  # an escape sequence being skipped
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        if self.fd is None or self._loop is not None:
            return
        try:
            loop = asyncio.get_running_loop()
            loop.add_reader(self.fd, self._read)
        except (OSError, ValueError, NotImplementedError, RuntimeError):
            return
        self._loop = loop

    def stop(self) -> None:
        if self._loop is not None and self.fd is not None:
            self._loop.remove_reader(self.fd)
        self._loop = None
        self.note = ""

    def take(self) -> str:
        """The text typed so far (for the next prompt); empties the buffer."""
        text, self.text = self.text, ""
        return text

    def _read(self) -> None:
        try:
            data = os.read(self.fd, 4096) if self.fd is not None else b""
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.stop()
            return
        if not data:  # the terminal is gone
            self.stop()
            return
        self.feed(self._decoder.decode(data))

    def feed(self, chars: str) -> None:
        for ch in chars:
            if self._escape:
                self._escape += ch
                if len(self._escape) == 2 and ch not in "[O":
                    self._escape = ""  # Alt+key: dropped
                elif len(self._escape) > 2 and "@" <= ch <= "~":
                    self._escape = ""
                continue
            if ch == "\x1b":
                self._escape = ch
            elif ch in ("\x7f", "\x08"):
                self.text = self.text[:-1]
            elif ch == CTRL_U:
                self.text = ""
            elif ch == CTRL_W:
                self.text = self.text.rstrip()
                self.text = self.text[: self.text.rfind(" ") + 1] if " " in self.text else ""
            elif ch == CTRL_D:
                self.note = "Ctrl-D quits at the prompt, not during a turn"
            elif ch in ("\r", "\n"):
                self.note = "kept for the prompt: press Enter there to send it"
            elif ch == "\t" or ch >= " ":
                self.text += ch
