"""The config's MCP servers as tools of one running agent (its AgentDeps): started on first use, restarted
when they died, their tools offered beside the built-in ones. Shared by the session runtime and the graph
the LangGraph API server runs, so a Studio thread has the same tools as a CLI session."""

from __future__ import annotations

from typing import Any

from nodes.context import AgentDeps


class McpTools:
    def __init__(self, deps: AgentDeps):
        self.deps = deps
        self.manager: Any = None  # tools.mcp.McpManager once a server is configured and asked for
        self.names: set[str] = set()  # the tools it added to deps.tools

    async def refresh(self) -> list[str]:
        """Start (or restart) the configured MCP servers and offer their tools; returns warning lines."""
        servers = self.deps.settings.mcpServers
        if not servers:
            return []
        if self.manager is None:
            from tools.mcp.manager import McpManager
            from tools.sandbox.local import SandboxUnavailable, server_wrapper

            try:  # stdio servers run in the same command sandbox as bash
                wrap = server_wrapper(self.deps.settings, lambda: self.deps.workspace)
            except SandboxUnavailable as exc:
                return [f"MCP servers not started: {exc}"]
            builtin = [name for name in self.deps.tools.names if name not in self.names]
            self.manager = McpManager(
                servers,
                reserved=builtin,
                call_timeout=self.deps.settings.tool_timeout_s,
                log_dir=self.deps.home / "mcp-logs",
                wrap=wrap,
            )
        warnings = await self.manager.ensure_started()
        for name in self.names:
            self.deps.tools.remove(name)
        fresh = self.manager.tools()
        for tool in fresh:
            self.deps.tools.add(tool)
        self.names = {tool.name for tool in fresh}
        return warnings

    async def aclose(self) -> None:
        if self.manager is not None:
            await self.manager.aclose()
