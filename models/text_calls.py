"""Tool calls that a local model wrote as text instead of through the tool-calling interface.

Small local models (and servers whose chat template does not parse their output) often answer with the call
in the text: Hermes/Qwen `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`, Llama's
`<function=NAME>{...}</function>`, Qwen3-Coder's `<function=NAME><parameter=K>V</parameter></function>`, a
`<tools><function name="NAME">{...}</function></tools>` block, or a bare / fenced JSON object
`{"name": ..., "arguments": {...}}` (file content often as a Python triple-quoted string, read as a JSON string).
The server then returns no calls and the turn would end on prose.

`recover(text, tool_names)` reads such calls back. A tagged call is taken whatever its name (an unknown name
gets the usual "unknown tool" result, which teaches); a bare or fenced JSON object when it names a known tool,
or when it is the whole answer and spelled as a call (name and arguments), so an example in prose is not run.
When the text shows a call's markup, or a JSON block naming one of the tools, but nothing could be read from
it, `unreadable` says what was seen, so the model can be told once how to write it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_DECODER = json.JSONDecoder()
# markup that says "this was meant as a tool call"
_MARKERS = re.compile(r"<tool_call>|<function[=\s>]|<tools>|<\|python_tag\|>|\[TOOL_CALLS\]", re.I)
_TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|(?=<tool_call>)|\Z)", re.S | re.I)
_FUNCTION_EQ = re.compile(r"<function=([\w.\-]+)>\s*(.*?)\s*(?:</function>|(?=<function[=\s])|\Z)", re.S | re.I)
_FUNCTION_ATTR = re.compile(
    r"<function\s+name\s*=\s*[\"']?([\w.\-]+)[\"']?\s*>\s*(.*?)\s*(?:</function>|(?=<function[=\s])|\Z)",
    re.S | re.I,
)
_PARAMETER = re.compile(r"<parameter=([\w.\-]+)>\s*(.*?)\s*(?:</parameter>|(?=<parameter=)|\Z)", re.S | re.I)
_TOOLS_BLOCK = re.compile(r"<tools>\s*(.*?)\s*(?:</tools>|\Z)", re.S | re.I)
# every fenced block, whatever its language (a block's closing fence is never read as the next one's opening;
# small models put a JSON call in a ```python block too)
_ANY_FENCE = re.compile(r"```([\w+-]*)[ \t]*\n(.*?)```", re.S)
_STRAY_TAGS = re.compile(r"</?(tool_call|tools|function)[^>]*>", re.I)
_TRIPLE_QUOTED = re.compile(r'"""(.*?)"""', re.S)  # a Python string in JSON: what small models write for file content
_NAMED = re.compile(r'"(?:name|tool|function)"\s*:\s*"([\w.\-]+)"')


@dataclass
class Recovered:
    """What was read from an answer's text."""

    calls: list[dict[str, Any]] = field(default_factory=list)  # {"name", "args"}
    text: str = ""  # the answer's text without the calls' markup
    unreadable: str | None = None  # a snippet of markup that looked like a call but could not be read


