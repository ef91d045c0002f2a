"""The sessions of every web user, driven by this server: who owns what, one driver per open session,
per-user limits, and letting idle sessions go.

A driver is a SessionManager of its own (the user's workspace, model and token in its AgentDeps) on the
server's shared saver and session store, plus the session's event log and its running turn. A turn takes
the session's lease when it starts and gives it up when it ends, so with PostgreSQL any replica can
continue any session, and two replicas never drive one session at once (the second gets a 409).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from configs.schema import AgentConfig
from core import credentials
from core.events import Error
from graph.session import Session, SessionManager
from nodes.context import AgentDeps
from persistence.session_lock import SessionBusy
from persistence.session_owners import SessionOwners
from persistence.session_store import SessionInfo, SessionStore
from web.history import export_jsonl, page_items
from web.identity import User
from web.turns import EventLog, run_turn

DAY_S = 86_400.0
LOCAL_COMMAND_TOOLS = ("bash", "jobs")  # what runs commands on the server itself


class WebError(Exception):
    """A request the app refuses: an HTTP status and one line saying why (and what to do)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


NOT_FOUND = "no such session"


@dataclass
class Driver:
    user: User
    manager: SessionManager
    session: Session
    log: EventLog
    task: asyncio.Task | None = None
    base: int = 0  # messages in the checkpoint when the running turn started
    last_used: float = field(default_factory=time.monotonic)
    # held while a request checks that nothing runs and starts something (two quick clicks start one turn)
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


