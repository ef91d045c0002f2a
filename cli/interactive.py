"""The interactive chat: `ml-intern` with no prompt on a terminal.

The prompt is up as soon as the light modules are loaded; the engine (langgraph, the tools, the model
client) loads in a worker thread meanwhile and the checkpoint database opens in a task that lives as long
as the chat. One turn at a time: a message runs session.run() and its events are rendered until the
turn completes; pending approvals are asked in the terminal and answered on the same turn. Ctrl-C cancels
the task that iterates the turn (the runtime keeps the partial answer and marks unfinished calls
interrupted); twice within a second, Ctrl-D or /exit quit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from cli import exit_codes, slash_commands
from cli.bootstrap import RunOptions, UserError, build_deps, check_resume_id, check_sandbox
from cli.chat_render import ChatRenderer, human_tokens
from cli.chat_wake import JobWake
from cli.first_run import ensure_model, local_model_instead
from cli.input_line import ChatCompleter, InputLine, TerminalModes
from cli.type_ahead import TypeAhead
from core.paths import ml_intern_home
from core.protocol import TurnStatus
from persistence.session_ids import short

DOUBLE_PRESS_S = 1.0
RECAP_LINES = 20


def run_interactive(options: RunOptions) -> int:
    console = Console(highlight=False)
    app = ChatApp(options, console)
    try:
        return asyncio.run(app.main())
    except UserError as e:
        print(f"ml-intern: {e}", file=sys.stderr)
        return e.code
    except Exception as e:  # a bug: one line and a log file, never a traceback on the screen
        print(f"ml-intern: internal error: {type(e).__name__}: {e} (details in {app._log(e)})", file=sys.stderr)
        return exit_codes.AGENT_ERROR


async def in_daemon_thread(fn, *args):
    """Run fn in a daemon thread: unlike asyncio.to_thread, quitting never waits for it to finish."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def deliver(result, error) -> None:
        if not future.done():
            future.set_exception(error) if error is not None else future.set_result(result)

    def work() -> None:
        try:
            result, error = fn(*args), None
        except BaseException as e:  # handed to the awaiting task
            result, error = None, e
        try:
            loop.call_soon_threadsafe(deliver, result, error)
        except RuntimeError:
            pass  # the chat has already ended

    threading.Thread(target=work, name="ml-intern-engine-load", daemon=True).start()
    return await future


@dataclass
class Outcome:
    status: TurnStatus = "done"
    pending: list[dict[str, Any]] = field(default_factory=list)
    budget: Any = None  # the budget_required event when the turn waits at the budget


