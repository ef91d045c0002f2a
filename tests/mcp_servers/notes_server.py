"""A second small stdio MCP server for tests/tools/test_mcp.py: its `echo` collides with lab_server's."""

from __future__ import annotations

from mcp.server.fastmcp import FastMCP

server = FastMCP("notes", log_level="WARNING")
notes: list[str] = []


@server.tool()
def echo(text: str) -> str:
    """Echo text back, marked with this server's name."""
    return f"notes:{text}"


@server.tool()
def add_note(text: str) -> int:
    """Keep a note; returns how many notes there are."""
    notes.append(text)
    return len(notes)


if __name__ == "__main__":
    server.run("stdio")
