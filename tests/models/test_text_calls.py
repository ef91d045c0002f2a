"""Tool calls written as text, in the shapes local models write them (models/text_calls.py)."""

from __future__ import annotations

from models.text_calls import recover

TOOLS = {"plan_tool", "bash", "write", "read"}


def test_hermes_qwen_tool_call_tags_are_read_with_the_prose_kept():
    text = (
        "I will write the file.\n<tool_call>\n"
        '{"name": "write", "arguments": {"path": "hello.py", "content": "print(2 + 3)\\n"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "bash", "arguments": {"command": "python hello.py"}}\n</tool_call>'
    )
    found = recover(text, TOOLS)
    assert [c["name"] for c in found.calls] == ["write", "bash"]
    assert found.calls[0]["args"] == {"path": "hello.py", "content": "print(2 + 3)\n"}
    assert found.text == "I will write the file." and found.unreadable is None


def test_function_equals_and_parameter_tags():
    llama = recover('<function=bash>{"command": "ls -la"}</function>', TOOLS)
    assert llama.calls == [{"name": "bash", "args": {"command": "ls -la"}}]
    qwen3 = recover(
        "<tool_call>\n<function=write>\n<parameter=path>\na.py\n</parameter>\n<parameter=content>\nprint(1)\n"
        "</parameter>\n</function>\n</tool_call>",
        TOOLS,
    )
    assert qwen3.calls == [{"name": "write", "args": {"path": "a.py", "content": "print(1)"}}]


def test_tools_function_name_block_as_seen_from_qwen_coder():
    text = (
        '<tools><function name="plan_tool">{"todos": [{"id": "1", "content": "Load data", "status": "pending"}]}'
        "</function></tools>\nStep 1 completed: the data is loaded."
    )
    found = recover(text, TOOLS)
    assert found.calls == [
        {"name": "plan_tool", "args": {"todos": [{"id": "1", "content": "Load data", "status": "pending"}]}}
    ]
    assert found.text == "Step 1 completed: the data is loaded."


def test_json_blocks_only_for_known_tools_and_only_when_they_are_the_answer():
    fenced = recover('```json\n{"name": "bash", "arguments": {"command": "pwd"}}\n```', TOOLS)
    assert fenced.calls == [{"name": "bash", "args": {"command": "pwd"}}]
    bare = recover('{"name": "read", "parameters": {"path": "README.md"}}', TOOLS)
    assert bare.calls == [{"name": "read", "args": {"path": "README.md"}}]
    as_string = recover('{"name": "bash", "arguments": "{\\"command\\": \\"ls\\"}"}', TOOLS)
    assert as_string.calls == [{"name": "bash", "args": {"command": "ls"}}]
    # an example in prose, or a JSON object naming no tool of the session, is an answer, not a call
    prose = 'The config looks like {"name": "bash", "arguments": {}} in the docs.'
    assert recover(prose, TOOLS).calls == []
    assert recover('{"name": "resnet50", "arguments": {"layers": 50}}', TOOLS).calls == []
    assert recover("The sum is 5.", TOOLS).calls == [] and recover("The sum is 5.", TOOLS).unreadable is None


def test_unreadable_markup_is_reported_not_run():
    found = recover('<tool_call>\n{"name": "bash", "arguments": {"command": "ls"\n</tool_call>', TOOLS)
    assert found.calls == [] and found.unreadable is not None and "bash" in found.unreadable
    cut = recover("Let me run it.\n<function=bash>", TOOLS)
    assert cut.calls == [{"name": "bash", "args": {}}]  # a call with no arguments: the tool's errors teach


# The final answer of Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, llama-cpp-python 0.3.36) in the dataset_schema eval
# task: a write call as a fenced JSON block, the file's content as a Python triple-quoted string.
QWEN_WRITE_TRIPLE_QUOTED = (
    '```json\n{\n  "name": "write",\n  "arguments": {\n    "path": "data/schema.json",\n    "content": """\n'
    "# Schema for reviews dataset\n\n## Columns\n- id (string, unique identifier)\n- rating (integer)\n"
    '"""\n  }\n}\n```'
)