def _first_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text` (models add prose or a second object after it)."""
    start = text.find("{")
    while start != -1:
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def _objects(text: str) -> list[dict[str, Any]]:
    """Every top-level JSON object in `text`, or a list of them."""
    found, index = [], 0
    while True:
        start = min((i for i in (text.find("{", index), text.find("[", index)) if i != -1), default=-1)
        if start == -1:
            return found
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            index = start + 1
            continue
        items = value if isinstance(value, list) else [value]
        found += [v for v in items if isinstance(v, dict)]
        index = end


def _arguments(value: Any) -> dict[str, Any] | None:
    """A call's arguments: an object, or an object encoded as a JSON string (OpenAI's wire shape)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _as_call(obj: dict[str, Any]) -> dict[str, Any] | None:
    """{"name", "arguments"|"parameters"|"args"} (also nested in "function") -> a call, else None."""
    if isinstance(obj.get("function"), dict):
        obj = obj["function"]
    name = obj.get("name") or obj.get("tool") or obj.get("tool_name") or obj.get("function")
    if not isinstance(name, str) or not name.strip():
        return None
    raw = next((obj[k] for k in ("arguments", "parameters", "args", "input") if k in obj), {})
    args = _arguments(raw)
    return None if args is None else {"name": name.strip(), "args": args}


def _parameters(body: str) -> dict[str, Any]:
    """Qwen3-Coder's `<parameter=K>V</parameter>` values; a value that reads as JSON is taken as JSON."""
    args: dict[str, Any] = {}
    for key, raw in _PARAMETER.findall(body):
        try:
            args[key] = json.loads(raw)
        except ValueError:
            args[key] = raw
    return args


def _function_body(name: str, body: str) -> dict[str, Any] | None:
    if _PARAMETER.search(body):
        return {"name": name, "args": _parameters(body)}
    if not body.strip():
        return {"name": name, "args": {}}
    obj = _first_object(body)
    if obj is None:
        return None
    nested = _as_call(obj)  # some write <function=x>{"name": "x", "arguments": {...}}
    if nested is not None and nested["name"] == name:
        return nested
    return {"name": name, "args": obj}


def recover(text: str, tool_names: set[str] | frozenset[str]) -> Recovered:
    """The calls written in `text` (see the module docstring); none when the text has none."""
    if not text or not text.strip():
        return Recovered(text=text or "")
    calls: list[dict[str, Any]] = []
    failed: list[str] = []
    spans: list[tuple[int, int]] = []

    for match in _TOOL_CALL.finditer(text):
        body = match.group(1)
        inner = _FUNCTION_EQ.search(body) or _FUNCTION_ATTR.search(body)
        found = [_function_body(inner.group(1), inner.group(2))] if inner else [_as_call(o) for o in _objects(body)]
        good = [c for c in found if c is not None]
        calls += good
        if not good:
            failed.append(match.group(0))
        spans.append(match.span())
    if not spans:
        for pattern in (_FUNCTION_EQ, _FUNCTION_ATTR):
            for match in pattern.finditer(text):
                call = _function_body(match.group(1), match.group(2))
                if call is None:
                    failed.append(match.group(0))
                else:
                    calls.append(call)
                spans.append(match.span())
    if not spans:
        for match in _TOOLS_BLOCK.finditer(text):
            found = [c for c in map(_as_call, _objects(match.group(1))) if c]
            calls += found
            if not found:
                failed.append(match.group(0))
            spans.append(match.span())
    if not spans:  # bare or fenced JSON: only for a tool this session has, or when the call is the whole answer
        alone = _only_json(_repaired(_ANY_FENCE.sub(lambda m: m.group(2), text)))
        for match in _ANY_FENCE.finditer(text):
            objects = _objects(_repaired(match.group(2)))
            found = [c for c in map(_as_call, objects) if c and c["name"] in tool_names]
            if not found and alone:  # {"name": "inspect", "arguments": {...}} and nothing else: "unknown tool" teaches
                found = [c for o in objects if _spelled_as_call(o) and (c := _as_call(o))]
            if found:
                calls += found
                spans.append(match.span())
            elif _names_a_tool(match.group(2), tool_names):
                failed.append(match.group(0))
        if not spans:
            bare = _repaired(text)
            found = [c for c in map(_as_call, _objects(bare)) if c and c["name"] in tool_names]
            if found and _only_json(bare):
                calls += found
                spans.append((0, len(text)))
            elif not failed and text.lstrip().startswith("{") and _names_a_tool(text, tool_names):
                failed.append(text)

    remaining = _without(text, spans)
    if not calls and not failed and (marker := _MARKERS.search(text)):
        failed.append(text[marker.start() :])
    if calls:
        remaining = _STRAY_TAGS.sub("", remaining)
    unreadable = failed[0][:300] if failed and not calls else None
    return Recovered(calls=calls, text=remaining.strip(), unreadable=unreadable)


def _repaired(text: str) -> str:
    """`text` with Python triple-quoted strings made JSON strings (`"content": ` then three quotes); else as is."""
    return _TRIPLE_QUOTED.sub(lambda m: json.dumps(m.group(1)), text) if '"""' in text else text


def _spelled_as_call(obj: dict[str, Any]) -> bool:
    """{"name": str, "arguments" | "parameters": ...}: a call's shape, whatever the name."""
    return isinstance(obj.get("name"), str) and ("arguments" in obj or "parameters" in obj)


def _names_a_tool(text: str, tool_names: set[str] | frozenset[str]) -> bool:
    """Whether JSON-looking text names one of the session's tools as a call's name (it was meant as a call)."""
    return any(name in tool_names for name in _NAMED.findall(text))


def _only_json(text: str) -> bool:
    """Whether `text` is JSON alone (give or take whitespace and stray call tags), not prose quoting JSON."""
    stripped = _STRAY_TAGS.sub("", text).strip()
    index, objects = 0, 0
    while index < len(stripped):
        if stripped[index].isspace() or stripped[index] == ",":
            index += 1
            continue
        try:
            _, index = _DECODER.raw_decode(stripped, index)
        except ValueError:
            return False
        objects += 1
    return objects > 0


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in sorted(spans):
        if start >= last:
            out.append(text[last:start])
            last = end
    out.append(text[last:])
    return "".join(out)
