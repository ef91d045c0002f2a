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

    async def read(self) -> str:
        """The user's next message, or the wake-up message of the session's job, whichever comes first."""
        reader = asyncio.ensure_future(self.app.input.read(self.kept))
        watcher = asyncio.ensure_future(self._wake())
        try:
            await asyncio.wait({reader, watcher}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            reader.cancel()
            watcher.cancel()
            raise
        if reader.done():
            watcher.cancel()
            self.kept = ""
            return reader.result()  # (or its KeyboardInterrupt / EOFError)
        prompt = self.app.input.session
        self.kept = prompt.default_buffer.text
        if prompt.app.is_running and not prompt.app.future.done():
            prompt.app.exit(result="")
        try:
            await reader
        except (KeyboardInterrupt, EOFError):
            pass
        message = watcher.result()
        self.app.say(message.splitlines()[0], "cyan")
        return message

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
