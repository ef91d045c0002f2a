"""Turns against a local OpenAI-compatible server, through the real client (models/openai_compat.py) and a fake
server that replays raw responses recorded from a real local model (llama-cpp-python's server with
Qwen2.5-Coder-1.5B-Instruct, tests/fakes/recorded/): calls written as text, empty and cut-off streams, a
context overflow caused by one oversized tool result, teaching validation errors, answers that claim work."""

from __future__ import annotations

import json

import pytest
from fakes.openai_server import FakeOpenAI, recorded, reply
from helpers import of_type, run_turn
from langchain_core.messages import HumanMessage, ToolMessage

from models import server_window
from tools.base import Risk, Tool

FAST = {"retries": {"base_delay_s": 0, "max_delay_s": 0}}


@pytest.fixture
def local(monkeypatch):
    """Start a fake llama.cpp server replaying `script`; the model id to use is llamacpp/qwen."""
    servers: list[FakeOpenAI] = []

    def start(script, **kw) -> FakeOpenAI:
        server = FakeOpenAI(script, models=["qwen"], **kw)
        server.__enter__()
        servers.append(server)
        monkeypatch.setenv("LLAMACPP_BASE_URL", server.base_url)
        return server

    server_window.forget()
    yield start
    for server in servers:
        server.__exit__(None, None, None)
    server_window.forget()


def injected(messages, tag):
    return [m for m in messages if isinstance(m, HumanMessage) and m.additional_kwargs.get("ml_intern") == tag]


def chats(server: FakeOpenAI) -> list[dict]:
    """The chat requests the server got (not its window lookups)."""
    return [r for r in server.requests if r["path"].endswith("/chat/completions")]


def sent_messages(server: FakeOpenAI, index: int) -> list[dict]:
    return chats(server)[index]["body"]["messages"]


def sse_body(*events: dict, done: bool = True) -> dict:
    """A streamed answer in llama-cpp-python's framing (sse-starlette: CRLF line ends), as a raw step."""
    raw = b"".join(b"data: " + json.dumps(e).encode() + b"\r\n\r\n" for e in events)
    return {"raw": raw + (b"data: [DONE]\r\n\r\n" if done else b""), "status": 200}


def chunk(content: str | None = None, finish: str | None = None) -> dict:
    delta = {"content": content} if content is not None else {}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "qwen",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


async def test_an_empty_stream_is_asked_again_without_streaming(local, workspace):
    server = local([sse_body(), reply("The answer is 5.")])
    events, messages, _ = await run_turn("llamacpp/qwen", workspace, settings=FAST)
    assert of_type(events, "turn_complete")[-1].status == "done"
    assert messages[-1].content == "The answer is 5."
    assert [r["body"].get("stream") for r in chats(server)] == [True, None]


async def test_empty_answers_are_retried_and_never_done(local, workspace):
    server = local([reply(""), reply("5")])  # finish reason "stop", no text, no call: no answer
    events, messages, _ = await run_turn("llamacpp/qwen", workspace, settings=FAST)
    assert messages[-1].content.strip() == "5" and "no text and no tool call" in of_type(events, "tool_log")[0].line
    # the retry is not the same prompt again (a server with it cached gives the same empty answer): it says
    # the answer was empty; the history keeps no trace of that
    first, retry = sent_messages(server, 0), sent_messages(server, 1)
    assert retry[:-1] == first and "last answer was empty" in retry[-1]["content"]
    assert not any("last answer was empty" in str(m.content) for m in messages)

    server = local([reply("")] * 3)
    events, _, _ = await run_turn("llamacpp/qwen", workspace, settings=FAST)
    assert of_type(events, "turn_complete")[-1].status == "error:provider"
    assert "no text and no tool call" in of_type(events, "error")[-1].message and len(chats(server)) == 3


