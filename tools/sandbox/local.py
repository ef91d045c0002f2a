"""Which backend runs the session's commands on this machine, and how a command line is wrapped for it.

`sandbox.backend`: `auto` (the default) uses bubblewrap when it works here and otherwise runs unconfined
with one warning (`fallback_warning`, shown by the CLI at start-up; `ml-intern doctor` says how to enable
it); `bubblewrap` insists (a session refuses to start without it); `local` runs commands as the user's
own shell would. bash, jobs and MCP stdio servers all ask `for_settings` and run what `command` returns.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tools.sandbox import bwrap
from tools.sandbox.env import command_env

Kind = Literal["bubblewrap", "local"]


class SandboxUnavailable(Exception):
    """`sandbox.backend` is bubblewrap but bubblewrap does not work here; the message names the fix."""


def _config(settings: Any) -> Any:
    return getattr(settings, "sandbox", None)


@dataclass(frozen=True)
class CommandSandbox:
    """Where commands run: `kind` bubblewrap (confined) or local (unconfined)."""

    kind: Kind
    binary: str | None = None
    network: bool = True

    @property
    def confined(self) -> bool:
        return self.kind == "bubblewrap"

    def env(self, settings: Any, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The command's whole environment (and bwrap's own: its PID 1 shows it)."""
        return command_env(settings, extra, sandboxed=self.confined)

    def command(
        self,
        argv: Sequence[str],
        *,
        workspace: Path,
        settings: Any,
        cwd: Path | None = None,
        tmp: Path | None = None,
        die_with_parent: bool = True,
        visible: Sequence[Path] = (),
    ) -> list[str]:
        """`argv` as it must be started: unchanged when local, inside bubblewrap otherwise.

        `visible`: paths the command needs to read even where the sandbox replaces their folder (/tmp, caches)."""
        if not self.confined:
            return list(argv)
        assert self.binary is not None
        allowed = getattr(getattr(settings, "workspace", None), "allowed_paths", None) or []
        mounts = bwrap.layout(self.binary, workspace, allowed, network=self.network)
        if visible:
            mounts = dataclasses.replace(mounts, visible=tuple(Path(p).absolute() for p in visible))
        if tmp is not None:
            tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
        return bwrap.wrap(mounts, argv, (cwd or workspace).resolve(), tmp, die_with_parent=die_with_parent)

    def describe(self) -> str:
        if not self.confined:
            return "local (unconfined: commands run with your user's rights)"
        net = "network on" if self.network else "no network"
        return f"bubblewrap (writes only to the workspace, own PID namespace, {net})"


def for_settings(settings: Any) -> CommandSandbox:
    """The backend the settings ask for, as it works on this machine (the probe is cached per process)."""
    config = _config(settings)
    backend = getattr(config, "backend", "auto")
    if backend == "local":
        return CommandSandbox("local")
    found = bwrap.probe(getattr(config, "bwrap", "bwrap"))
    if found.ok:
        return CommandSandbox("bubblewrap", found.binary, bool(getattr(config, "network", True)))
    if backend == "bubblewrap":
        raise SandboxUnavailable(
            f"sandbox.backend is bubblewrap but {found.detail}: {found.fix}, or set sandbox.backend to auto or local"
        )
    return CommandSandbox("local")


def fallback_warning(settings: Any) -> str | None:
    """One line when `auto` could not use bubblewrap (None otherwise): commands then run unconfined."""
    config = _config(settings)
    if getattr(config, "backend", "auto") != "auto":
        return None
    found = bwrap.probe(getattr(config, "bwrap", "bwrap"))
    if found.ok:
        return None
    return (
        f"commands run unconfined ({found.detail}): to sandbox them, {found.fix}; `ml-intern doctor` checks it "
        "(set sandbox.backend to local to silence this)"
    )


def server_wrapper(
    settings: Any, workspace: Callable[[], Path]
) -> Callable[[list[str], Path | None], list[str]] | None:
    """For long-lived servers (MCP stdio): argv, cwd -> argv inside the sandbox, or None when unconfined.

    `workspace` is asked at each start: a resumed session may work in another folder. /tmp is a tmpfs."""
    sandbox = for_settings(settings)
    if not sandbox.confined:
        return None

    def wrap(argv: list[str], cwd: Path | None) -> list[str]:
        # the server's own files stay readable wherever they live: a script with its folder (Python imports
        # its neighbours from there), a folder it is given
        paths = [Path(a) for a in argv[1:] if os.path.isabs(a) and os.path.exists(a)]
        visible = [p if p.is_dir() else p.parent for p in paths]
        return sandbox.command(argv, workspace=workspace(), settings=settings, cwd=cwd, visible=visible)

    return wrap
