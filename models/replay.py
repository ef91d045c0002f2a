"""The replay model: a chat model that plays back scripted assistant turns from a JSONL file.

One line per model call (a retried call consumes the next line). Every key is optional:
  {"content": str, "tool_calls": [{"name", "args", "id"}], "usage": {"input_tokens", "output_tokens"},
   "finish_reason": str, "delay_s": float, "error": "rate_limit|timeout|server_error|context_overflow|auth",
   "raw_arguments": {"<call id>": "<raw JSON string, possibly malformed>"}}
The position is per thread (session): two sessions replaying one script never share it. It lives in memory
while the process runs and is saved with the checkpoint: every answer carries the position of the next
line in its response_metadata, so a session resumed in another process (or forked) continues where it
stopped, with no file written on the hot path.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from models.errors import ErrorKind, ModelConfigError, ProviderError

_ERRORS = {
    "rate_limit": (ErrorKind.RATE_LIMIT, "rate limited (replayed)"),
    "timeout": (ErrorKind.TRANSIENT, "request timed out (replayed)"),
    "server_error": (ErrorKind.TRANSIENT, "server error 500 (replayed)"),
    "context_overflow": (ErrorKind.CONTEXT_OVERFLOW, "prompt is too long: context window exceeded (replayed)"),
    "auth": (ErrorKind.AUTH, "invalid API key (replayed)"),
}


class ReplayExhausted(ProviderError):
    def __init__(self, path: Path, used: int):
        super().__init__(
            ErrorKind.OTHER,
            f"replay file {path} has no more turns (all {used} used): add lines or start a new session",
        )


def load_script(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text()
    except OSError as e:
        raise ModelConfigError(f"cannot read replay file {path}: {e.strerror} (check --model replay:FILE)") from None
    turns = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            turn = json.loads(line)
        except json.JSONDecodeError as e:
            raise ModelConfigError(f"{path}:{number}: invalid JSON in replay file: {e.msg}") from None
        if not isinstance(turn, dict):
            raise ModelConfigError(f"{path}:{number}: each replay line must be a JSON object")
        if "error" in turn and turn["error"] not in _ERRORS:
            raise ModelConfigError(
                f"{path}:{number}: unknown error '{turn['error']}' (use one of {', '.join(_ERRORS)})"
            )
        turns.append(turn)
    return turns


POSITION_KEY = "replay"  # response_metadata: [script id, index of the next line]


def script_id(path: Path) -> str:
    return hashlib.sha1(str(path).encode()).hexdigest()[:10]


def saved_position(messages: Sequence[BaseMessage], script: str) -> int:
    """The next line after the newest answer of `script` in the history (0 when there is none)."""
    for message in reversed(messages):
        saved = message.response_metadata.get(POSITION_KEY) if isinstance(message, AIMessage) else None
        if isinstance(saved, list) and len(saved) == 2 and saved[0] == script:
            return int(saved[1])
    return 0


def current_thread() -> str | None:
    """The LangGraph thread (session) this call runs in, from the run's config."""
    from langchain_core.runnables.config import ensure_config

    return (ensure_config().get("configurable") or {}).get("thread_id")


def _estimate_tokens(messages: Sequence[BaseMessage], tools: Sequence[dict]) -> int:
    chars = sum(len(str(m.content)) + len(json.dumps(getattr(m, "tool_calls", None) or [])) for m in messages)
    chars += len(json.dumps(list(tools)))
    return chars // 4 + 1


