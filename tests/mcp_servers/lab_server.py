"""A small MCP server for tests/tools/test_mcp.py, written with the mcp SDK's FastMCP.

Run over stdio (`python lab_server.py`), streamable HTTP (`--http PORT`) or SSE (`--sse PORT`).
Its tools let a test see what the client did: a per-session counter (is the session kept?), the
server's environment and request headers (did a secret leak?), its pid (to kill it), an image and
mixed content blocks (are results readable?).
"""

from __future__ import annotations

import argparse
import base64
import os
from collections import defaultdict

from mcp import types
from mcp.server.fastmcp import Context, FastMCP, Image

# A 1x1 PNG: tests compare the byte count the client reports with len(PNG).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def build(host: str = "127.0.0.1", port: int = 8000) -> FastMCP:
    server = FastMCP("lab", host=host, port=port, log_level="WARNING")
    counts: dict[int, int] = defaultdict(int)

    @server.tool()
    def increment(ctx: Context) -> int:
        """Add one to this session's counter and return it."""
        counts[id(ctx.session)] += 1
        return counts[id(ctx.session)]

    @server.tool()
    def env_value(name: str) -> str:
        """The server's value of an environment variable, as repr (None when unset)."""
        return repr(os.environ.get(name))

    @server.tool()
    def request_header(name: str, ctx: Context) -> str:
        """A header of the current HTTP request (None over stdio)."""
        request = ctx.request_context.request
        return repr(request.headers.get(name) if request is not None else None)

    @server.tool()
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool()
    def echo(text: str) -> str:
        """Echo text back, marked with this server's name."""
        return f"lab:{text}"

    @server.tool()
    def plot() -> Image:
        """A tiny PNG image."""
        return Image(data=PNG, format="png")

    @server.tool()
    def fail(reason: str) -> str:
        """Always fails with the given reason."""
        raise ValueError(reason)

    @server.tool()
    def stats() -> dict[str, float]:
        """Structured numbers."""
        return {"mean": 0.5, "count": 3.0}

    @server.tool()
    async def count_to(n: int, ctx: Context) -> str:
        """Count to n, reporting progress at each step."""
        for i in range(1, n + 1):
            await ctx.report_progress(i, n, f"step {i}")
        return f"counted to {n}"

    @server.tool()
    async def grow(ctx: Context) -> str:
        """Add a tool named `extra` and tell the client that the tool list changed."""

        def extra() -> str:
            return "extra!"

        server.add_tool(extra, name="extra", description="Added at run time.")
        await ctx.session.send_tool_list_changed()
        return "grown"

    @server.tool(structured_output=False)
    def report() -> list:
        """Text, an embedded text resource and a link to a resource."""
        return [
            types.TextContent(type="text", text="run finished"),
            types.EmbeddedResource(
                type="resource",
                resource=types.TextResourceContents(
                    uri="file:///runs/1/log.txt", mimeType="text/plain", text="loss=0.1"
                ),
            ),
            types.ResourceLink(
                type="resource_link",
                name="weights",
                uri="file:///runs/1/model.bin",
                mimeType="application/octet-stream",
            ),
        ]

    return server


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP on 127.0.0.1:PORT")
    parser.add_argument("--sse", type=int, metavar="PORT", help="serve the legacy SSE transport on 127.0.0.1:PORT")
    opts = parser.parse_args()
    if opts.http:
        build(port=opts.http).run("streamable-http")
    elif opts.sse:
        build(port=opts.sse).run("sse")
    else:
        build().run("stdio")
