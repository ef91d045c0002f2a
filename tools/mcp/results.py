"""Turn an MCP tool result into text the model can read.

The model only gets text back from a tool, so binary blocks become a one-line description
("[image: image/png, 1234 bytes]") instead of a wall of base64, and structured content is shown
only when the text blocks do not already carry it (FastMCP sends both for the same value).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from tools.base import ToolResult

if TYPE_CHECKING:
    from mcp import types


def render_result(result: types.CallToolResult) -> ToolResult:

    parts = [render_block(block) for block in result.content]
    structured = result.structuredContent
    if structured is not None and not _shown_as_text(structured, result.content):
        parts.append("structured content:\n" + json.dumps(structured, indent=2, ensure_ascii=False, default=str))
    text = "\n".join(p for p in parts if p)
    if not text:
        text = "(the tool reported an error without a message)" if result.isError else "(no output)"
    return ToolResult(text, is_error=bool(result.isError))


def render_block(block: Any) -> str:
    from mcp import types

    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent):
        return f"[image: {block.mimeType}, {_decoded_size(block.data)} bytes]"
    if isinstance(block, types.AudioContent):
        return f"[audio: {block.mimeType}, {_decoded_size(block.data)} bytes]"
    if isinstance(block, types.ResourceLink):
        label = block.title or block.name
        meta = ", ".join(x for x in (block.mimeType, f"{block.size} bytes" if block.size else None) if x)
        line = f"[resource link: {label} <{block.uri}>{f' ({meta})' if meta else ''}]"
        return f"{line} {block.description}" if block.description else line
    if isinstance(block, types.EmbeddedResource):
        res = block.resource
        mime = f", {res.mimeType}" if res.mimeType else ""
        if isinstance(res, types.TextResourceContents):
            return f"[resource: {res.uri}{mime}]\n{res.text}"
        if isinstance(res, types.BlobResourceContents):
            return f"[resource: {res.uri}{mime}, {_decoded_size(res.blob)} bytes]"
        return f"[resource: {res.uri}{mime}]"
    return f"[{getattr(block, 'type', type(block).__name__)} content]"


def _decoded_size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return len(data) * 3 // 4


def _shown_as_text(structured: dict[str, Any], content: list[Any]) -> bool:
    """True when the text blocks already say what the structured content says."""
    from mcp import types

    parsed = []
    for block in content:
        if isinstance(block, types.TextContent):
            try:
                parsed.append(json.loads(block.text))
            except ValueError:
                parsed.append(block.text)
    if not parsed:
        return False
    # FastMCP wraps a non-object return value as {"result": value}; a list becomes one block per item.
    candidates = [structured]
    if set(structured) == {"result"}:
        candidates.append(structured["result"])
    return any(p == c for p in parsed for c in candidates) or (len(parsed) > 1 and parsed in candidates)