class ReplayChatModel(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    calls_direct: ClassVar[bool] = True  # models.direct: plain BaseMessages in, chunks out

    path: Path
    bound_tools: list[dict] = Field(default_factory=list)
    _script: list[dict[str, Any]] = PrivateAttr()
    _script_id: str = PrivateAttr()
    _positions: dict[str | None, int] = PrivateAttr()  # thread -> next line; shared with bind_tools clones

    def __init__(self, path: Path | str, **kwargs: Any):
        # pyright reads BaseChatModel's synthesized __init__, which does not know our field `path`
        super().__init__(path=Path(path), **kwargs)  # pyright: ignore[reportCallIssue]
        self._script = load_script(self.path)
        self._script_id = script_id(self.path)
        self._positions = {}

    @property
    def _llm_type(self) -> str:
        return "replay"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ReplayChatModel:
        clone = self.model_copy(update={"bound_tools": list(tools)})
        clone._script, clone._script_id, clone._positions = self._script, self._script_id, self._positions
        return clone

    def forget(self, thread: str) -> None:
        """Take this thread's next line from its saved history again (a server run: the history may have moved
        since this process last answered in it, continued elsewhere or rewound to an earlier checkpoint)."""
        self._positions.pop(thread, None)

    def _take(self, messages: Sequence[BaseMessage]) -> int:
        """This thread's next line: in memory after its first call here, else from its saved history."""
        thread = current_thread()
        index = self._positions.get(thread)
        if index is None:
            index = saved_position(messages, self._script_id)
        self._positions[thread] = index + 1
        return index

    def _next_turn(self, messages: Sequence[BaseMessage]) -> tuple[dict[str, Any], AIMessage]:
        index = self._take(messages)
        if index >= len(self._script):
            raise ReplayExhausted(self.path, len(self._script))
        turn = self._script[index]
        if "error" in turn:
            kind, text = _ERRORS[turn["error"]]
            raise ProviderError(kind, text, retry_after=turn.get("retry_after_s"))
        raw = turn.get("raw_arguments") or {}
        tool_calls, invalid = [], []
        for call in turn.get("tool_calls") or []:
            call_id = call.get("id") or f"call_{uuid.uuid4().hex[:12]}"
            if call_id in raw:
                invalid.append(
                    {
                        "name": call["name"],
                        "args": raw[call_id],
                        "id": call_id,
                        "error": "malformed JSON arguments",
                        "type": "invalid_tool_call",
                    }
                )
            else:
                tool_calls.append(
                    {"name": call["name"], "args": call.get("args") or {}, "id": call_id, "type": "tool_call"}
                )
        usage = turn.get("usage") or {}
        input_tokens = int(usage.get("input_tokens") or _estimate_tokens(messages, self.bound_tools))
        output_tokens = int(usage.get("output_tokens") or (len(turn.get("content") or "") // 4 + 1))
        message = AIMessage(
            content=turn.get("content") or "",
            tool_calls=tool_calls,
            invalid_tool_calls=invalid,
            usage_metadata={
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
            },
            response_metadata={
                "finish_reason": turn.get("finish_reason") or ("tool_calls" if tool_calls or invalid else "stop"),
                "model_name": "replay",
                POSITION_KEY: [self._script_id, index + 1],  # saved with the checkpoint: resume continues here
            },
        )
        return turn, message

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._answer_blocking(messages))])

    def _answer_blocking(self, messages: Sequence[BaseMessage]) -> AIMessage:
        """The next scripted answer after its delay, for the synchronous API."""
        turn, message = self._next_turn(messages)
        if turn.get("delay_s"):
            import time

            time.sleep(float(turn["delay_s"]))
        return message

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        turn, message = self._next_turn(messages)
        if turn.get("delay_s"):
            await asyncio.sleep(float(turn["delay_s"]))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from _chunks(self._answer_blocking(messages))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        turn, message = self._next_turn(messages)
        pieces = list(_chunks(message))
        delay = float(turn.get("delay_s") or 0) / max(len(pieces), 1)
        for piece in pieces:
            if delay:
                await asyncio.sleep(delay)
            yield piece


def _chunks(message: AIMessage) -> Iterator[ChatGenerationChunk]:
    """Split a scripted answer into word-sized chunks; tool calls and usage ride on the last one."""
    text = str(message.content)
    words = text.split(" ")
    for _i, word in enumerate(words[:-1]):
        yield ChatGenerationChunk(message=AIMessageChunk(content=word + " ", id=message.id))
    tool_call_chunks = [
        tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
        for i, c in enumerate(message.tool_calls)
    ] + [
        tool_call_chunk(name=c["name"], args=c["args"], id=c["id"], index=len(message.tool_calls) + i)
        for i, c in enumerate(message.invalid_tool_calls)
    ]
    yield ChatGenerationChunk(
        message=AIMessageChunk(
            content=words[-1] if words else "",
            tool_call_chunks=tool_call_chunks,
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
            chunk_position="last",
        )
    )
