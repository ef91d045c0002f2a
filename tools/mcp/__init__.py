"""MCP servers as tools: one persistent session per configured server (see manager.McpManager)."""

from tools.mcp.connection import ServerStatus
from tools.mcp.manager import McpManager

__all__ = ["McpManager", "ServerStatus"]