class ChatApp:
    def __init__(self, options: RunOptions, console: Console):
        self.options = options
        self.console = console
        self.home = ml_intern_home()
        self.renderer = ChatRenderer(console, stream=options.stream)
        self.input = InputLine(
            self.home / "history",
            ChatCompleter(slash_commands.completions, self._argument_completions),
            footer=self.footer,
        )
        self.model_id = options.model or ""  # until the engine is up
        self.approval = options.approval or "ask"
        self.usage: dict[str, Any] = {}  # context tokens, window, spend: refreshed after each turn
        self.deps: Any = None
        self.wake = JobWake(self)
        self.manager: Any = None
        self.session: Any = None
        self.session_ids: list[tuple[str, str]] = []
        self.quit = False
        self.prefill = ""  # text for the next input line (the prompt /undo took back)
        self.exit_code = exit_codes.DONE  # Ctrl-D and /exit; Ctrl-C twice leaves with INTERRUPTED (130)
        self.last_sigint = 0.0
        self.cancel_target: asyncio.Future | None = None
        self._cancel_sent = False
        self._ready: asyncio.Future | None = None
        self._closing: asyncio.Event | None = None
        self._engine_task: asyncio.Task | None = None
        self.terminal = TerminalModes()
        self.type_ahead = TypeAhead(self.terminal.fd)
        self.renderer.type_ahead = self.type_ahead
        self.launch_dir = Path(options.workspace or ".").expanduser().resolve()

    # -- life cycle ------------------------------------------------------------------------

    async def main(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._on_sigint)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self._on_terminate)
        loop.add_signal_handler(signal.SIGWINCH, self._on_resize)  # prompt_toolkit puts it back after a prompt
        self._ready = loop.create_future()
        self._closing = asyncio.Event()
        self.terminal.quiet()
        try:
            code = await self._start()
            if code is not None:
                return code
            await self._chat()
            return self.exit_code
        finally:
            await self._shutdown()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGWINCH):
                loop.remove_signal_handler(sig)
            self.terminal.restore()

    async def _start(self) -> int | None:
        from configs.loader import ConfigError, load_config, user_config_path

        try:
            settings = load_config(self.options.config)
        except ConfigError as e:
            raise UserError(str(e)) from None
        # The mistakes build_deps would find in the worker thread, found before the prompt shows.
        workspace = Path(self.options.workspace or ".").expanduser().resolve()
        if not workspace.is_dir():
            raise UserError(f"workspace folder not found: {workspace} (pass an existing folder to --workspace)")
        if self.options.max_iterations is not None and self.options.max_iterations < 1:
            raise UserError("--max-iterations must be at least 1")
        check_resume_id(self.options)
        sandbox_warning = check_sandbox(settings)
        resume_info = None
        if self.options.resume or self.options.continue_last:
            with self.console.status("opening the session…", spinner="dots"):
                resume_info = await self._find_session(settings)
            model_id = self.options.model or resume_info.model or settings.model_name
            explicit = True
        else:
            model_id = self.options.model or settings.model_name
            explicit = bool(self.options.model)
            if not explicit:
                model_id = await local_model_instead(model_id, self.console)
        chosen = await ensure_model(model_id, explicit, self.console, self.input.ask, str(user_config_path()))
        if isinstance(chosen, int):
            return chosen
        model_id = chosen
        self._engine_task = asyncio.create_task(self._run_engine(model_id))
        approval = self.options.approval or settings.approval.mode or "ask"
        self.model_id, self.approval = model_id, approval
        self._banner(model_id, approval)
        from models.autodetect import down_server_line

        down = await down_server_line(model_id)  # a refused local port: say so now, not at the first message
        if down:
            self.console.print(Text(f"warning: {down}", style="yellow"))
        if sandbox_warning:
            self.console.print(Text(f"warning: {sandbox_warning}", style="yellow"))
        if resume_info is not None:
            try:
                await self.switch_to(resume_info.id, at_start=True)
            except (UserError, asyncio.CancelledError):
                raise
            except Exception as e:
                self.internal_error(e)
        return None

    def _banner(self, model_id: str, approval: str) -> None:
        from core.version import package_version

        workspace = Path(self.options.workspace or ".").expanduser().resolve()
        where = str(workspace).replace(str(Path.home()), "~", 1)
        text = Text(f"ml-intern {package_version()}", style="bold")
        text.append(f" · {model_id} · approval {approval} · {where}\n", style="")
        text.append("/help for commands · Esc+Enter for a new line · Ctrl-C stops a turn · Ctrl-D quits", style="dim")
        self.console.print(text)

    async def _find_session(self, settings) -> Any:
        """The session to resume (its model is needed before the engine is built): one table read."""
        from persistence.checkpointer import DatabaseError, open_session_store
        from persistence.session_store import SessionNotFound

        try:
            async with open_session_store() as store:
                return await store.resolve(self.options.resume)
        except SessionNotFound as e:
            raise UserError(str(e)) from None
        except DatabaseError as e:
            raise UserError(str(e), exit_codes.AGENT_ERROR) from None

    def _build(self, model_id: str):
        """Worker thread: the heavy imports and the tools. Returns the AgentDeps."""
        deps = build_deps(self.options, interactive=True, model_id=model_id)
        import rich.markdown  # noqa: F401  (for the first answer)

        import graph.session  # noqa: F401  (langgraph, the nodes)
        from models.factory import needs_litellm

        if needs_litellm(deps.model_id):
            from models.factory import import_litellm

            import_litellm()
            import langchain_litellm  # noqa: F401
        return deps

    async def _run_engine(self, model_id: str) -> None:
        """Owns the agent (and its database connection) for the whole chat."""
        try:
            deps = await in_daemon_thread(self._build, model_id)
            from graph.session import SessionManager
            from persistence.checkpointer import DatabaseError

            try:
                async with SessionManager.open(deps) as manager:
                    manager.set_on_note(lambda line: self.say(line, "dim"))  # sandboxes deleted at start or end
                    self.deps, self.manager = deps, manager
                    self._ready.set_result(None)
                    await self.refresh_session_ids()
                    await self._closing.wait()
            except DatabaseError as e:
                raise UserError(str(e), exit_codes.AGENT_ERROR) from None
        except BaseException as e:
            if not self._ready.done():
                self._ready.set_exception(e if isinstance(e, Exception) else UserError("the engine stopped", 1))
            if not isinstance(e, Exception):
                raise

    async def engine(self):
        """The AgentDeps once the engine is up (waits with a spinner the first time)."""
        if not self._ready.done():
            with self.console.status("starting the engine…", spinner="dots"):
                if await self.cancellable(asyncio.shield(self._ready)):
                    raise asyncio.CancelledError
        self._ready.result()  # a failed start raises its UserError here
        return self.deps

    async def _shutdown(self) -> None:
        try:
            self.renderer.end()
        except OSError:  # the terminal is gone (SIGHUP)
            pass
        if self.session is not None:
            try:
                await self.session.finish()
                sid = self.session.id
                self.say(f"session {sid} saved · resume with: ml-intern --resume {short(sid)}", "dim")
            except Exception:
                pass
        if self._closing is not None:
            self._closing.set()
        if self._ready is not None and self._ready.done() and not self._ready.cancelled():
            self._ready.exception()  # a failed start was already reported (or never needed)
        if self._engine_task is not None:
            if not self._ready.done():
                self._engine_task.cancel()  # quitting while it loads: do not wait for the imports
            try:
                await asyncio.wait_for(self._engine_task, 10)
            except BaseException:
                pass

    # -- the chat loop ---------------------------------------------------------------------

    async def _chat(self) -> None:
        while not self.quit:
            try:
                default, self.prefill = self.prefill or self.type_ahead.take(), ""
                text = await self.wake.read(default)  # a message, or the result of the job the session waits for
            except KeyboardInterrupt:
                if self._pressed_twice():
                    self.exit_code = exit_codes.INTERRUPTED
                    break
                self.say("(Ctrl-C again to quit, or Ctrl-D)", "dim")
                continue
            except EOFError:
                break
            if not text.strip():
                continue
            try:
                if text.startswith("/"):
                    if await slash_commands.dispatch(self, text):
                        break
                else:
                    await self.turn(text)
            except UserError as e:
                if not text.startswith("/"):  # the engine could not start: hand the message back, not lose it
                    e.args = (f"{e}\nyour message was not sent (it is also in the input history, Up arrow):\n{text}",)
                raise
            except asyncio.CancelledError:
                if asyncio.current_task().cancelling():
                    raise
                self.say("cancelled", "dim")
            except Exception as e:  # a bug must not end the chat or lose the session
                self.internal_error(e)

    async def turn(self, prompt: str) -> None:
        await self.engine()
        if self.session is None:
            self.session = await self.manager.new_session(title=prompt.strip().splitlines()[0][:80])
        await self.drive(prompt)

    async def drive(self, prompt: str | None, decisions: dict | None = None) -> None:
        """Run the turn to its end, answering approvals on the way; then the status line."""
        session = self.session
        doom_answer = None
        while not self.quit:
            outcome = await self.stream(session.run(prompt, decisions=decisions, doom_answer=doom_answer))
            if outcome.status == "budget" and outcome.budget is not None and not self.quit:
                prompt, decisions, doom_answer = None, None, await self._ask_budget(outcome.budget)
                continue
            if outcome.status != "approval_pending" or not outcome.pending or self.quit:
                break
            prompt, decisions, doom_answer = None, None, None
            first = outcome.pending[0]
            if first.get("kind") == "doom_loop":
                doom_answer = await self._ask_doom(first)
            else:
                answer = await self._ask_approvals(outcome.pending)
                if answer.stop:  # Esc / Ctrl-C / Ctrl-D: the calls are rejected, the model is not called
                    await session.stop_pending()
                    self.quit = self.quit or answer.quit
                    break
                decisions = answer.decisions
        await session.finish()  # the session list shows how the turn ended
        if not self.quit:
            await self.status_line()

    async def _ask_approvals(self, pending: list[dict[str, Any]]):
        from cli.approval_prompt import ApprovalPrompt
        from cli.pager import show_long

        async def run_command(text: str) -> bool:
            return await slash_commands.dispatch(self, text)

        async def long_text(text: str) -> None:
            await show_long(text, self.console, self.terminal.normal)

        prompt = ApprovalPrompt(
            self.console,
            self.input.ask,
            self.renderer.rejected,
            self.terminal.normal,
            run_command=run_command,
            approval_mode=lambda: self.deps.approval_mode if self.deps is not None else "ask",
            show_long=long_text,
            workspace=self.deps.workspace if self.deps is not None else None,
        )
        return await prompt.collect(pending)

    async def stream(self, events) -> Outcome:
        """Render an event stream (a turn, a compaction) until it ends or Ctrl-C cancels it."""
        outcome = Outcome()

        async def consume() -> None:
            async for event in events:
                if event.type == "approval_required":
                    outcome.pending = list(event.calls)
                elif event.type == "turn_complete":
                    outcome.status = event.status
                elif event.type == "budget_required":
                    outcome.budget = event
                self.renderer.handle(event)

        from models.errors import ModelConfigError

        self.renderer.begin()
        self.type_ahead.start()
        try:
            if await self.cancellable(consume()):
                outcome.status = "interrupted"
                self.renderer.interrupted()
        except ModelConfigError as e:
            outcome.status = "error:config"
            self.renderer.error(str(e), "config")
        except Exception as e:
            from persistence.database import database_failure

            outcome.status = "error:agent"
            stored = database_failure(e)  # locked, full, damaged, unreachable: say what to do, once
            self.renderer.error(stored or f"{type(e).__name__}: {e}\n(details in {self._log(e)})", "agent")
        finally:
            self.type_ahead.stop()
            self.renderer.end()
        return outcome

    async def cancellable(self, awaitable) -> bool:
        """Await it as the target of Ctrl-C; True when Ctrl-C cancelled it."""
        task = asyncio.ensure_future(awaitable)
        self.cancel_target, self._cancel_sent = task, False
        try:
            await task
            return False
        except asyncio.CancelledError:
            if self._cancel_sent and not asyncio.current_task().cancelling():
                return True
            raise
        finally:
            self.cancel_target = None

    def _on_sigint(self) -> None:
        if self._pressed_twice():
            if self.quit and self.cancel_target is not None:
                # A third press while a cancelled turn is still winding down: leave now.
                self.terminal.restore()
                print("\nml-intern: forced exit", file=sys.stderr, flush=True)
                os._exit(exit_codes.INTERRUPTED)
            self.quit = True
            self.exit_code = exit_codes.INTERRUPTED
        target = self.cancel_target
        if target is not None and not target.done() and not self._cancel_sent:
            self._cancel_sent = True  # once: a second cancel would cut the runtime's own clean-up short
            target.cancel()

    def _on_resize(self) -> None:
        """The terminal changed size while a turn draws its live frame: redraw it at the new width."""
        try:
            self.renderer.resized(self.console.size.width)
        except Exception:  # never let a redraw end the chat
            pass

    def _on_terminate(self) -> None:
        """SIGTERM / SIGHUP (terminal closed): stop the turn cleanly, save, and leave."""
        self.quit = True
        target = self.cancel_target
        if target is not None and not target.done() and not self._cancel_sent:
            self._cancel_sent = True
            target.cancel()
        self.input.abort()

    def _pressed_twice(self) -> bool:
        now = time.monotonic()
        twice = now - self.last_sigint < DOUBLE_PRESS_S
        self.last_sigint = now
        return twice

    async def _ask_doom(self, payload: dict[str, Any]) -> str:
        self.renderer.error(str(payload.get("message") or "the agent keeps repeating the same calls"), "doom_loop")
        try:
            answer = await self.input.ask(f"{payload.get('question') or 'Let the agent continue anyway? (yes/no)'} ")
        except (KeyboardInterrupt, EOFError):
            answer = "no"
        return answer.strip() or "no"

    async def _ask_budget(self, event) -> str | None:
        """A new budget in dollars (set on the deps: the turn goes on), or "no" (the turn stops there)."""
        question = f"Raise the session's budget to (dollars, more than ${event.max_budget_usd:.2f}; empty: stop) "
        while True:
            try:
                answer = (await self.input.ask(question)).strip().lstrip("$")
            except (KeyboardInterrupt, EOFError):
                return "no"
            if answer.lower() in ("", "n", "no", "stop"):
                return "no"
            try:
                raised = float(answer)
            except ValueError:
                raised = 0.0
            if raised > event.spent_usd + event.estimate_usd:
                self.deps.settings.budget.max_usd = raised
                return None
            self.say(f"enter more than ${event.spent_usd + event.estimate_usd:.2f}, or leave it empty to stop", "red")

    # -- shared helpers (slash commands use these) -------------------------------------------

    def say(self, message: str, style: str = "") -> None:
        self.console.print(Text(message, style=style))

    def context_window(self) -> int | None:
        if self.deps is None or self.deps.model is None:
            return None
        try:
            return self.deps.context_window()
        except Exception:
            return None

    def footer(self):
        """The line under the input: model, approval mode, context use and cost, as they are now."""
        from prompt_toolkit.formatted_text import FormattedText

        from cli.chat_render import short_model

        deps = self.deps
        model = short_model(deps.model_id if deps is not None else self.model_id)
        mode = deps.approval_mode if deps is not None else self.approval
        parts = [("", f" {model} · "), ("bold" if mode == "yolo" else "", f"approval {mode}")]
        tokens, window = self.usage.get("context_tokens"), self.usage.get("window")
        if tokens is not None:
            share = f" ({100 * tokens / window:.0f}%)" if window else ""
            parts.append(("", f" · context {human_tokens(tokens)}{share}"))
        parts.append(("", f" · {self.usage.get('spend') or '$0.0000'} "))
        return FormattedText(parts)

    async def status_line(self) -> None:
        if self.session is None or self.deps is None:
            return
        from core.budget import spend_of

        values = (await self.session.state()).values
        usage = values.get("usage") or {}
        spend = spend_of(usage).describe(self.deps.settings.budget.max_usd)  # the session's usage totals
        self.usage = {
            "context_tokens": int(values.get("context_tokens") or 0),
            "window": self.context_window() or 0,
            "spend": spend,
        }
        self.renderer.status_line(
            self.deps.model_id,
            int(values.get("context_tokens") or 0),
            self.context_window(),
            spend,
            self.session.id,
            self.deps.approval_mode,
        )
        await self.refresh_session_ids()

    async def recent_sessions(self, limit: int = 20) -> list[Any]:
        await self.engine()
        return await self.manager.store.list(limit=limit)

    async def refresh_session_ids(self) -> None:
        try:
            infos = await self.manager.store.list(limit=50)
        except Exception:
            return
        self.session_ids = [(i.id, i.title[:40]) for i in infos]

    async def leave_session(self) -> None:
        if self.session is not None:
            await self.session.finish()
            await self.session.release()  # another process may drive it now
            self.session = None
        if self.deps is not None:
            self.deps.workspace = self.launch_dir  # a new session starts where the chat was opened
        self.renderer.plan = None
        self.usage = {}  # the footer's context and cost were the old session's

    async def switch_to(self, session_id: str, at_start: bool = False) -> None:
        """Open another session: its model (unless --model was given), a recap, a pending approval.

        A session another process drives is refused: at start (--resume) that ends the chat with exit 2."""
        from graph.session import WorkspaceMismatch, resume_workspace
        from models.errors import ModelConfigError
        from models.factory import check_model_id
        from persistence.session_lock import SessionBusy
        from persistence.session_store import SessionNotFound

        deps = await self.engine()
        try:
            session = await self.manager.load_session(session_id)
            workspace, note = resume_workspace(
                session.id, session.info.workspace, self.options.workspace if at_start else None, self.launch_dir
            )
            await session.acquire()
        except (SessionNotFound, SessionBusy, WorkspaceMismatch) as e:
            if at_start:
                raise UserError(str(e)) from None
            self.say(str(e), "red")
            return
        await self.leave_session()
        self.session = session
        if str(workspace) != session.info.workspace:
            await session.move_to(workspace)
        deps.workspace = workspace  # the session's tools run in its own folder
        model = session.info.model
        if not self.options.model and model and model != deps.model_id:
            try:
                check_model_id(model)
                deps.model_id, deps.model = model, None
            except ModelConfigError as e:
                self.say(
                    f"this session used {model}, which is not available ({e}); staying on {deps.model_id}", "yellow"
                )
        await self._recap(session)
        if note:
            self.say(note, "yellow")
        if session.info.status == "approval_pending":
            await self.drive(None)

    async def _recap(self, session) -> None:
        from graph.session import is_user_turn

        messages = await session.messages()
        plan = (await session.state()).values.get("plan") or []
        self.say(
            f"resumed {session.id} · {session.info.title or '(untitled)'} · {len(messages)} messages · "
            f"model {self.deps.model_id}",
            "cyan",
        )
        last_user = next((m for m in reversed(messages) if is_user_turn(m)), None)
        last_ai = next((m for m in reversed(messages) if m.type == "ai" and str(m.content).strip()), None)
        if last_user is not None:
            self.say(f"› {str(last_user.content).strip()[:300]}", "dim")
        if last_ai is not None and (last_user is None or messages.index(last_ai) > messages.index(last_user)):
            lines = str(last_ai.content).strip().splitlines()
            from rich.markdown import Markdown

            if len(lines) > RECAP_LINES:
                self.say(f"… ({len(lines) - RECAP_LINES} earlier lines)", "dim")
            self.console.print(Markdown("\n".join(lines[-RECAP_LINES:])))
        if plan:
            from cli.chat_render import plan_panel

            self.renderer.plan = plan
            self.console.print(plan_panel(plan))
        if session.info.status == "interrupted":
            self.say("(the last turn was interrupted: send a message to go on)", "dim")

    def internal_error(self, error: BaseException) -> None:
        self.renderer.end()
        self.renderer.error(
            f"{type(error).__name__}: {error}\n(details in {self._log(error)}; the chat goes on)", "agent"
        )

    def _log(self, error: BaseException) -> Path:
        path = self.home / "logs" / "interactive.log"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as f:
                f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
                f.write("".join(traceback.format_exception(error)))
        except OSError:
            pass
        return path

    def _argument_completions(self, command: str) -> list[tuple[str, str]]:
        command = slash_commands.ALIASES.get(command, command)
        if command == "/resume":
            return self.session_ids
        if command == "/approval":
            return [("ask", "ask before risky calls"), ("yolo", "run without asking")]
        if command == "/model":
            from models.factory import KEYED_PROVIDERS, LOCAL_SERVERS

            current = [(self.deps.model_id, "current")] if self.deps is not None else []
            return current + [(f"{p}/", "") for p in [*KEYED_PROVIDERS, *LOCAL_SERVERS]] + [("replay:", "")]
        if command == "/output":
            return [("last", "")] + [(str(v.number), f"{v.name} {v.state}") for v in self.renderer.order]
        return []
