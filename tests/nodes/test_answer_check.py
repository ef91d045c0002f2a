"""What a final answer claims against what the turn's tools did (nodes/answer_check.py)."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from nodes.answer_check import turn_messages, unsupported_claims


def _turn(*calls: tuple[str, dict, str]) -> list:
    out: list = []
    for i, (name, args, result) in enumerate(calls):
        out.append(AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"c{i}"}]))
        out.append(ToolMessage(content=result, tool_call_id=f"c{i}"))
    return out


def test_a_made_up_account_with_no_tool_call_is_caught(tmp_path):
    story = "Step 1 completed: loaded the data. I trained the classifier and saved model.pkl."
    claims = unsupported_claims(story, [], tmp_path)
    assert "no tool was called" in claims[0] and "model.pkl does not exist" in claims[1]
    assert unsupported_claims("I have trained the model; accuracy is 0.93.", [], tmp_path)
    # Qwen2.5-Coder-1.5B's summary in the fix_training task, in a turn that called no tool
    bullets = "### Summary\n- **Fixed the bug**: Changed the loop.\n- **Run it**: Executed `python train.py`."
    claims = unsupported_claims(bullets, [], tmp_path)
    assert len(claims) == 1 and "Fixed the bug" in claims[0]


def test_tool_results_written_by_the_model_are_caught(tmp_path):
    # Qwen2.5-Coder-1.5B's final answer in the fix_training eval task, after six real calls: it wrote the
    # results of calls it never made, in the chat template's own markup
    answer = (
        "To read the file `train.py` again and fix the issues, you can use the following command:\n\n"
        "```bash\n<tool_response>\nOutput:\n1\ntrain.py\n\n[exit code 0]\n</tool_response>\n```"
    )
    turn = _turn(("read", {"path": "train.py"}, "1 xs = ..."))
    claims = unsupported_claims(answer, turn, tmp_path)
    assert claims and "<tool_response>" in claims[0]


def test_work_the_tools_did_or_plain_answers_pass(tmp_path):
    turn = _turn(("write", {"path": "hello.py", "content": "print(5)"}, "wrote hello.py"), ("bash", {}, "5"))
    assert unsupported_claims("I created hello.py and ran it: it prints 5.", turn, tmp_path) == []
    assert unsupported_claims("The sum of 2 and 3 is 5.", [], tmp_path) == []
    assert unsupported_claims("I could not create train.py: the disk is full.", [], tmp_path) == []
    (tmp_path / "notes.md").write_text("x")
    assert unsupported_claims("I saved notes.md.", _turn(("read", {"path": "a"}, "a")), tmp_path) == []


def test_the_turn_starts_after_the_users_last_message():
    from core.protocol import Injected, injected

    messages = [
        HumanMessage("first"),
        AIMessage("a"),
        HumanMessage("second"),
        AIMessage("b"),
        HumanMessage("go on", additional_kwargs=injected(Injected.CONTINUATION)),
    ]
    assert [m.content for m in turn_messages(messages)] == ["b", "go on"]