class WebRuntime:
    def __init__(
        self, settings: AgentConfig, model_id: str, home: Path, saver: Any, store: SessionStore, local_commands: bool
    ):
        self.settings = settings
        self.local_commands = local_commands
        self.model_id = model_id
        self.home = home
        self.saver = saver
        self.store = store
        self.owners = SessionOwners(store)
        self.drivers: dict[str, Driver] = {}
        self._turns: dict[str, list[float]] = {}  # user id -> start times of their turns in the last day
        self._lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(
        cls, settings: AgentConfig, model_id: str, home: Path, local_commands: bool = True
    ) -> AsyncIterator[WebRuntime]:
        """Open the sessions database (SQLite under `home`, or ML_INTERN_DATABASE_URL) for the server's life."""
        from persistence.checkpointer import open_saver, store_for

        async with open_saver(home) as saver:
            store = store_for(saver)
            await store.setup(home)  # (old session ids are migrated, their folders under `home` too)
            runtime = cls(settings, model_id, home, saver, store, local_commands)
            await runtime.owners.setup()
            reaper = asyncio.create_task(runtime._reap_idle_forever(), name="idle-sessions")
            try:
                yield runtime
            finally:
                reaper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reaper
                for session_id in list(runtime.drivers):
                    await runtime._drop(session_id)

    # -- the user's things ---------------------------------------------------------------------

    def workspace_of(self, user: User) -> Path:
        """The user's own folder: every session of theirs works there."""
        folder = self.home / "web" / "users" / user.folder_name / "workspace"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def models(self) -> list[str]:
        """The model picker's choices: the server's model first."""
        return list(dict.fromkeys([self.model_id, *self.settings.web.models]))

    def _deps(self, user: User, model_id: str | None = None) -> AgentDeps:
        from tools.registry import builtin_tools

        tools = builtin_tools(self.settings)
        if not self.local_commands:  # unconfined on a shared server: one user could read everyone's files
            for name in LOCAL_COMMAND_TOOLS:
                if name in tools:
                    tools.remove(name)
        return AgentDeps(
            settings=self.settings,
            model_id=model_id if model_id in self.models() else self.model_id,
            tools=tools,
            workspace=self.workspace_of(user),
            approval_mode=self.settings.approval.mode or "ask",
            interactive=False,
            home=self.home,
            credentials=user.credentials,
        )

    async def _owned(self, user: User, session_id: str) -> None:
        if await self.owners.owner_of(session_id) != user.id:
            raise WebError(404, NOT_FOUND)  # another user's session does not exist for this one

    async def driver(self, user: User, session_id: str) -> Driver:
        """The server's driver of the user's session (opened when needed); 404 for anyone else's."""
        await self._owned(user, session_id)
        driver = self.drivers.get(session_id)
        if driver is None:
            info = await self.store.get(session_id)
            if info is None:
                raise WebError(404, NOT_FOUND)
            manager = SessionManager(self._deps(user, info.model), self.saver, self.store)
            driver = self.drivers.setdefault(
                session_id, Driver(user, manager, Session(manager, info), EventLog(session_id))
            )
        driver.last_used = time.monotonic()
        return driver

    async def list(self, user: User) -> list[dict[str, Any]]:
        return [info.to_dict() for info in await self.owners.sessions_of(user.id, limit=200)]

    async def create(self, user: User, model_id: str | None = None) -> SessionInfo:
        async with self._lock:
            limit = self.settings.web.max_sessions_per_user
            if await self.owners.count(user.id) >= limit:
                raise WebError(429, f"you have {limit} sessions, the most allowed: delete one to start another")
            manager = SessionManager(self._deps(user, model_id), self.saver, self.store)
            session = await manager.new_session()
            await self.owners.claim(session.id, user.id)
        await session.release()  # any replica may drive it from here
        self.drivers[session.id] = Driver(user, manager, session, EventLog(session.id))
        return session.info

    # -- turns -----------------------------------------------------------------------------------

    def _check_budget(self, user: User) -> None:
        web = self.settings.web
        running = sum(1 for d in self.drivers.values() if d.user.id == user.id and d.running)
        if running >= web.max_running_per_user:
            raise WebError(429, f"{running} of your sessions are running, the most allowed: wait or stop one")
        now = time.time()
        recent = [t for t in self._turns.get(user.id, []) if now - t < DAY_S]
        self._turns[user.id] = recent
        if len(recent) >= web.max_turns_per_user_per_day:
            raise WebError(429, f"you used your {web.max_turns_per_user_per_day} turns for today: come back later")

    async def start(
        self, user: User, session_id: str, prompt: str | None = None, decisions: dict[str, Any] | None = None
    ) -> int:
        """Start a turn in the background (a prompt, or the answers to pending approvals); the number of its
        first event."""
        driver = await self.driver(user, session_id)
        async with driver.busy:
            return await self._start(driver, user, prompt, decisions)

    async def _start(self, driver: Driver, user: User, prompt: str | None, decisions: dict[str, Any] | None) -> int:
        session_id = driver.session.id
        if driver.running:
            raise WebError(409, "this session is running a turn: wait for it or stop it first")
        if prompt is not None and len(prompt) > self.settings.web.max_prompt_chars:
            raise WebError(413, f"the message is longer than {self.settings.web.max_prompt_chars} characters")
        session = driver.session
        if decisions is not None:
            await self._check_decisions(session, decisions)
        self._check_budget(user)
        try:
            await session.acquire()
        except SessionBusy as e:
            raise WebError(409, str(e)) from None
        self._turns.setdefault(user.id, []).append(time.time())
        deps = driver.manager.deps
        if deps.credentials != user.credentials:  # signed in again since: a new token for what follows
            deps.credentials = user.credentials
            deps.model = None  # rebuilt with it (the HF router's key)
        driver.user = user
        driver.base = len(await session.messages())
        await driver.log.begin()
        first = driver.log.first_seq

        async def finish() -> None:
            try:
                await session.finish()
            finally:
                await session.release(keep_sandbox=True)  # a pause: the idle clean-up ends the session

        async def turn() -> None:
            with credentials.scoped(user.credentials):  # the user's token, and only theirs, for this turn
                await run_turn(driver.log, lambda: session.run(prompt, decisions=decisions), finish)

        driver.task = asyncio.create_task(turn(), name=f"turn-{session_id}")
        return first

    async def _check_decisions(self, session: Session, decisions: dict[str, Any]) -> None:
        from nodes.approval import answer_problem

        snapshot = await session.state()
        pending = [
            c["id"] for i in snapshot.interrupts if isinstance(i.value, dict) for c in i.value.get("calls") or []
        ]
        if not pending:
            raise WebError(409, "this session is not waiting for an approval")
        problem = answer_problem({"decisions": decisions}, pending)
        if problem is not None:
            raise WebError(400, problem)

    async def stop(self, user: User, session_id: str) -> bool:
        """Stop the running turn (the partial answer is kept, unfinished calls are marked interrupted)."""
        driver = await self.driver(user, session_id)
        task = driver.task
        if task is None or task.done():
            return False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return True

    # -- history -----------------------------------------------------------------------------------

    async def view(self, user: User, session_id: str) -> dict[str, Any]:
        """What the page draws: the checkpoint (up to the running turn, whose events follow), pending
        approvals, the plan, and the event number to follow from."""
        driver = await self.driver(user, session_id)
        info = await self.store.get(session_id) or driver.session.info
        snapshot = await driver.session.state()
        values = snapshot.values
        messages = list(values.get("messages", []))
        running = driver.running
        if running:
            messages = messages[: driver.base]
        pending = (
            []
            if running
            else [c for i in snapshot.interrupts if isinstance(i.value, dict) for c in (i.value.get("calls") or [])]
        )
        return {
            "session": info.to_dict(),
            "items": page_items(messages),
            "pending": pending,
            "plan": values.get("plan") or [],
            "usage": values.get("usage") or {},
            "running": running,
            "elsewhere": info.status == "running" and not running,  # another replica drives it
            "after": driver.log.first_seq - 1 if running else driver.log.last_seq,
        }

    async def _exclusive(self, driver: Driver):
        if driver.running:
            raise WebError(409, "this session is running a turn: stop it first")
        try:
            await driver.session.acquire()
        except SessionBusy as e:
            raise WebError(409, str(e)) from None

    async def undo(self, user: User, session_id: str) -> dict[str, Any]:
        driver = await self.driver(user, session_id)
        async with driver.busy:
            await self._exclusive(driver)
            try:
                result = await driver.session.undo()
            finally:
                await driver.session.release(keep_sandbox=True)
        if isinstance(result, Error):
            raise WebError(409, result.message)
        return result.model_dump(mode="json")

    async def fork(self, user: User, session_id: str) -> SessionInfo:
        driver = await self.driver(user, session_id)
        async with self._lock:
            if await self.owners.count(user.id) >= self.settings.web.max_sessions_per_user:
                raise WebError(429, "you have the most sessions allowed: delete one to fork another")
            child = await driver.session.fork()
            await self.owners.claim(child.id, user.id)
        await child.release()
        return child.info

    async def set_model(self, user: User, session_id: str, model_id: str) -> None:
        if model_id not in self.models():
            raise WebError(400, f"unknown model '{model_id}': pick one of {', '.join(self.models())}")
        driver = await self.driver(user, session_id)
        if driver.running:
            raise WebError(409, "this session is running a turn: change the model after it")
        driver.manager.deps.model_id = model_id
        await self.store.update(session_id, model=model_id)
        driver.session.info.model = model_id

    async def export(self, user: User, session_id: str) -> str:
        driver = await self.driver(user, session_id)
        values = (await driver.session.state()).values
        info = await self.store.get(session_id) or driver.session.info
        return export_jsonl(info.to_dict(), values, [user.token or ""])

    async def delete(self, user: User, session_id: str) -> None:
        driver = await self.driver(user, session_id)
        async with driver.busy:
            await self._exclusive(driver)
            await driver.session.release()
            try:
                await driver.manager.delete_session(session_id)
            except SessionBusy as e:
                raise WebError(409, str(e)) from None
        await self.owners.release(session_id)
        self.drivers.pop(session_id, None)

    # -- idle sessions ---------------------------------------------------------------------------

    async def reap_idle(self, now: float | None = None) -> list[str]:
        """Let go of sessions nobody used for `web.idle_timeout_s` (their turn ended): the lease, the
        manager, the MCP servers. The session itself stays stored and opens again on the next request."""
        now = time.monotonic() if now is None else now
        idle = [
            sid
            for sid, d in self.drivers.items()
            if not d.running and now - d.last_used >= self.settings.web.idle_timeout_s
        ]
        for session_id in idle:
            await self._drop(session_id)
        return idle

    async def _reap_idle_forever(self) -> None:
        period = max(1.0, min(60.0, self.settings.web.idle_timeout_s / 4))
        while True:
            await asyncio.sleep(period)
            try:
                await self.reap_idle()
            except Exception:  # a database hiccup: the next round tries again
                continue

    async def _drop(self, session_id: str) -> None:
        driver = self.drivers.pop(session_id, None)
        if driver is None:
            return
        await driver.log.close()  # open event streams end; the page reconnects to the next driver's log
        if driver.task is not None and not driver.task.done():
            driver.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await driver.task
        with credentials.scoped(driver.user.credentials):
            try:
                await driver.session.release()
                await driver.manager.end_sandbox(session_id)  # the session's end here: its sandbox Space goes
                if driver.manager.mcp is not None:
                    await driver.manager.mcp.aclose()
            finally:
                await driver.manager.release_all()
