"""A tiny terminal that re-wraps its lines when it gets narrower, as tmux, VTE, iTerm2 and kitty do.

Just enough of a VT100 for rich's live display and prompt_toolkit's prompt: text with auto-wrap, CR, LF, erase
in line and below (CSI K, J), cursor moves (CSI A B C D); other escape sequences (colours, modes) are skipped. No screen height: every row is
kept, so what a redraw left behind stays visible to the test. pyte cannot stand in: it cuts rows on resize.
"""

from __future__ import annotations

import re

_CSI = re.compile(r"\x1b\[([0-9;?]*)([@-~])")


class ReflowTerminal:
    def __init__(self, width: int):
        self.width = width
        self.rows: list[list[str]] = [[]]
        self.soft: list[bool] = [False]  # the row continues the line above (it was auto-wrapped)
        self.row, self.col = 0, 0

    # -- what a program writes ------------------------------------------------------------------

    def write(self, data: str) -> int:
        pos = 0
        while pos < len(data):
            match = _CSI.match(data, pos) if data[pos] == "\x1b" else None
            if match:
                self._csi(match.group(1), match.group(2))
                pos = match.end()
                continue
            ch = data[pos]
            pos += 1
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self._next_row(soft=False)
                self.col = 0
            elif ch >= " ":
                self._put(ch)
        return len(data)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    def _csi(self, params: str, final: str) -> None:
        n = int(params) if params.isdigit() else 1
        if final == "K":
            row = self.rows[self.row]
            self.rows[self.row] = [] if params == "2" else row[: self.col]
        elif final == "J" and params in ("", "0"):  # erase below (prompt_toolkit redraws with it)
            self.rows[self.row] = self.rows[self.row][: self.col]
            del self.rows[self.row + 1 :], self.soft[self.row + 1 :]
        elif final == "A":
            self.row = max(0, self.row - n)
        elif final == "B":
            for _ in range(n):
                self._next_row(soft=False)
        elif final == "C":
            self.col = min(self.col + n, self.width - 1)
        elif final == "D":
            self.col = max(self.col - n, 0)

    def _next_row(self, soft: bool) -> None:
        self.row += 1
        if self.row == len(self.rows):
            self.rows.append([])
            self.soft.append(soft)
        elif soft:
            self.soft[self.row] = True

    def _put(self, ch: str) -> None:
        if self.col >= self.width:  # auto-wrap: the line goes on in the next row
            self._next_row(soft=True)
            self.col = 0
        row = self.rows[self.row]
        row.extend(" " * (self.col + 1 - len(row)))
        row[self.col] = ch
        self.col += 1

    # -- the user resizes the window -------------------------------------------------------------

    def resize(self, width: int) -> None:
        """Join auto-wrapped rows into their lines and wrap them again at `width`; the cursor stays on its
        character."""
        lines: list[str] = []
        cursor_line, cursor_offset = 0, 0
        for i, row in enumerate(self.rows):
            text = "".join(row)
            if i and self.soft[i]:
                lines[-1] = lines[-1].ljust(self.width) + text
            else:
                lines.append(text)
            if i == self.row:
                cursor_line = len(lines) - 1
                cursor_offset = len(lines[-1]) - len(text) + self.col
        self.width = width
        self.rows, self.soft = [], []
        for n, line in enumerate(lines):
            line = line.rstrip()
            pieces = [line[i : i + width] for i in range(0, len(line), width)] or [""]
            if n == cursor_line:
                self.row = len(self.rows) + min(cursor_offset // width, len(pieces) - 1)
                self.col = cursor_offset - (self.row - len(self.rows)) * width
                if self.row - len(self.rows) == len(pieces) - 1 and cursor_offset // width >= len(pieces):
                    pieces.append("")
            for k, piece in enumerate(pieces):
                self.rows.append(list(piece))
                self.soft.append(k > 0)

    def text(self) -> str:
        return "\n".join("".join(row).rstrip() for row in self.rows)
