"""A chat model for local OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LM Studio) on httpx alone.

litellm, with the openai SDK it imports, takes ~3 s of CPU to import (more on a loaded machine), paid before
the first request; importing in a thread does not hide it, the import holds the GIL. A local server speaks
one protocol, OpenAI's chat completions, so a call to it needs only an HTTP client: the first request leaves
~3 s sooner. Keyed providers (Anthropic, OpenAI, the HF router) still go through litellm, whose model map
gives their prices and context windows.

Streams text and tool calls as LangChain chunks (the raw argument text of each call is kept, so llm_call
sees malformed JSON); usage comes from the final chunk (stream_options.include_usage), or is estimated when
the server sends none (llama-cpp-python does not), flagged `usage_estimated` in the response metadata. A
stream that ends without a finish reason raises ProviderError(EMPTY_ANSWER): it was cut off, whatever it held.
An empty stream (llama-cpp-python's server answers a context overflow during streaming with 200 and no body)
is asked again without streaming, which brings the server's real error (400, "maximum context length is 8192
tokens") or the answer. An HTTP error raises ServerError with the status, the server's message and the response
(retry-after), which models.errors.classify maps like litellm's exceptions. No retries here: llm_call retries.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, ClassVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, UsageMetadata, convert_to_openai_messages
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from models.errors import ErrorKind, ProviderError
from models.tokens import estimate_messages, estimate_schemas

CONNECT_TIMEOUT_S = 10.0
# A local model on a CPU can think for many minutes: a whole non-streamed answer of 300 tokens took 17 minutes
# on a loaded 2-core machine (llama-cpp-python, 1.5B Q4). A read timeout shorter than that makes the client
# give up and ask again while the server is still working on the first request.
READ_TIMEOUT_S = 3600.0


class ServerError(Exception):
    """The server answered with an HTTP error."""

    def __init__(self, status_code: int, message: str, response: Any = None):
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.response = response


class OpenAICompatChat(BaseChatModel):
    calls_direct: ClassVar[bool] = True  # models.direct: plain BaseMessages in, chunks out
    model: str
    base_url: str
    api_key: str = "local"
    streaming: bool = True
    bound_tools: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "openai-compatible"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> OpenAICompatChat:
        """Tools as OpenAI function schemas (what tools.registry already produces)."""
        from langchain_core.utils.function_calling import convert_to_openai_tool

        return self.model_copy(update={"bound_tools": [convert_to_openai_tool(t) for t in tools]})

    # -- the request ---------------------------------------------------------------------------

    def _request(self, messages: list[BaseMessage], stream: bool, stop: list[str] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": convert_to_openai_messages(messages)}
        if self.bound_tools:
            body["tools"] = self.bound_tools
        if stop:
            body["stop"] = stop
        if stream:
            body.update(stream=True, stream_options={"include_usage": True})
        return body

    def _prompt_tokens(self, messages: list[BaseMessage]) -> int:
        """An estimate of the prompt, for a server that reports no usage (llama-cpp-python's stream); it walks the
        whole history, so it is asked for only then."""
        return estimate_messages(messages) + (estimate_schemas(self.bound_tools) if self.bound_tools else 0)

    @property
    def _url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def _client_args(self) -> dict[str, Any]:
        import httpx

        return {
            "timeout": httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            "headers": {"Authorization": f"Bearer {self.api_key}"},
        }

    # -- answers -------------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        import httpx

        with httpx.Client(**self._client_args()) as client:
            response = client.post(self._url, json=self._request(messages, False, stop))
            _raise_for_status(response, response.content)
            return _result(response.json(), lambda: self._prompt_tokens(messages))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        import httpx

        async with httpx.AsyncClient(**self._client_args()) as client:
            response = await client.post(self._url, json=self._request(messages, False, stop))
            _raise_for_status(response, response.content)
            return _result(response.json(), lambda: self._prompt_tokens(messages))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        import httpx

        with (
            httpx.Client(**self._client_args()) as client,
            client.stream("POST", self._url, json=self._request(messages, True, stop)) as response,
        ):
            if response.status_code >= 400:
                _raise_for_status(response, response.read())
            tally = _Tally()
            for line in response.iter_lines():
                for chunk in _chunks(line):
                    tally.see(chunk)
                    if run_manager and chunk.text:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        if not tally.pieces:  # an empty stream hides the server's error: ask once more without streaming
            yield _as_chunk(self._generate(messages, stop))
        elif last := tally.last(lambda: self._prompt_tokens(messages)):
            yield last

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        import httpx

        async with (
            httpx.AsyncClient(**self._client_args()) as client,
            client.stream("POST", self._url, json=self._request(messages, True, stop)) as response,
        ):
            if response.status_code >= 400:
                _raise_for_status(response, await response.aread())
            tally = _Tally()
            async for line in response.aiter_lines():
                for chunk in _chunks(line):
                    tally.see(chunk)
                    if run_manager and chunk.text:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        if not tally.pieces:  # an empty stream hides the server's error: ask once more without streaming
            result = await self._agenerate(messages, stop)
            yield _as_chunk(result)
        elif last := tally.last(lambda: self._prompt_tokens(messages)):
            yield last


def _as_chunk(result: ChatResult) -> ChatGenerationChunk:
    """A whole answer as one stream chunk (the raw arguments of its calls kept, as a stream carries them)."""
    message = result.generations[0].message
    assert isinstance(message, AIMessage)
    calls = [
        tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
        for i, c in enumerate(message.tool_calls)
    ]
    calls += [
        tool_call_chunk(name=c.get("name"), args=c.get("args"), id=c.get("id"), index=len(calls) + i)
        for i, c in enumerate(message.invalid_tool_calls)
    ]
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content=message.content,
            tool_call_chunks=calls,
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
        )
    )


class _Tally:
    """What a stream brought so far; at its end, `last` raises if it was cut off, or gives the usage chunk an
    estimate makes when the server sent none (a token count of 0 would read as a call that cost nothing)."""

    def __init__(self) -> None:
        self.pieces, self.finished, self.usage, self.chars = 0, False, False, 0

    def see(self, chunk: ChatGenerationChunk) -> None:
        message = chunk.message
        assert isinstance(message, AIMessageChunk)
        self.pieces += 1
        self.finished = self.finished or bool(message.response_metadata.get("finish_reason"))
        self.usage = self.usage or message.usage_metadata is not None
        self.chars += len(chunk.text) + sum(len(c.get("args") or "") for c in message.tool_call_chunks)

    def last(self, prompt_tokens: Callable[[], int]) -> ChatGenerationChunk | None:
        if not self.finished:
            raise _cut_off(self.pieces)
        if self.usage:
            return None
        usage = _estimated(prompt_tokens(), self.chars // 4 + 1)
        return ChatGenerationChunk(
            message=AIMessageChunk(content="", usage_metadata=usage, response_metadata=ESTIMATED)
        )


ESTIMATED = {"usage_estimated": True}  # response_metadata of an answer whose token counts are estimates


def _estimated(prompt: int, completion: int) -> UsageMetadata:
    return UsageMetadata(input_tokens=prompt, output_tokens=completion, total_tokens=prompt + completion)


def _cut_off(pieces: int) -> ProviderError:
    """A stream that ended without a finish reason was cut off (llama-cpp-python's server answers a context
    overflow during streaming with 200 and an empty stream): an error, never a complete answer."""
    if not pieces:
        return ProviderError(ErrorKind.EMPTY_ANSWER, "the server's stream was empty: no answer, no finish reason")
    return ProviderError(ErrorKind.EMPTY_ANSWER, "the server's stream ended without a finish reason (cut off)")


def _raise_for_status(response: Any, body: bytes) -> None:
    if response.status_code < 400:
        return
    message = body.decode("utf-8", "replace")[:1000]
    try:
        error = json.loads(body).get("error")
        message = (error.get("message") if isinstance(error, dict) else error) or message
    except (ValueError, AttributeError):
        pass
    raise ServerError(response.status_code, str(message), response)


def _usage(usage: dict[str, Any] | None) -> UsageMetadata | None:
    if not usage:
        return None
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    return UsageMetadata(input_tokens=prompt, output_tokens=completion, total_tokens=prompt + completion)


def _chunks(line: str) -> list[ChatGenerationChunk]:
    """The chunks of one server-sent-events line ("data: {...}")."""
    if not line.startswith("data:"):
        return []
    data = line[5:].strip()
    if not data or data == "[DONE]":
        return []
    event = json.loads(data)
    if isinstance(event.get("error"), dict):  # some servers report a failure inside the stream
        raise ServerError(500, str(event["error"].get("message") or event["error"]))
    out = []
    for choice in event.get("choices") or []:
        delta = choice.get("delta") or {}
        calls = [
            tool_call_chunk(
                name=(call.get("function") or {}).get("name"),
                args=(call.get("function") or {}).get("arguments"),
                id=call.get("id"),
                index=call.get("index", i),
            )
            for i, call in enumerate(delta.get("tool_calls") or [])
        ]
        finish = choice.get("finish_reason")
        metadata = {"finish_reason": finish, "model_name": event.get("model")} if finish else {}
        out.append(
            ChatGenerationChunk(
                message=AIMessageChunk(
                    content=delta.get("content") or "", tool_call_chunks=calls, response_metadata=metadata
                )
            )
        )
    usage = _usage(event.get("usage"))
    if usage:
        out.append(ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage)))
    return out


def _result(body: dict[str, Any], prompt_tokens: Callable[[], int]) -> ChatResult:
    choice = (body.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    calls, invalid = [], []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        raw = function.get("arguments") or ""
        try:
            args = json.loads(raw) if raw.strip() else {}
            if not isinstance(args, dict):
                raise ValueError("arguments must be a JSON object")
            calls.append({"name": function.get("name") or "", "args": args, "id": call.get("id"), "type": "tool_call"})
        except ValueError as exc:
            invalid.append(
                {
                    "name": function.get("name"),
                    "args": raw,
                    "id": call.get("id"),
                    "error": str(exc),
                    "type": "invalid_tool_call",
                }
            )
    metadata = {"finish_reason": choice.get("finish_reason"), "model_name": body.get("model")}
    usage = _usage(body.get("usage"))
    if usage is None:
        text = (message.get("content") or "") + json.dumps(message.get("tool_calls") or [])
        usage, metadata = _estimated(prompt_tokens(), len(text) // 4 + 1), {**metadata, **ESTIMATED}
    answer = AIMessage(
        content=message.get("content") or "",
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage,
        response_metadata=metadata,
    )
    return ChatResult(generations=[ChatGeneration(message=answer)])
