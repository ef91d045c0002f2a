"""Tool profiles: which tools a session offers, and how much of a small window their schemas take.

All 22 built-in tools' schemas take ~6,400 tokens: most of an 8k local model's window before the task is
even read. Under SMALL_WINDOW the `core` profile offers the tools a coding task needs (plan, bash, the file
tools, local jobs) with descriptions cut to their first sentence (~1,300 tokens); the rest come on request.

A profile is named by the config's `tool_profile` or `--tools`:
  auto        core when the model's window is known and under SMALL_WINDOW, else full (the default)
  full | all  every tool, whole descriptions
  core        the core tools, short descriptions
  core,NAME   the core tools plus the tools named (whole descriptions for those)
  NAME,NAME   only the tools named
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from tools.base import Tool
from tools.registry import ToolRegistry

CORE_TOOLS = ("plan_tool", "bash", "read", "write", "edit", "glob", "grep", "jobs")
SMALL_WINDOW = 16_000


class UnknownTools(ValueError):
    """--tools named a tool this session does not have (the message lists the known ones)."""


@dataclass(frozen=True)
class Profile:
    name: str  # core | full | custom
    tools: tuple[str, ...]
    short: frozenset[str]  # tools offered with their short description

    def describe(self, window: int | None) -> str:
        why = f" for a {window}-token window" if window and self.name == "core" else ""
        more = "; more with --tools full or --tools core,NAME" if self.name != "full" else ""
        return f"tool profile {self.name}{why}: {len(self.tools)} tools ({', '.join(self.tools)}){more}"


_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.")


def first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence: not an abbreviation's ("e.g. '1'"), not inside brackets."""
    flat = " ".join(text.split())
    for end in re.finditer(r"[.!?](?=\s+[A-Z(`\"']|$)", flat):
        head = flat[: end.end()]
        if head.endswith(_ABBREVIATIONS) or head.count("(") > head.count(")"):
            continue
        return head
    return flat


def _short_schema(schema: Any) -> Any:
    """Field descriptions cut to their first sentence too."""
    if isinstance(schema, dict):
        return {
            k: first_sentence(v) if k == "description" and isinstance(v, str) else _short_schema(v)
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_short_schema(v) for v in schema]
    return schema


def choose(spec: str, window: int | None, available: list[str]) -> Profile:
    """The profile `spec` names (see the module docstring) for a model with `window` tokens."""
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        spec = "core" if window and window < SMALL_WINDOW else "full"
    if spec in {"full", "all"}:
        return Profile("full", tuple(available), frozenset())
    names = [n.strip() for n in spec.split(",") if n.strip()]
    core = [n for n in CORE_TOOLS if n in available]
    wanted: list[str] = []
    for name in names:
        wanted += core if name == "core" else [name]
    unknown = [n for n in wanted if n not in available]
    if unknown:
        raise UnknownTools(
            f"--tools names unknown tool(s) {', '.join(unknown)}: use full, core, core,NAME or names from "
            + ", ".join(available)
        )
    ordered = tuple(n for n in available if n in wanted)
    return Profile(
        "core" if names == ["core"] else "custom", ordered, frozenset(core) if "core" in names else frozenset()
    )


def shortened(tool: Tool) -> Tool:
    """The tool with a one-sentence description and short field descriptions (the same behaviour)."""
    params = tool.schema()["function"]["parameters"]
    return replace(tool, description=first_sentence(tool.description), parameters=_short_schema(params))


def apply(registry: ToolRegistry, profile: Profile) -> ToolRegistry:
    """A registry with the profile's tools, in the registry's order."""
    if profile.name == "full":
        return registry
    return ToolRegistry(shortened(t) if t.name in profile.short else t for t in registry if t.name in profile.tools)
