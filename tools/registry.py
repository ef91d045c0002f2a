"""The set of tools a session offers the model. Each tool module exposes `tools(settings)`;
the registry imports them lazily so `ml-intern --help` never pays for them. A module may also
expose `adapt(registry)`, called once every module's tools are in (the sandbox routes bash and
the file tools through it)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from configs.schema import AgentConfig
from tools.base import Tool

# Modules that contribute built-in tools, in the order the model sees them.
BUILTIN_TOOL_MODULES = [
    "tools.plan",
    "tools.bash",
    "tools.files",
    "tools.search",
    "tools.jobs.tool",
    "tools.runs.wait_tool",
    "tools.sandbox.tool",
    "tools.hub.repo_files",
    "tools.hub.repo_git",
    "tools.hub.datasets",
    "tools.hub.papers",
    "tools.hub.docs",
    "tools.hub.jobs",
    "tools.web.github",
    "tools.web.search",
]


class ToolRegistry:
    """The tools offered to the model, by name, in the order they were added (the order the model sees).
    A tool added under a name already taken replaces the first one in place."""

    def __init__(self, tools: Iterable[Tool] = ()):
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        """Offer `tool` (MCP tools come and go between turns)."""
        self._tools[tool.name] = tool

    def remove(self, name: str) -> None:
        """Stop offering the tool named `name`; no error when there is none."""
        self._tools.pop(name, None)

    def get(self, name: str) -> Tool | None:
        """The tool the model called by this name, or None (the call then gets an error result)."""
        return self._tools.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._tools

    def __iter__(self):
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def names(self) -> list[str]:
        """The tool names, in order."""
        return list(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        """The function schemas bound to the model, in order."""
        return [tool.schema() for tool in self._tools.values()]


def builtin_tools(settings: AgentConfig, modules: Iterable[str] = BUILTIN_TOOL_MODULES) -> ToolRegistry:
    """A registry of the tools the given modules offer (each module's `tools(settings)`), imported now."""
    registry = ToolRegistry()
    loaded = [importlib.import_module(module_name) for module_name in modules]
    for module in loaded:
        for tool in module.tools(settings):
            registry.add(tool)
    for module in loaded:
        adapt = getattr(module, "adapt", None)
        if adapt is not None:
            adapt(registry)
    return registry
