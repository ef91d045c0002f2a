"""A tool call's arguments checked against its model, with unambiguous near-misses repaired and errors that teach.

Small models get simple schemas wrong in a few predictable ways: a list or object sent as a JSON string
(`"todos": "[...]"`), a single value where a list is expected, a number as a string. Those are repaired
before validation when only one reading is possible (a tool's own model may repair more, as plan_tool does
with a list of strings for its todos). What still fails is answered with the errors, the expected shape and
a minimal valid example built from the schema, so the next call can be right.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

MAX_ERRORS = 8


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """The schema with a $ref (pydantic's `#/$defs/Name`) or a single-entry anyOf/allOf followed."""
    for _ in range(10):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            schema = {
                **root.get("$defs", {}).get(ref.split("/")[-1], {}),
                **{k: v for k, v in schema.items() if k != "$ref"},
            }
            continue
        for key in ("anyOf", "allOf", "oneOf"):
            options = [o for o in schema.get(key) or [] if o.get("type") != "null"]
            if len(options) == 1:
                schema = {**options[0], **{k: v for k, v in schema.items() if k != key}}
                break
        else:
            return schema
    return schema


def _kind(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    return kind if isinstance(kind, str) else None


def coerce(args: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`args` with unambiguous near-misses repaired for the fields of `schema` (an object schema)."""
    properties = schema.get("properties") or {}
    out = dict(args)
    for name, value in args.items():
        if name not in properties:
            continue
        out[name] = _coerce_value(value, _resolve(properties[name], schema), schema)
    return out


def _coerce_value(value: Any, schema: dict[str, Any], root: dict[str, Any]) -> Any:
    kind = _kind(schema)
    if isinstance(value, str) and kind in {"array", "object"}:
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if (kind == "array" and isinstance(parsed, list)) or (kind == "object" and isinstance(parsed, dict)):
            value = parsed
    if kind == "array" and isinstance(value, dict | str) and not isinstance(value, list):
        items = _resolve(schema.get("items") or {}, root)
        if (isinstance(value, dict) and _kind(items) == "object") or (
            isinstance(value, str) and _kind(items) == "string"
        ):
            value = [value]  # one item where a list of them is expected
    if kind == "array" and isinstance(value, list):
        items = _resolve(schema.get("items") or {}, root)
        value = [_coerce_value(v, items, root) for v in value]
    if kind == "object" and isinstance(value, dict) and schema.get("properties"):
        value = coerce(value, {**schema, "$defs": root.get("$defs", {})})
    if kind == "integer" and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if kind == "number" and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if kind == "boolean" and isinstance(value, str) and value.lower() in {"true", "false"}:
        value = value.lower() == "true"
    return value


def example(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A minimal valid value for `schema`: required fields only, each with a placeholder of its type."""
    root = root or schema
    schema = _resolve(schema, root)
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = _kind(schema)
    if kind == "object":
        properties = schema.get("properties") or {}
        return {k: example(properties[k], root) for k in schema.get("required") or [] if k in properties}
    if kind == "array":
        return [example(schema.get("items") or {"type": "string"}, root)]
    return {"integer": 1, "number": 1.0, "boolean": False, "string": "..."}.get(kind or "string", "...")


def _shape(schema: dict[str, Any], root: dict[str, Any], depth: int = 0) -> str:
    """A one-line type sketch: {todos: [{id: string, content: string, status?: "pending"|...}]}."""
    schema = _resolve(schema, root)
    if schema.get("enum"):
        return "|".join(json.dumps(v) for v in schema["enum"])
    kind = _kind(schema)
    if kind == "object" and depth < 3:
        required = set(schema.get("required") or [])
        fields = [
            f"{k}{'' if k in required else '?'}: {_shape(v, root, depth + 1)}"
            for k, v in (schema.get("properties") or {}).items()
        ]
        return "{" + ", ".join(fields) + "}"
    if kind == "array":
        return "[" + _shape(schema.get("items") or {}, root, depth + 1) + ", ...]"
    return kind or "any"


def teaching_error(tool_name: str, error: ValidationError, model: type[BaseModel]) -> str:
    """The errors, the expected shape and a minimal valid call, for the model to fix its next call."""
    lines = []
    for err in error.errors()[:MAX_ERRORS]:
        where = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        got = err.get("input")
        shown = "" if err["type"] == "missing" else f" (got {json.dumps(got, default=str)[:80]})"
        lines.append(f"- {where}: {err['msg']}{shown}")
    schema = model.model_json_schema()
    call = json.dumps(example(schema), ensure_ascii=False)
    return (
        f"Invalid arguments for {tool_name}; nothing was run:\n"
        + "\n".join(lines)
        + f"\nExpected arguments: {_shape(schema, schema)}\nA minimal valid call: {tool_name}({call})"
    )


def validate(tool_name: str, model: type[BaseModel], args: dict[str, Any]) -> BaseModel | str:
    """The validated arguments, or the teaching error text."""
    try:
        return model.model_validate(args)
    except ValidationError:
        pass
    schema = model.model_json_schema()
    try:
        return model.model_validate(coerce(args, schema))
    except ValidationError as e:
        return teaching_error(tool_name, e, model)
