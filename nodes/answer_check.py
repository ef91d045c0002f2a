"""Checks on a turn's final answer before the turn may end "done".

A small model often answers with an account of work it never did ("I created hello.py and ran it: the output
is 5") without a single tool call. The engine cannot judge whether an answer is right, but it can see two
plain contradictions with what the turn did:

- a file the answer says was created, written or saved that does not exist in the workspace and that no
  tool call of the turn touched;
- an answer that reports work done (created, ran, trained, "step 1 completed") in a turn that called no tool;
- an answer that writes tool results itself (`<tool_response>...`, the chat template's markup for them).

The model is then asked once to do the work with its tools or to say that it is not done; a turn that keeps
the claim ends with stop_reason "unverified" (exit 1), not "done".
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from core.protocol import injected_tag

_FILE = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)*[\w-][\w.-]*\.(?:py|ipynb|txt|md|json|jsonl|csv|tsv|yaml|yml|toml|cfg|ini|sh|"
    r"log|pt|pth|bin|safetensors|pkl|joblib|onnx|parquet|png|html))(?![\w])",
    re.I,
)
_CREATE = re.compile(r"\b(created?|creating|wrote|written|writ(e|ing)|saved?|generated?|added|stored)\b", re.I)
_DONE = re.compile(
    r"\b(I(?:'ve| have)?|we(?:'ve| have)?)\s+(successfully\s+)?(created|wrote|written|ran|run|executed|trained|"
    r"saved|completed|implemented|installed|generated|fixed|tested)\b"
    r"|\b(has|have) been (successfully\s+)?(created|written|executed|run|trained|saved|completed|generated)\b"
    r"|\bstep \d+[^.\n]{0,40}\bcompleted?\b"
    # a report as bullets or headings with no subject: "- **Fixed the bug**: ...", "Executed `python train.py`"
    r"|^[\s*#>-]*(created|wrote|ran|executed|trained|saved|fixed|changed|implemented|installed|generated|tested)\b",
    re.I,
)
# a tool result written by the model itself: the chat template's result markup, in the answer's own text
_FAKE_RESULT = re.compile(r"<(tool_response|tool_result|tool_output)>", re.I)
_EARLIER = re.compile(r"\b(earlier|before|previously|already|last turn|previous turn|last time)\b", re.I)
_NEGATION = re.compile(r"\b(not|n't|cannot|unable|failed|could not|didn't|won't|no longer|instead of)\b", re.I)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def turn_messages(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The messages of the current user turn (after the latest message the user wrote)."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, HumanMessage) and not injected_tag(message.additional_kwargs):
            return list(messages[index + 1 :])
    return list(messages)


def _tool_text(turn: Sequence[BaseMessage]) -> str:
    """Everything the turn's tool calls named or returned (paths written, commands run, outputs)."""
    parts: list[str] = []
    for message in turn:
        if isinstance(message, AIMessage):
            parts += [json.dumps(c["args"]) for c in message.tool_calls]
        elif isinstance(message, ToolMessage):
            parts.append(str(message.content))
    return "\n".join(parts)


def unsupported_claims(answer: str, turn: Sequence[BaseMessage], workspace: Path) -> list[str]:
    """What the answer claims that the turn's tool calls do not back (one short line each); [] when nothing."""
    calls = sum(len(m.tool_calls) for m in turn if isinstance(m, AIMessage))
    tool_text = _tool_text(turn)
    found: list[str] = []
    if fake := _FAKE_RESULT.search(answer):
        found.append(f"the answer contains a <{fake.group(1)}> block: tool results come from tool calls, not your text")
    for sentence in _sentences(answer):
        if _NEGATION.search(sentence):
            continue
        files = list(dict.fromkeys(_FILE.findall(sentence)))
        existing = [name for name in files if (workspace / name).exists()]
        if _CREATE.search(sentence):
            for name in files:
                if name in tool_text or name in existing:
                    continue
                found.append(f"{name} does not exist and no tool call of this turn wrote it")
        # work reported in a turn without a tool call, unless the answer says it was done in an earlier turn
        if calls == 0 and _DONE.search(sentence) and not found and not _EARLIER.search(sentence):
            found.append(f'"{sentence.strip()[:120]}", but no tool was called in this turn')
    return list(dict.fromkeys(found))[:5]


def check_request(claims: list[str]) -> str:
    """The message that asks the model to back its claims or withdraw them."""
    listing = "\n".join(f"- {c}" for c in claims)
    return (
        f"Your answer reports work that the tools did not do:\n{listing}\n"
        "Nothing happens unless you call a tool. Do the work now with the tools (write the file, run the "
        "command, read its output), or answer plainly that it is not done."
    )