def test_a_triple_quoted_string_in_a_json_call_is_read_as_its_text():
    found = recover(QWEN_WRITE_TRIPLE_QUOTED, TOOLS)
    assert found.calls == [
        {
            "name": "write",
            "args": {
                "path": "data/schema.json",
                "content": "\n# Schema for reviews dataset\n\n## Columns\n- id (string, unique identifier)\n"
                "- rating (integer)\n",
            },
        }
    ]
    assert recover(QWEN_WRITE_TRIPLE_QUOTED.replace("```json\n", "").replace("\n```", ""), TOOLS).calls


def test_a_json_block_naming_a_tool_that_cannot_be_read_is_reported():
    """It was meant as a call: the model is told how to write one instead of the turn ending on it."""
    broken = '```json\n{"name": "write", "arguments": {"path": "a.txt", "content": hello}}\n```'
    found = recover(broken, TOOLS)
    assert found.calls == [] and found.unreadable is not None and '"write"' in found.unreadable
    assert recover(broken.strip("`json\n"), TOOLS).unreadable is not None
    # JSON that names no tool of the session stays an answer
    assert recover('```json\n{"lr": 0.1, "name": "resnet"}\n```', TOOLS).unreadable is None


def test_a_call_to_a_tool_that_does_not_exist_is_read_when_it_is_the_whole_answer():
    """Qwen2.5-Coder-1.5B's first answer in the dataset_schema task: a call to a tool it made up. Read as a call,
    it gets the "unknown tool" result listing the real ones; left as text, the turn ended on it."""
    answer = (
        '```json\n{\n  "name": "inspect",\n  "arguments": {\n    "question": "Inspect the dataset in '
        'data/reviews.jsonl and write schema.json describing it",\n    "max_iterations": 30\n  }\n}\n```'
    )
    assert recover(answer, TOOLS).calls == [
        {
            "name": "inspect",
            "args": {
                "question": "Inspect the dataset in data/reviews.jsonl and write schema.json describing it",
                "max_iterations": 30,
            },
        }
    ]
    # the same JSON inside prose is an example, not a call
    assert recover("For instance:\n" + answer + "\nwould inspect it.", TOOLS).calls == []


# Qwen2.5-Coder-1.5B's whole answer in the fix_training task (shortened): code in a python block, then its calls
# as JSON blocks keyed "function". The python block's closing fence was read as a JSON block's opening, so
# nothing was recovered and the turn ended on the prose.
QWEN_CALLS_AFTER_CODE = """### Step 2: Fix the bug
```python
# train.py
for epoch in range(5):
    total_loss = 0.
```

### Step 3: Run the script until it finishes
```json
{
    "function": "bash",
    "arguments": {
        "command": "python train.py",
        "run": true,
        "timeout": null
    }
}
```
### Step 4: Print the final loss
```json
{
    "function": "read",
    "arguments": {
        "path": "train.log",
        "offset": 1,
        "limit": 20
    }
}
```
### Summary
- **Fixed the bug**: Changed the loop to run for 5 epochs."""


def test_json_calls_after_a_code_block_are_read():
    found = recover(QWEN_CALLS_AFTER_CODE, TOOLS)
    assert found.calls == [
        {"name": "bash", "args": {"command": "python train.py", "run": True, "timeout": None}},
        {"name": "read", "args": {"path": "train.log", "offset": 1, "limit": 20}},
    ]
    assert "```python" in found.text and '"function"' not in found.text


def test_a_json_call_in_a_python_block_is_read():
    # its answer to the claims check in the hello_world task
    answer = (
        "I will now proceed to write the file.\n\n```python\n"
        '{"name": "write", "arguments": {"path": "hello.py", "content": "print(2 + 3)"}}\n```\n\n'
        "Run the written file with the `bash` function:\n```bash\nbash -- -c 'cat hello.py && python hello.py'\n```"
    )
    assert recover(answer, TOOLS).calls == [{"name": "write", "args": {"path": "hello.py", "content": "print(2 + 3)"}}]
