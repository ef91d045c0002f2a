"""Calling our own chat models past langchain-core's run bookkeeping when no callback listens.

`BaseChatModel.astream` and `ainvoke` format the whole prompt for tracing and normalize every message before
the model sees them, on every call: the biggest part of a step's cost that grows with the history. That work
feeds callback handlers (LangGraph's `messages` stream mode that Studio uses, LangSmith tracing, a user's
handler). ml-intern's own runs stream through custom events and attach none, so for the models whose
`_astream`/`_agenerate` we wrote (`DIRECT_CALLS`: they take plain BaseMessages) the answer is taken straight
from them. With any handler present, or for any other model, the stock path runs unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManager
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.prompt_values import ChatPromptValue
from langchain_core.runnables.config import ensure_config

DIRECT_CALLS = "calls_direct"  # class attribute: True on a chat model whose _astream/_agenerate may be called as is


def direct(chat: Any) -> bool:
    """Whether this call may skip the stock path: one of our models, no rate limiter, nobody listening."""
    if not (isinstance(chat, BaseChatModel) and getattr(type(chat), DIRECT_CALLS, False)) or chat.rate_limiter:
        return False
    manager = AsyncCallbackManager.configure(ensure_config().get("callbacks"), chat.callbacks, chat.verbose)
    return not manager.handlers  # configure adds the tracer when LangSmith tracing is on


def astream(chat: Any, messages: Sequence[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
    """The answer's chunks, as `chat.astream` yields them (ids set, the last one marked)."""
    if direct(chat):
        return _direct_chunks(chat, list(messages))
    return chat.astream(ChatPromptValue.model_construct(messages=list(messages)))


async def ainvoke(chat: Any, messages: Sequence[BaseMessage]) -> AIMessage:
    """The whole answer, as `chat.ainvoke` returns it."""
    if direct(chat):
        result = await chat._agenerate(list(messages))
        message = result.generations[0].message
        if message.id is None:
            message.id = _run_id()
        return message
    return await chat.ainvoke(ChatPromptValue.model_construct(messages=list(messages)))


async def _direct_chunks(chat: BaseChatModel, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
    run_id = _run_id()
    last: AIMessageChunk | None = None
    async for generation in chat._astream(messages):
        chunk = generation.message
        assert isinstance(chunk, AIMessageChunk)  # what a chat model's _astream yields
        if chunk.id is None:
            chunk.id = run_id
        if generation.generation_info:
            chunk.response_metadata = {**generation.generation_info, **chunk.response_metadata}
        last = chunk
        yield chunk
    if last is not None and not last.chunk_position:  # the marker that makes the summed chunks parse their calls
        yield AIMessageChunk(content="" if isinstance(last.content, str) else [], chunk_position="last", id=run_id)


def _run_id() -> str:
    return f"lc_run--{uuid.uuid4()}"
