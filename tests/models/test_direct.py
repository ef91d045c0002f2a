"""models/direct.py: our own models are called past langchain-core's run bookkeeping only when nothing
listens; the answer is the same either way, and a listener (Studio's `messages` stream, LangSmith tracing)
still gets every token."""

from __future__ import annotations

from fakes.openai_server import FakeOpenAI, reply
from helpers import call, open_agent, write_replay
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.messages import AIMessageChunk, HumanMessage
from langchain_core.prompt_values import ChatPromptValue
from langchain_core.runnables.config import var_child_runnable_config

from models import direct
from models.openai_compat import OpenAICompatChat
from models.replay import ReplayChatModel

SCRIPT = [{"content": "Reading it now.", "tool_calls": [call("read", {"path": "a.txt"}, "c1")],
           "usage": {"input_tokens": 50, "output_tokens": 7}, "finish_reason": "tool_calls"}]  # fmt: skip


async def summed(chunks) -> AIMessageChunk:
    full = None
    async for chunk in chunks:
        full = chunk if full is None else full + chunk
    assert full is not None
    return full


def same_answer(a: AIMessageChunk, b: AIMessageChunk) -> None:
    assert (a.content, a.tool_calls, a.usage_metadata) == (b.content, b.tool_calls, b.usage_metadata)
    assert a.response_metadata.get("finish_reason") == b.response_metadata.get("finish_reason")
    assert a.id and b.id


async def test_the_direct_answer_is_the_stock_answer(tmp_path):
    prompt = [HumanMessage("read a.txt")]
    path = write_replay(tmp_path / "s.jsonl", SCRIPT)
    first, second = ReplayChatModel(path), ReplayChatModel(path)
    assert direct.direct(first)
    same_answer(await summed(direct.astream(first, prompt)), await summed(second.astream(prompt)))

    with FakeOpenAI([reply("five", prompt_tokens=9, completion_tokens=1)] * 2) as server:
        chat = OpenAICompatChat(model="test-model", base_url=server.base_url)
        ours = await summed(direct.astream(chat, prompt))
        stock = await summed(chat.astream(ChatPromptValue(messages=prompt)))
    same_answer(ours, stock)
    assert str(ours.content).strip() == "five" and ours.usage_metadata and ours.usage_metadata["input_tokens"] == 9


class Tokens(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    async def on_llm_new_token(self, token: str, **kwargs) -> None:
        self.tokens.append(token)


async def test_a_listener_gets_the_stock_path(tmp_path):
    chat = ReplayChatModel(write_replay(tmp_path / "s.jsonl", SCRIPT))
    handler = Tokens()
    token = var_child_runnable_config.set({"callbacks": [handler]})
    try:
        assert not direct.direct(chat)
        await summed(direct.astream(chat, [HumanMessage("go")]))
    finally:
        var_child_runnable_config.reset(token)
    assert "".join(handler.tokens) == "Reading it now."

    assert direct.direct(chat)  # and with the handler gone, the direct path again


async def test_studios_messages_stream_still_streams_the_answer(tmp_path, workspace):
    """The `messages` stream mode (what LangGraph Studio and the SDK show token by token) attaches a handler."""
    path = write_replay(tmp_path / "s.jsonl", [{"content": "The sum is 5, as computed."}])
    async with open_agent(f"replay:{path}", workspace) as agent:
        session = await agent.new_session()
        graph_input = {"messages": [HumanMessage("add 2 and 3")]}
        streamed = [
            chunk
            async for chunk, _meta in agent.graph.astream(
                graph_input, session.config, context=agent.deps, stream_mode="messages"
            )
            if isinstance(chunk, AIMessageChunk)
        ]
    assert "".join(str(c.content) for c in streamed) == "The sum is 5, as computed."