async def test_llama_cpp_python_overflow_recorded_is_compacted_to_the_window_it_names(local, workspace):
    # recorded: the server answers the streamed request with 200 and no body, the plain one with a 400 that
    # names its window (8192); the prompt is shortened to fit it and the call retried
    server = local([recorded("qwen_overflow_stream"), recorded("qwen_overflow"), reply("The log repeats one line.")])
    prompt = "Summarise this log:\n" + "epoch 1 loss 0.5 accuracy 0.8 lr 3e-4 step 100\n" * 1400
    events, messages, _ = await run_turn("llamacpp/qwen", workspace, prompt=prompt, settings=FAST)
    assert of_type(events, "turn_complete")[-1].status == "done", of_type(events, "error")
    assert messages[-1].content.strip() == "The log repeats one line."
    logs = " ".join(e.line for e in of_type(events, "tool_log"))
    assert "context window is 8192 tokens" in logs
    retried = sent_messages(server, 2)[1]["content"]
    assert len(retried) // 4 < 8192 * 0.9 and "removed to fit" in retried


async def test_a_stream_cut_off_before_its_finish_reason_is_not_an_answer(local, workspace):
    cut = sse_body(chunk("I will now write the fi"), done=False)  # the server died mid-answer
    server = local([cut, sse_body(chunk("Done, nothing to write."), chunk(finish="stop"))])
    events, messages, _ = await run_turn("llamacpp/qwen", workspace, settings=FAST)
    assert messages[-1].content == "Done, nothing to write." and len(chats(server)) == 2
    assert not any("write the fi" in str(m.content) for m in messages)
    assert "without a finish reason" in " ".join(e.line for e in of_type(events, "tool_log"))


async def test_a_server_that_reports_no_usage_gets_an_estimate_not_zero(local, workspace):
    """llama-cpp-python's stream carries no usage: the session's token counts (the eval table, /status, the
    budget's estimate) would say the calls cost nothing."""
    local([sse_body(chunk("The sum is 5."), chunk(finish="stop"))])  # its framing, no usage event
    prompt = "Add 2 and 3. " * 100
    events, messages, _ = await run_turn("llamacpp/qwen", workspace, prompt=prompt, settings=FAST)
    usage = of_type(events, "usage")[-1]
    assert usage.input_tokens > len(prompt) // 4 and 0 < usage.output_tokens < 20
    assert messages[-1].response_metadata.get("usage_estimated") is True


async def test_an_empty_stream_near_the_window_is_taken_as_an_overflow(local, workspace):
    # the server says its window (/props) is small and the prompt is near it: shorten, then retry once
    server = local(
        [sse_body(), reply(""), reply("The text is all x.")],
        routes={"GET /props": {"default_generation_settings": {"n_ctx": 1500}}},
    )
    prompt = "Summarise this text: " + "x " * 2200
    events, messages, _ = await run_turn("llamacpp/qwen", workspace, prompt=prompt, settings=FAST)
    assert of_type(events, "turn_complete")[-1].status == "done", of_type(events, "error")
    assert messages[-1].content.strip() == "The text is all x." and len(chats(server)) == 3
    assert "near the context window" in " ".join(e.line for e in of_type(events, "tool_log"))
    retried = sent_messages(server, 2)[1]["content"]
    assert retried.startswith("Summarise this text") and len(retried) < len(prompt) and "removed to fit" in retried


async def test_a_tool_result_is_capped_to_a_small_window(local, workspace):
    big = Tool(
        name="dump",
        description="dump",
        risk=Risk.READ_ONLY,
        handler=lambda args, ctx: _text("z" * 9000),
        parameters={"type": "object", "properties": {}},
    )
    local(
        [reply("", [{"id": "d1", "name": "dump", "args": {}}]), reply("All z.")],
        routes={"GET /props": {"default_generation_settings": {"n_ctx": 3000}}},
    )
    _, messages, _ = await run_turn("llamacpp/qwen", workspace, [big], settings=FAST)
    result = next(m for m in messages if isinstance(m, ToolMessage))
    # 3000 tokens: ~3000 characters of the result are shown, not tool_output_cap's 25,000; the rest is saved
    assert len(result.content) < 3600 and "omitted" in result.content and "saved at" in result.content


async def _text(value: str) -> str:
    return value


