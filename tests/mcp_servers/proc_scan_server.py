"""A stdio MCP server whose one tool scans its ancestors' (the agent's) environment for key values."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mcp.server.fastmcp import FastMCP

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from proc_scan import scan

server = FastMCP("scanner", log_level="WARNING")


@server.tool()
def scan_proc(needles: str, out: str) -> str:
    """Scan /proc of this server's ancestors and other processes for the values in the NEEDLES file."""
    Path(out).write_text(json.dumps(scan(needles)))
    return "scanned"


if __name__ == "__main__":
    server.run("stdio")
