"""Opening files the model names: regular files only, and bytes that survive a round trip.

A FIFO blocks open() until a writer comes, a socket cannot be opened at all, a device may never end:
the file tools open nothing but regular files. The type is checked with lstat before opening (so a
device is never even opened) and again with fstat on the descriptor, opened with O_NONBLOCK and
O_NOFOLLOW, so a file swapped in between cannot slip through.

Text is decoded with surrogateescape: every byte that is not UTF-8 becomes one lone surrogate and is
written back as the same byte. What the model sees shows each such byte as U+FFFD, one for one, so
offsets agree between the two and what the model copies from `read` still matches.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

from tools.base import ToolError

_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def not_regular(shown: str, mode: int) -> ToolError:
    kind = kind_of(mode)
    if stat.S_ISDIR(mode):
        return ToolError(f"{shown} is a directory, not a regular file: give a file path (glob lists files).")
    return ToolError(
        f"{shown} is {kind}, not a regular file: the file tools only open regular files "
        "(reading it could block forever)."
    )


def check_regular(path: Path, shown: str) -> os.stat_result | None:
    """lstat `path`: None when nothing is there, ToolError when it is not a regular file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ToolError(f"Cannot access {shown}: {exc.strerror or exc}.") from exc
    if not stat.S_ISREG(info.st_mode):
        raise not_regular(shown, info.st_mode)
    return info


def open_regular(path: Path, shown: str) -> tuple[BinaryIO, os.stat_result]:
    """A binary reader on a regular file, and its fstat; ToolError for anything else."""
    if check_regular(path, shown) is None:
        raise ToolError(f"File not found: {shown}. Use glob to find the right path.")
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise ToolError(f"File not found: {shown}. Use glob to find the right path.") from exc
    except OSError as exc:
        raise ToolError(f"Cannot open {shown}: {exc.strerror or exc}.") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise not_regular(shown, info.st_mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), info
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, shown: str) -> tuple[bytes, os.stat_result]:
    """The whole content of a regular file, and the fstat taken before reading it."""
    reader, info = open_regular(path, shown)
    with reader:
        try:
            return reader.read(), info
        except OSError as exc:
            raise ToolError(f"Cannot read {shown}: {exc.strerror or exc}.") from exc


def decode_exact(data: bytes) -> str:
    """Text that encode_exact turns back into exactly `data`."""
    return data.decode("utf-8", errors="surrogateescape")


def encode_exact(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


def shown_text(text: str) -> str:
    """decode_exact text as the model sees it: one U+FFFD per byte that is not UTF-8 (same length)."""
    return _ESCAPED_BYTE.sub("\ufffd", text)


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same folder, keeping the file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)  # umask applies to new files
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
