"""A session's checkpoint as the page draws it: prompts, answers, tool cards, pending approvals, the plan.

A reloaded page draws this first and then follows the running turn's events, so what it shows is rebuilt
from the checkpoint, never from anything the browser kept.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from core.protocol import injected_tag
from nodes.approval import REJECTED_TEXT


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks: keep the text ones
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content)


def page_items(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """One item per thing on the page: {"kind": "user" | "assistant" | "tool" | "note", ...}."""
    items: list[dict[str, Any]] = []
    tools: dict[str, dict[str, Any]] = {}
    for message in messages:
        if isinstance(message, HumanMessage):
            tag = injected_tag(message.additional_kwargs)
            if tag:
                items.append({"kind": "note", "text": f"[{tag}]"})
            else:
                items.append({"kind": "user", "text": _text(message.content)})
        elif isinstance(message, AIMessage):
            text = _text(message.content)
            if text.strip():
                items.append({"kind": "assistant", "text": text})
            for call in message.tool_calls:
                card = {
                    "kind": "tool",
                    "id": call["id"],
                    "name": call["name"],
                    "args": call["args"],
                    "state": "pending",
                }
                tools[call["id"] or ""] = card
                items.append(card)
        elif isinstance(message, ToolMessage):
            card = tools.get(message.tool_call_id)
            if card is None:
                continue
            card["output"] = _text(message.content)
            card["is_error"] = message.status == "error"
            if card["is_error"]:
                card["state"] = "rejected" if card["output"].startswith(REJECTED_TEXT) else "failed"
            else:
                card["state"] = "done"
    return items


def export_jsonl(info: dict[str, Any], values: dict[str, Any], secrets: list[str]) -> str:
    """The session as JSONL (a header line, then one line per message), secrets redacted: what `ml-intern
    sessions export` writes, so the two can be read by the same tools."""
    from core.redact import known_secrets, redact_many

    header = {"type": "session", **info, "plan": values.get("plan") or [], "usage": values.get("usage") or {}}
    records: list[dict[str, Any]] = [header]
    for message in values.get("messages", []):
        record: dict[str, Any] = {"type": "message", "role": message.type, "content": message.content}
        if getattr(message, "tool_calls", None):
            record["tool_calls"] = [{"id": c["id"], "name": c["name"], "args": c["args"]} for c in message.tool_calls]
        if isinstance(message, ToolMessage):
            record.update(tool_call_id=message.tool_call_id, name=message.name, status=message.status)
        records.append(record)
    lines = [json.dumps(r, default=str) for r in redact_many(records, known_secrets(secrets))]
    return "\n".join(lines) + "\n"
