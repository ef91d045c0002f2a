"""Make this process's environment unreadable to its children: blank secrets in the initial block and
turn off same-user inspection.

Why in place: `/proc/<pid>/environ` shows the block the kernel laid out at exec (between `env_start`
and `env_end` in /proc/self/stat), not `os.environ`; `del os.environ[...]` (unsetenv) only drops a
pointer to it. So any child can read the agent's start-up keys through `/proc/$PPID/environ`. Two
ways out: re-exec without the keys (handing them over through a pipe), or overwrite the values in
that block. Overwriting is chosen. Measured here: blanking costs ~0.7 ms with the capture around it and
prctl ~2.6 ms (mostly importing ctypes, skipped for --help); a re-exec from `main` would pay a second
interpreter start (~11 ms) plus typer's import again (~57 ms), about doubling `--help`. Overwriting also
keeps the pid, argv and parent (shell job control, `uv run`), and works where we do not own the exec,
e.g. the Studio graph factory inside `langgraph dev`. The process writes its own memory through
/proc/self/mem (allowed for oneself, and done before the process turns non-dumpable), so a wrong
address is an OSError, never a crash. Values are zero-filled: `NAME=` stays visible, so a
reader can tell the key was set and removed (its length shows, its value does not).

`PR_SET_DUMPABLE 0` then stops a non-root process of the same user from reading our memory,
/proc/<pid>/environ or attaching a debugger (py-spy needs root after this). It does not stop root, and
the user's shell or a `uv run` wrapper above us still hold whatever they were started with.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

_PR_SET_DUMPABLE = 4


def _environ_bounds() -> tuple[int, int]:
    with open("/proc/self/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rfind(b")") + 2 :].split()  # fields from 3 (state) on; comm may hold spaces
    return int(fields[47]), int(fields[48])  # env_start (field 50), env_end (field 51)


def blank_initial_environ(is_secret: Callable[[str, str], bool]) -> list[str]:
    """Zero the value of every secret `NAME=value` in the block /proc/self/environ shows; returns the names.

    Raises OSError where /proc/self/mem cannot be written (not Linux, some sandboxes)."""
    start, end = _environ_bounds()
    fd = os.open("/proc/self/mem", os.O_RDWR)
    try:
        block = os.pread(fd, end - start, start)
        blanked, offset = [], 0
        for entry in block.split(b"\0"):
            name, eq, value = entry.partition(b"=")
            if eq and value and is_secret(name.decode(errors="replace"), value.decode(errors="replace")):
                os.pwrite(fd, b"\0" * len(value), start + offset + len(name) + 1)
                blanked.append(name.decode(errors="replace"))
            offset += len(entry) + 1
        return blanked
    finally:
        os.close(fd)


def forbid_inspection() -> bool:
    """prctl(PR_SET_DUMPABLE, 0): True when set (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
