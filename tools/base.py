"""The contract every tool implements: a schema for the model, a risk class for the approval
policy, and an async handler that gets a ToolContext and returns text (or a ToolResult).

Tools act; they never decide whether they may act (that is the approval node) and never import
nodes. A handler raises ToolError for failures the model should read and fix; any other exception
is also turned into an error result by the engine, but ToolError keeps the message clean.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from configs.schema import AgentConfig
from core.events import ToolLog


class Risk(StrEnum):
    """How much harm a call can do; the approval policy keys off this."""

    READ_ONLY = "read_only"
    WORKSPACE_WRITE = "workspace_write"
    EXEC = "exec"
    REMOTE_COMPUTE = "remote_compute"
    DESTRUCTIVE = "destructive"


class ToolError(Exception):
    """A failure the model can act on: becomes an error tool result, never a crash."""


@dataclass(frozen=True)
class Assessment:
    """The risk of one concrete call (a tool may be riskier for some arguments)."""

    risk: Risk
    always_ask: bool = False  # yolo never auto-approves it (scheduled jobs, paid hardware)
    details: dict[str, Any] = field(default_factory=dict)  # shown on approval panels (cost, hardware)


@dataclass
class ToolResult:
    content: str
    is_error: bool = False
    # Merged into graph state by execute_tools, e.g. {"plan": [...]} or {"files_read": {...}}.
    state_update: dict[str, Any] | None = None


class ChangeRecorder(Protocol):
    """Told before a tool changes a file, so undo can put the file back (see tools.file_changes)."""

    def before_write(self, path: Path) -> None: ...


@dataclass
class ToolContext:
    """What a running tool may use. Built by execute_tools for every call."""

    workspace: Path
    session_dir: Path  # per-session folder: spilled outputs, job logs, undo backups
    call_id: str
    settings: AgentConfig
    state: dict[str, Any] = field(default_factory=dict)  # read-only view: plan, files_read
    emit: Callable[[Any], None] = lambda event: None  # core.events.Event -> front end
    changes: ChangeRecorder | None = None
    agent_name: str = "main"  # the agent running the tool (the events' `agent` field)

    def log(self, line: str) -> None:
        """Stream one progress line to the front end as a tool_log event."""
        self.emit(ToolLog(tool_call_id=self.call_id, line=line, agent=self.agent_name))


Handler = Callable[[Any, ToolContext], Awaitable["str | ToolResult"]]


@dataclass(frozen=True)
class Tool:
    """A tool the model can call.

    With `args_model`, the engine validates arguments against it (a readable error reaches the model
    on failure) and the handler gets the model instance; the JSON schema is derived from it.
    """

    name: str
    description: str
    risk: Risk
    handler: Handler
    args_model: type[BaseModel] | None = None
    parameters: dict[str, Any] | None = None
    # Seconds before the engine gives up on a call; a callable can derive it from the arguments.
    timeout: float | Callable[[dict[str, Any]], float] | None = None
    assess: Callable[[dict[str, Any]], Assessment] | None = None

    def schema(self) -> dict[str, Any]:
        params = self.parameters
        if params is None and self.args_model is not None:
            params = copy.deepcopy(_args_schema(self.args_model))
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": params or {"type": "object", "properties": {}},
            },
        }

    def assessment(self, args: dict[str, Any]) -> Assessment:
        if self.assess is not None:
            return self.assess(args)
        return Assessment(self.risk)

    def timeout_for(self, args: dict[str, Any], default: float) -> float:
        if self.timeout is None:
            return default
        return self.timeout(args) if callable(self.timeout) else self.timeout


@functools.cache
def _args_schema(args_model: type[BaseModel]) -> dict[str, Any]:
    """An arguments model's schema, built once per process: pydantic builds it anew on every call, and every
    agent (each CLI start, each session a server opens) asks for all its tools' schemas."""
    return _clean_schema(args_model.model_json_schema())


def _clean_schema(schema: Any, in_properties: bool = False) -> Any:
    """Drop pydantic's titles: they cost tokens and tell the model nothing."""
    if isinstance(schema, dict):
        return {
            k: _clean_schema(v, in_properties=(k == "properties" and not in_properties))
            for k, v in schema.items()
            if in_properties or not (k == "title" and isinstance(v, str))
        }
    if isinstance(schema, list):
        return [_clean_schema(v) for v in schema]
    return schema
