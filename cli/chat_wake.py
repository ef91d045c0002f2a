"""The chat left open wakes up by itself: while it waits for the user's next message, it also watches the job
the session waits for (wait_for_job, tools/runs/waiting.py) and, when the job ends or is in trouble, sends
its result as the next message. What the user had typed so far comes back in the next prompt."""

from __future__ import annotations

import asyncio
from typing import Any


class JobWake:
    def __init__(self, app: Any):
        self.app = app
        self.kept = ""  # text typed when a wake-up closed the prompt
        self.woken: str | None = None

    async def read(self, default: str = "") -> str:
        """The user's next message, or the wake-up message of the session's job, whichever comes first.

        The prompt is awaited here, not in a task: Ctrl-C at the prompt is a KeyboardInterrupt, which asyncio
        would re-raise out of the event loop from a task."""
        watcher = asyncio.ensure_future(self._close_on_wake())
        try:
            text = await self.app.input.read(self.kept or default)  # default: typed ahead, or the undone prompt
        finally:
            watcher.cancel()
        if self.woken is not None:
            message, self.woken = self.woken, None
            self.app.say(message.splitlines()[0], "cyan")
            return message
        self.kept = ""
        return text

    async def _close_on_wake(self) -> None:
        message = await self._wake()
        prompt = self.app.input.session
        self.woken, self.kept = message, prompt.default_buffer.text
        if prompt.app.is_running and not prompt.app.future.done():
            prompt.app.exit(result="")

    async def _wake(self) -> str:
        from configs.schema import AgentConfig
        from tools.runs import waiting

        while True:
            deps = self.app.deps
            settings = deps.settings if deps is not None else AgentConfig()
            session = self.app.session
            wait = waiting.load(session.dir) if session is not None else None
            if wait is None:
                await asyncio.sleep(settings.watch.poll_s)
                continue
            from cli.watch_cmd import check_job

            wake = await asyncio.to_thread(check_job, wait, settings)
            if wake is None:
                wait.polls += 1
                waiting.save(session.dir, wait)
                await asyncio.sleep(waiting.next_delay(wait, settings.watch.poll_s, settings.watch.max_poll_s))
                continue
            if wake.final:
                waiting.clear(session.dir)
            else:
                waiting.save(session.dir, wait)
            return wake.message