async def test_a_plan_sent_as_a_list_of_strings_is_saved_and_a_missing_field_teaches(local, workspace):
    from tools.plan import tools as plan_tools

    strings = {"id": "p1", "name": "plan_tool", "args": {"todos": ["Write hello.py", "Run it"]}}
    missing = {"id": "p2", "name": "plan_tool", "args": {"steps": ["Write hello.py"]}}
    server = local([reply("", [strings]), reply("", [missing]), reply("Planned.")])
    events, messages, _ = await run_turn("llamacpp/qwen", workspace, plan_tools(None), settings=FAST)
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    assert results["p1"].status == "success" and "[ ] 1. Write hello.py" in results["p1"].content
    taught = results["p2"].content
    assert results["p2"].status == "error" and "todos: Field required" in taught
    assert 'plan_tool({"todos": [{"id": "1", "content": "Write train.py"}]})' in taught
    assert "todos: [{id: string, content: string" in taught
    assert of_type(events, "plan_update")[0].todos[1] == {"id": "2", "content": "Run it", "status": "pending"}
    assert sent_messages(server, 2)[-1]["content"] == taught  # what the model reads next


async def test_an_answer_claiming_work_no_tool_did_is_checked_once_then_not_done(local, workspace):
    claim = "I have created hello.py and ran it. The output is 5."
    server = local([reply(claim), reply(claim)])
    events, messages, _ = await run_turn("llamacpp/qwen", workspace, prompt="create hello.py and run it")
    check = injected(messages, "claim_check")
    assert len(check) == 1 and "hello.py does not exist" in check[0].content
    assert sent_messages(server, 1)[-1]["content"] == check[0].content
    assert of_type(events, "turn_complete")[-1].status == "unverified"
    assert "claims work that no tool did" in of_type(events, "error")[-1].message

    # an answer that reports what the tools really did ends "done", and so does a plain "not done"
    (workspace / "hello.py").write_text("print(5)\n")
    local([reply("I created hello.py in the last turn; it prints 5.")])
    events, _, _ = await run_turn("llamacpp/qwen", workspace)
    assert of_type(events, "turn_complete")[-1].status == "done"
    local([reply(claim), reply("I could not create train.py: it is not done.")])
    events, _, _ = await run_turn("llamacpp/qwen", workspace, prompt="create train.py")
    assert of_type(events, "turn_complete")[-1].status == "done"


async def test_recorded_made_up_call_markup_gets_one_notice_then_text_calls_run(local, workspace):
    # recorded: asked for hello.py, Qwen2.5-Coder-1.5B answered `<tools><job id="run"><script>print(2 + 3)...`
    # with the server returning no calls. Nothing can be read from it: the model is told once how to write a
    # call, then writes them in its chat template's own <tool_call> shape (Hermes), which are run.
    write = (
        '<tool_call>\n{"name": "write", "arguments": {"path": "hello.py", "content": "print(2 + 3)\\n"}}\n</tool_call>'
    )
    run = '<tool_call>\n{"name": "bash", "arguments": {"command": "python3 hello.py"}}\n</tool_call>'
    server = local([recorded("qwen_hello_core"), reply(write), reply(run), reply("It prints 5.")])
    events, messages, _ = await run_turn(
        "llamacpp/qwen", workspace, builtin=True, prompt="Create hello.py that prints 2 + 3 and run it.", settings=FAST
    )
    notices = injected(messages, "call_format")
    assert len(notices) == 1 and "<job" in notices[0].content and "<tool_call>" in notices[0].content
    assert (workspace / "hello.py").read_text() == "print(2 + 3)\n"
    results = [m for m in messages if isinstance(m, ToolMessage)]
    assert [r.name for r in results] == ["write", "bash"] and results[1].content.strip().startswith("5")
    assert of_type(events, "turn_complete")[-1].status == "done"
    # the history sent back holds real calls (the chat template renders them as <tool_call> again), not markup
    replayed = sent_messages(server, 3)
    assistant = [m for m in replayed if m["role"] == "assistant" and m.get("tool_calls")]
    assert [m["tool_calls"][0]["function"]["name"] for m in assistant] == ["write", "bash"]
    assert all("<tool_call>" not in (m.get("content") or "") for m in assistant)


async def test_a_second_unreadable_call_in_the_turn_gets_no_second_notice(local, workspace):
    broken = '<tool_call>\n{"name": "bash", "arguments": {"command": "ls"\n</tool_call>'
    local([reply(broken), reply(broken)])
    events, messages, _ = await run_turn("llamacpp/qwen", workspace, builtin=True, settings=FAST)
    assert len(injected(messages, "call_format")) == 1
    assert of_type(events, "turn_complete")[-1].status == "done"  # a plain answer now: nothing claimed
