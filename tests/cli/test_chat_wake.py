"""The chat left open: it asks for a raised budget when a call would cross it, and wakes up by itself when
the job the session waits for ends (real binary in a pty, like tests/cli/test_interactive.py)."""

from __future__ import annotations

import io
import json
import os
import re
import sys

import pexpect
from helpers import BIN, call, write_replay

TRAIN = """import pathlib, time
while not pathlib.Path("go").exists():
    time.sleep(0.05)
print("eval_accuracy 0.88", flush=True)
"""


class Chat:
    """`ml-intern` in a pty (as tests/cli/test_interactive.py drives it)."""

    def __init__(self, args: list[str], cwd):
        env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "40", "PROMPT_TOOLKIT_NO_CPR": "1"}
        self.log = io.StringIO()
        self.child = pexpect.spawn(str(BIN), args, cwd=str(cwd), env=env, encoding="utf-8", timeout=90)
        self.child.logfile_read = self.log

    def expect(self, pattern: str) -> None:
        try:
            self.child.expect(pattern)
        except (pexpect.TIMEOUT, pexpect.EOF):
            raise AssertionError(f"did not see {pattern!r}; screen so far:\n{self.text()[-3000:]}") from None

    def send(self, text: str) -> None:
        self.child.send(text + "\r")

    def exit_code(self) -> int:
        self.expect(pexpect.EOF)  # type: ignore[arg-type]
        self.child.close()
        return self.child.exitstatus or 0

    def text(self) -> str:
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.log.getvalue())


# sync: it drives a process in a pty
def test_the_chat_asks_to_raise_the_budget_and_wakes_when_the_job_ends(workspace, tmp_path):
    (workspace / "train.py").write_text(TRAIN)
    config = tmp_path / "config.json"
    prices = {"replay:*": {"input_per_mtok": 10, "output_per_mtok": 10}}
    config.write_text(json.dumps({"budget": {"max_usd": 0.75, "model_prices": prices}, "watch": {"poll_s": 0.1}}))
    run = {"operation": "run", "command": f"{sys.executable} train.py"}
    script = write_replay(
        tmp_path / "wake.jsonl",
        [
            {"tool_calls": [call("jobs", run, "r1")], "usage": {"input_tokens": 50_000, "output_tokens": 1_000}},
            {"tool_calls": [call("wait_for_job", {}, "w1")], "usage": {"input_tokens": 100, "output_tokens": 10}},
            {"content": "Waiting for the training job.", "usage": {"input_tokens": 100, "output_tokens": 10}},
            {"content": "The job finished: eval accuracy 0.88.", "usage": {"input_tokens": 100, "output_tokens": 10}},
        ],
    )
    chat = Chat(["--model", f"replay:{script}", "--config", str(config), "--yolo"], workspace)
    try:
        chat.expect("› ")
        chat.send("train it")
        chat.expect("crosses the session's budget of \\$0.75")
        chat.expect("Raise the session's budget to")
        chat.send("2")
        chat.expect("Waiting for the training job.")
        chat.expect(r"of \$2\.00")  # the status line: spend of the raised budget
        chat.expect("› ")
        (workspace / "go").touch()  # the job ends; nobody types anything
        chat.expect("finished: succeeded")
        chat.expect("The job finished: eval accuracy 0.88.")
        chat.expect("› ")
        chat.child.sendcontrol("d")
        assert chat.exit_code() == 0
        assert "Traceback" not in chat.text()
    finally:
        if chat.child.isalive():
            chat.child.terminate(force=True)
