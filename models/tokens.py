"""Cheap token estimates (about 4 characters a token): used between model calls, where the
provider's exact count for the last prompt is topped up with estimates of what was added since."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from langchain_core.messages import BaseMessage


def estimate_text(text: str) -> int:
    return len(text) // 4 + 1


def estimate_message(message: BaseMessage) -> int:
    content = message.content if isinstance(message.content, str) else json.dumps(message.content)
    calls = getattr(message, "tool_calls", None)
    return estimate_text(content) + (estimate_text(json.dumps(calls)) if calls else 0) + 4


def estimate_messages(messages: Iterable[BaseMessage]) -> int:
    return sum(estimate_message(m) for m in messages)


def estimate_schemas(schemas: list[dict[str, Any]]) -> int:
    return estimate_text(json.dumps(schemas))
