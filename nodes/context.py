"""What the nodes need besides state: settings, the model, the tools, where the session lives.

The graph runs with an AgentDeps as LangGraph's runtime context (`context_schema=AgentDeps`): every node
is a plain function that gets it as `runtime.context`, so a test can call a node with a state and a
Runtime, without building a graph. One AgentDeps per running agent; it is mutable on purpose (/model
and /approval change it between turns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from configs.prompts import SYSTEM_PROMPT
from configs.schema import AgentConfig
from core.events import Event
from core.paths import ml_intern_home, session_dir
from core.protocol import ApprovalQuestion, BudgetQuestion, DoomLoopQuestion
from models.factory import ModelHandle
from models.tokens import estimate_schemas, estimate_text
from tools.registry import ToolRegistry

# langgraph.graph.END as a literal type, so a node's Command[Literal[..., "__end__"]] type-checks
END: Final = "__end__"
# Asks a human a question (an approval, whether to go on after a doom loop, a raised budget) and returns the answer.
AskHuman = Callable[[ApprovalQuestion | DoomLoopQuestion | BudgetQuestion], Any]
Emit = Callable[[Event], None]


@dataclass
class AgentDeps:
    """The runtime context of a run: what the nodes use besides the state."""

    settings: AgentConfig
    model_id: str
    tools: ToolRegistry
    workspace: Path
    model: ModelHandle | None = None  # built per session by Session.activate (replay keeps a cursor there)
    approval_mode: str = "yolo"  # ask | yolo
    interactive: bool = False  # can a human answer questions (doom loop)?
    stream: bool = True
    home: Path = field(default_factory=ml_intern_home)
    agent_name: str = "main"  # which agent these deps drive: "main" or "research" (the events' `agent` field)
    prompt_template: str = SYSTEM_PROMPT
    # Keys that replace the process's for this agent (core.credentials.scoped): the web app puts each signed-in
    # user's HF token here, so their Hub, Jobs and inference calls carry it and never the server's.
    credentials: dict[str, str | None] | None = None
    # interrupt() pauses the graph until a front end answers; the research sub-agent refuses instead
    ask_human: AskHuman = field(default=interrupt, repr=False)
    _bound: Any = field(default=None, repr=False)
    _bound_key: tuple = field(default=(), repr=False)
    _overhead: tuple = field(default=((), 0), repr=False)

    def session_dir(self, thread_id: str | None) -> Path:
        """The folder of a session (a LangGraph thread): spilled outputs, undo backups, the replay cursor."""
        return session_dir(self.home, str(thread_id or "default"))

    @property
    def system_prompt(self) -> str:
        return self.prompt_template.format(workspace=self.workspace)

    def model_handle(self) -> ModelHandle:
        """The model, built on first use when nobody built it for a session (LangGraph Studio)."""
        if self.model is None:
            from core import credentials
            from models.factory import make_model

            with credentials.scoped(self.credentials):
                self.model = make_model(self.model_id, streaming=self.stream)
        return self.model

    def bound_chat(self) -> Any:
        """The chat model with the current tools bound (rebound only when model or tools change)."""
        chat = self.model_handle().chat
        names = tuple(self.tools.names)
        # the chat itself, compared by identity: a new model (/model) can get a freed one's id()
        if self._bound is None or self._bound_key[0] is not chat or self._bound_key[1] != names:
            schemas = self.tools.schemas()
            self._bound = chat.bind_tools(schemas) if schemas else chat
            self._bound_key = (chat, names)
        return self._bound

    def prompt_overhead_tokens(self) -> int:
        key = ("overhead", tuple(self.tools.names), str(self.workspace))
        if self._overhead[0] != key:
            self._overhead = (key, estimate_text(self.system_prompt) + estimate_schemas(self.tools.schemas()))
        return self._overhead[1]

    def context_window(self) -> int:
        return self.model_handle().context_window or self.settings.compaction.fallback_context_window

    def compaction_threshold(self) -> int:
        c = self.settings.compaction
        return c.threshold_tokens or int(self.context_window() * c.threshold_ratio)


def run_session_dir(runtime: Runtime[AgentDeps]) -> Path:
    """The folder of the session this run belongs to (its thread id; "default" outside a thread)."""
    info = runtime.execution_info
    return runtime.context.session_dir(info.thread_id if info is not None else None)


def emitter(runtime: Runtime[Any]) -> Emit:
    """Send events to the front ends through the run's custom stream (`runtime.stream_writer`), each with the
    session (thread) it belongs to: a client watching several threads of one server tells them apart."""
    write = runtime.stream_writer
    info = runtime.execution_info
    session_id = info.thread_id if info is not None else None
    return lambda event: write(event.wire(session_id))
