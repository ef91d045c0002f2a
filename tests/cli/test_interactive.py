"""The interactive chat, driven through the real `ml-intern` binary in a pseudo-terminal (pexpect).

The model is scripted with replay files (tests/replays/interactive_*.jsonl); ML_INTERN_HOME, the config
dir, HF_HOME and the workspace are temporary (conftest.isolated_home). Output is matched on text that
rich prints inside one style span, so ANSI codes never split a pattern.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import ClassVar

import pexpect
import pytest
from helpers import BIN, TESTS, run_cli

REPLAYS = TESTS / "replays"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
SESSION_RE = rf"session(?:\s|\x1b\[[0-9;]*m)+({UUID_RE})"  # the status line may wrap (and restyle) before the id
PROMPT = "› "
UP, ESC_ENTER, TAB = "\x1b[A", "\x1b\r", "\t"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
GAP = r"(?:\s|\x1b\[[0-9;]*m)+"  # blanks, possibly with style changes in between


def replay(name: str) -> str:
    return f"replay:{REPLAYS / name}"


class Chat:
    """One `ml-intern` process in a pty."""

    def __init__(
        self,
        args: list[str],
        cwd: Path,
        env: dict[str, str] | None = None,
        timeout: float = 60,
        size: tuple[int, int] = (40, 120),
    ):
        full_env = {
            **os.environ,
            "TERM": "xterm",
            "COLUMNS": "120",
            "LINES": "40",
            # pexpect is not a terminal emulator: it never answers cursor-position requests.
            "PROMPT_TOOLKIT_NO_CPR": "1",
            **(env or {}),
        }
        self.log = io.StringIO()
        self.child = pexpect.spawn(
            str(BIN), args, cwd=str(cwd), env=full_env, encoding="utf-8", timeout=timeout, dimensions=size
        )
        self.child.logfile_read = self.log

    def expect(self, pattern, timeout: float | None = None):
        try:
            self.child.expect(pattern, timeout=timeout if timeout is not None else -1)
        except (pexpect.TIMEOUT, pexpect.EOF):
            raise AssertionError(f"did not see {pattern!r}; screen so far:\n{self.text()[-3000:]}") from None
        return self.child.match

    def prompt(self) -> None:
        self.expect(PROMPT)

    def send(self, text: str) -> None:
        """Type a line and press Enter."""
        self.child.send(text + "\r")

    def end_of_turn(self) -> str:
        """Wait for the status line that closes a turn and the next prompt; return the session id."""
        session_id = self.expect(SESSION_RE).group(1)
        self.prompt()
        return session_id

    def exit_code(self) -> int:
        self.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus

    def text(self) -> str:
        return ANSI.sub("", self.log.getvalue())


@pytest.fixture
def chats():
    started: list[Chat] = []

    def start(*args: str, cwd: Path, env: dict[str, str] | None = None, size: tuple[int, int] = (40, 120)) -> Chat:
        chat = Chat(list(args), cwd, env, size=size)
        started.append(chat)
        return chat

    yield start
    for chat in started:
        if chat.child.isalive():
            chat.child.terminate(force=True)


def show(session_id: str, cwd: Path) -> dict:
    result = run_cli(["sessions", "show", session_id, "--json"], cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_chat_streams_answer_compacts_and_recovers_from_errors(chats, workspace):
    chat = chats("--model", replay("interactive_chat.jsonl"), cwd=workspace)
    chat.prompt()
    chat.send("hello there")
    for piece in ("First paragraph of the streamed answer.", "apples", "fenced code", "Last line of the answer."):
        chat.expect(re.escape(piece))
    status = chat.expect(
        r"interactive_chat\.jsonl · context [\d.]+k?/[\d.]+k \(\d+%\) · \$0\.0000 · approval ask · " + SESSION_RE
    )
    session_id = status.group(1)
    chat.prompt()

    chat.send("/compact")  # one exchange: nothing older than the recent part yet
    chat.expect("nothing to compact yet")
    chat.prompt()

    chat.send("second question")  # the provider rejects the key: one error block, the chat goes on
    chat.expect("error · auth")
    chat.expect("invalid API key")
    chat.end_of_turn()
    chat.send("third question")
    chat.expect("Recovered answer after the error.")
    chat.end_of_turn()
    chat.send("/compact")  # now the older exchanges are summarised by the model (the script's next line)
    chat.expect(r"context compacted: [\d.]+k? → [\d.]+k? tokens")
    chat.prompt()

    chat.send("/model openai/gpt-5")  # no key: refused with the variable to set, model unchanged
    chat.expect("needs OPENAI_API_KEY")
    chat.prompt()
    chat.send(f"/model {replay('interactive_other_model.jsonl')}")
    chat.expect("model: replay:")
    chat.prompt()
    chat.send("fourth question")
    chat.expect("Answer from the other model.")
    chat.expect(r"interactive_other_model\.jsonl · context")
    chat.end_of_turn()
    chat.send("/cost")
    chat.expect(r"3 model calls · [\d,]+ input \+ [\d,]+ output tokens · \$0\.0000")
    chat.prompt()
    chat.child.sendcontrol("d")
    assert chat.exit_code() == 0
    assert f"resume with: ml-intern --resume {session_id[-12:]}" in chat.text()  # the short form
    assert "Traceback" not in chat.text()

    messages = show(session_id, workspace)["messages"]
    human = [m["content"] for m in messages if m["role"] == "human" and not m.get("injected")]
    assert human == ["hello there", "fourth question"]  # the two in between went into the summary
    summary = [m["content"] for m in messages if m.get("injected") == "summary"]
    assert len(summary) == 1 and "third question" in summary[0]


def test_multiline_input_history_and_completion(chats, workspace):
    chat = chats("--model", replay("interactive_sessions.jsonl"), cwd=workspace)
    chat.prompt()
    # A trailing backslash and Esc+Enter both start a new line instead of sending.
    chat.child.send("line one\\\r")
    chat.child.send("line two" + ESC_ENTER)
    chat.send("line three")
    chat.expect("Answer zero.")
    session_id = chat.end_of_turn()
    chat.child.send("/comp" + TAB)  # -> /compact (the completion may be drawn apart from what was typed)
    chat.expect(r"/comp(?:\x1b\[[0-9;?]*[A-Za-z]|\r)*act")
    chat.send("")
    chat.expect("nothing to compact yet")
    chat.prompt()
    chat.child.send("/resume " + session_id[:6] + TAB)  # a session id completes from its prefix
    chat.expect(re.escape(session_id[6:]))
    chat.send("")
    chat.expect(f"resumed {session_id}")
    chat.prompt()
    chat.child.send("a draft I did not send")
    chat.child.sendcontrol("c")  # clears the line, keeps it in the history
    chat.expect(r"Ctrl-C again to quit")
    chat.prompt()
    chat.child.sendcontrol("d")
    assert chat.exit_code() == 0

    messages = show(session_id, workspace)["messages"]
    assert messages[0] == {"role": "human", "content": "line one\nline two\nline three"}

    again = chats("--model", replay("interactive_sessions.jsonl"), cwd=workspace)
    again.prompt()
    again.child.send(UP)  # history survives the process
    again.expect("a draft I did not send")
    again.child.send(UP)  # the /resume line before it: sent again, it resumes the same session
    # (not matched on screen: prompt_toolkit redraws only the characters that changed, and a random id can
    # share some with the draft it replaces)
    again.send("")
    again.expect(f"resumed {session_id}")
    again.prompt()
    again.child.send("\x03\x03")  # Ctrl-C twice within a second: quit, with the code of an interrupt
    assert again.exit_code() == 130


def test_approve_reject_and_edit_calls(chats, workspace, tmp_path):
    flag = tmp_path / "edited-once"  # the first edit changes nothing, the second one changes the call
    env = {"EDITOR": f"sh -c 'test -e {flag} && sed -i s/hello/edited/ \"$0\"; touch {flag}'", "VISUAL": ""}
    chat = chats("--model", replay("interactive_approvals.jsonl"), cwd=workspace, env=env)
    chat.prompt()
    chat.send("do three things")
    chat.expect(r"approval needed \(1/3\)")
    chat.expect("workspace_write")
    chat.expect(r"\+hello a")  # the change, as a diff
    chat.expect("approve\\?")
    chat.send("yes please")  # not an answer: asked again, nothing decided
    chat.expect("not an answer")
    chat.expect("approve\\?")
    chat.send("/undo")  # a command that would change the session under the question
    chat.expect("cannot run while a call waits")
    chat.expect("approve\\?")
    chat.send("")  # Enter: the default, yes
    chat.expect(r"approval needed \(2/3\)")
    chat.expect("exec")  # the risk class, then the arguments
    chat.expect("touch ran.txt")
    chat.expect("approve\\?")
    chat.send("v")  # the full arguments: its own key, nothing decided
    chat.expect("── command")
    chat.expect("approve\\?")
    chat.send("f")
    chat.expect("feedback for the model")
    chat.send("please use python instead")
    chat.expect("feedback: please use python instead")
    chat.expect(r"approval needed \(3/3\)")
    chat.expect("approve\\?")
    chat.send("e")  # the editor changed nothing: asked again, not approved as an edit
    chat.expect("no change made")
    chat.expect("approve\\?")
    chat.send("e")
    chat.expect("edited arguments:")
    chat.expect("Wrote a.txt and b.txt; skipped the command as you asked.")
    session_id = chat.end_of_turn()
    chat.send("/output 2")  # tool calls are numbered in the chat: #1 the rejected bash, #2 write a.txt
    chat.expect("#2 write · done")
    chat.expect(r"Created a\.txt")
    chat.prompt()
    chat.send("/show last")
    chat.expect(r"Created b\.txt")
    chat.prompt()

    chat.send("one more file")
    chat.expect("c.txt")
    chat.expect("approve\\?")
    chat.child.sendcontrol("c")  # at the approval prompt: the turn stops, the model is not called again
    chat.expect("stopped: the calls were not run")
    chat.end_of_turn()
    chat.send("and now?")  # the script's next line answers this message: nothing used it after the stop
    chat.expect("This answers the message after the stopped turn.")
    chat.end_of_turn()
    chat.child.sendcontrol("d")
    assert chat.exit_code() == 0
    assert not (workspace / "c.txt").exists()

    assert (workspace / "a.txt").read_text() == "hello a\n"
    assert (workspace / "b.txt").read_text() == "edited b\n"
    assert not (workspace / "ran.txt").exists()
    messages = show(session_id, workspace)["messages"]
    results = {m["tool_call_id"]: m for m in messages if m["role"] == "tool"}
    assert results["b1"]["status"] == "error" and "please use python instead" in results["b1"]["content"]
    assert results["w1"]["status"] == "success" and results["w2"]["status"] == "success"
    assert {"role": "ai", "content": "Wrote a.txt and b.txt; skipped the command as you asked."} in messages
    assert results["w3"]["status"] == "error" and "stopped the turn" in results["w3"]["content"]
    assert [m["content"] for m in messages[-2:]] == ["and now?", "This answers the message after the stopped turn."]
    assert "yes please" not in json.dumps(messages) and "/undo" not in json.dumps(messages)


def test_always_allow_yolo_destructive_failed_and_pager(chats, workspace):
    (workspace / "build").mkdir()
    chat = chats("--model", replay("interactive_always.jsonl"), cwd=workspace, env={"PAGER": "wc -l"})
    chat.prompt()
    chat.send("work")
    chat.expect("echo one")
    chat.expect(r"a always `echo …` · s step")
    chat.send("a")
    chat.expect("allowed for this session: `echo …` commands")
    chat.expect(r"echo two" + GAP + "· done")  # ran without a question
    chat.expect("ls no-such-dir")
    chat.expect("approve\\?")
    chat.send("/yolo")  # a command at the prompt: the mode changes and this call is approved
    chat.expect("approval: yolo")
    chat.expect(r"ls no-such-dir" + GAP + r"· failed \(exit 2\)")
    chat.expect("rm -rf build")  # destructive: asked under yolo too, and Enter would say no
    chat.expect("deletes files recursively")
    chat.expect("y/N")
    chat.child.send("\x1b")  # Esc stops the turn
    chat.expect("stopped: the calls were not run")
    chat.expect(r"approval yolo · " + SESSION_RE)  # the status line says what the mode is now
    chat.prompt()
    assert chat.text().count("approval needed") == 3  # echo one, ls, rm: echo two was allowed
    chat.send("clean up")
    chat.expect("git clean -fdx")
    chat.expect("y/N")
    chat.child.sendcontrol("d")  # Ctrl-D at the question stops the turn too, and does not quit
    chat.expect("stopped: the calls were not run")
    chat.end_of_turn()
    chat.send("count")
    chat.expect(r"59,997 more lines · /output 6")  # the preview counts the whole output, not the cut one
    chat.expect("Counted to sixty thousand.")
    chat.end_of_turn()
    chat.send("/output 6")
    chat.expect("60,001 lines")  # 60,000 numbers and the exit code
    chat.expect(r"\b60000\b")  # what the pager (wc -l) read: the output went to $PAGER, not the screen
    chat.prompt()
    chat.child.sendcontrol("d")
    assert chat.exit_code() == 0
    assert (workspace / "build").is_dir()
    assert "59999" not in chat.text()


def test_resizing_during_a_stream_redraws_once(chats, workspace):
    from fakes.reflow_terminal import ReflowTerminal

    # The size comes from the pty (as in a real terminal), not from COLUMNS/LINES.
    env = {"COLUMNS": "", "LINES": "", "TMUX": "", "XTERM_VERSION": ""}
    chat = chats("--model", replay("interactive_resize.jsonl"), cwd=workspace, env=env, size=(24, 120))
    chat.prompt()
    chat.send("go")
    chat.expect(r"Paragraph 2 (word ){20}")  # the live block holds a long line
    before = len(chat.log.getvalue())
    chat.child.setwinsize(24, 60)  # narrower mid-stream: the terminal re-wraps, the chat gets SIGWINCH
    chat.expect("The end of the answer.")
    chat.end_of_turn()
    chat.child.sendcontrol("d")
    assert chat.exit_code() == 0

    term = ReflowTerminal(120)
    raw = chat.log.getvalue()
    term.write(raw[:before])
    term.resize(60)
    term.write(raw[before:])
    screen = term.text()
    for n in range(8):
        assert screen.count(f"Paragraph {n} ") == 1, screen
    assert "working…" not in screen and "thinking…" not in screen, screen


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")  # a zombie no longer runs


def test_ctrl_c_stops_a_long_tool_and_the_session_resumes(chats, workspace):
    unconfined = workspace.parent / "unconfined.json"  # the pid the command writes must mean something here
    unconfined.write_text('{"sandbox": {"backend": "local"}}')  # (in bubblewrap: tests/e2e/test_sandbox_local.py)
    chat = chats("--model", replay("interactive_interrupt.jsonl"), "--yolo", "--config", str(unconfined), cwd=workspace)
    chat.prompt()
    chat.send("run the long thing")
    chat.expect("42x")  # the tool's log streams while it runs
    chat.expect(r"working… \d+s · Ctrl-C to stop")  # how long, and how to stop it
    chat.child.send("typed ahead")  # typed while the turn runs: echoed, and kept for the next prompt
    chat.expect("typed ahead")
    chat.child.sendcontrol("d")  # not end-of-file here: the chat must not quit when the turn ends
    chat.expect("Ctrl-D quits at the prompt")
    chat.child.sendintr()
    chat.expect("interrupted —")
    session_id = chat.end_of_turn()
    chat.expect("typed ahead")
    chat.send("")  # the prompt already holds the text typed ahead
    chat.expect("Picking up after the interruption.")
    assert chat.end_of_turn() == session_id
    chat.send("/exit")
    assert chat.exit_code() == 0

    pid = int((workspace / "sleep.pid").read_text())
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(pid), "the command started by the interrupted tool is still running"
    messages = show(session_id, workspace)["messages"]
    assert [m["role"] for m in messages] == ["human", "ai", "tool", "human", "ai"]
    assert messages[2]["content"].startswith("Interrupted") and messages[3]["content"] == "typed ahead"

    resumed = chats("--resume", session_id, cwd=workspace)
    resumed.expect(f"resumed {session_id}")
    resumed.expect("Picking up after the interruption.")  # the recap: the last exchange
    resumed.prompt()
    resumed.send("go on")
    resumed.expect("Continuing in the resumed session.")
    assert resumed.end_of_turn() == session_id
    resumed.child.sendcontrol("d")
    assert resumed.exit_code() == 0
    roles = [(m["role"], m["content"]) for m in show(session_id, workspace)["messages"]]
    assert roles[-2:] == [("human", "go on"), ("ai", "Continuing in the resumed session.")]


def test_ctrl_c_twice_mid_answer_keeps_the_partial_answer_and_quits(chats, workspace):
    chat = chats("--model", replay("interactive_partial.jsonl"), cwd=workspace)
    chat.prompt()
    chat.send("recite")
    chat.expect("gamma")
    # Ctrl-C twice within a second, mid-answer: stop the turn and quit. The second press waits until the
    # first one has been handled (two SIGINTs raised at the same instant merge into one).
    chat.child.sendintr()
    chat.expect("interrupted —")
    chat.child.sendintr()
    assert chat.exit_code() == 130
    session_id = json.loads(run_cli(["sessions", "list", "--json"], cwd=workspace).stdout)[0]["id"]
    answer = show(session_id, workspace)["messages"][-1]
    assert answer["role"] == "ai" and answer["content"].startswith("alpha beta gamma")
    assert answer["content"].endswith("[interrupted]") and "omega" not in answer["content"]


def test_closing_the_terminal_saves_the_interrupted_turn(chats, workspace):
    chat = chats("--model", replay("interactive_interrupt.jsonl"), "--yolo", cwd=workspace)
    chat.prompt()
    chat.send("run the long thing")
    chat.expect("42x")
    chat.child.kill(signal.SIGHUP)  # what closing the terminal window sends
    assert chat.exit_code() == 0
    sessions = json.loads(run_cli(["sessions", "list", "--json"], cwd=workspace).stdout)
    assert sessions[0]["status"] == "interrupted"
    messages = show(sessions[0]["id"], workspace)["messages"]
    assert messages[-1]["role"] == "tool" and messages[-1]["content"].startswith("Interrupted")


def test_undo_restores_files(chats, workspace):
    (workspace / "notes.txt").write_text("original\n")
    chat = chats("--model", replay("interactive_undo.jsonl"), cwd=workspace)
    chat.prompt()
    chat.send("change the notes")
    chat.expect(r"approval needed \(1/3\)")  # plan_tool is read-only: it runs without asking
    chat.expect(r"-original[^+]{0,80}\+changed")  # the change the call makes, as a diff
    chat.expect("approve\\?")
    chat.send("s")  # this call and the rest of the step
    chat.expect("Rewrite the notes")  # the plan, shown when it changes
    chat.expect(r"-original[^+]{0,80}\+changed")  # and the change it made, in its preview
    chat.expect(r"seq 1 30" + GAP + "· done")
    chat.expect(r"… \d+ more lines · /output 4")
    chat.expect("Changed notes.txt and created new.txt.")
    session_id = chat.end_of_turn()
    assert (workspace / "notes.txt").read_text() == "changed\n" and (workspace / "new.txt").exists()
    chat.send("/output 4")
    chat.expect(r"29\s+30")
    chat.prompt()
    chat.send("/plan")
    chat.expect("Create new.txt")
    chat.prompt()

    chat.send("/undo")
    chat.expect("undid: 'change the notes'")
    chat.expect("restored")
    chat.prompt()
    chat.expect("change the notes")  # the undone prompt is back in the input line, to edit and send again
    chat.child.sendcontrol("u")  # (cleared here)
    assert (workspace / "notes.txt").read_text() == "original\n"
    assert not (workspace / "new.txt").exists()
    chat.send("/plan")
    chat.expect("no plan yet")  # the plan came back with the undone turn
    chat.prompt()
    chat.send("/undo")
    chat.expect("nothing to undo")
    chat.prompt()
    chat.send("/exit")
    assert chat.exit_code() == 0
    assert show(session_id, workspace)["messages"] == []


LONG_TITLE = "second topic: compare the three tokenizers on the long validation documents"


def test_sessions_new_resume_picker_fork_export(chats, workspace):
    secret = "hf_" + "a1B2c3D4e5" * 3
    chat = chats("--model", replay("interactive_sessions.jsonl"), "--no-stream", cwd=workspace)
    chat.prompt()
    chat.send(f"first topic {secret}")
    chat.expect("Answer zero.")
    first = chat.end_of_turn()
    chat.send("/new")
    chat.expect("new session")
    chat.prompt()
    chat.send(LONG_TITLE)
    chat.expect("Answer zero.")
    second = chat.end_of_turn()
    assert second != first

    chat.send("/resume")  # a numbered list, most recent first
    chat.expect(r"1" + GAP + re.escape(second))
    chat.expect(r"2" + GAP + re.escape(first))
    chat.expect("session number")
    chat.send("2")
    chat.expect(f"resumed {first}")
    chat.expect("Answer zero.")
    chat.prompt()
    chat.send("continue the first topic")
    chat.expect("Answer one.")
    assert chat.end_of_turn() == first

    chat.send("/fork")
    forked = chat.expect(rf"forked {first} → now in ({UUID_RE})").group(1)
    chat.prompt()
    chat.send("/export out/session.jsonl")
    chat.expect(r"exported 4 messages to")
    chat.prompt()
    chat.send("/export")  # by default into ML_INTERN_HOME, not the workspace the agent works in
    chat.expect(r"exported 4 messages to" + GAP + r"\S*/exports/")
    chat.prompt()
    chat.send("/sessions")
    chat.expect(r"session" + GAP + "updated" + GAP + "status" + GAP + "model" + GAP + "title")
    chat.expect(re.escape(forked) + r" \*")  # the current session
    chat.expect("validation" + GAP + "documents")  # the title whole (wrapped if it must), not cut
    chat.prompt()
    chat.send("/undo")  # in the fork: back through the turns made before it
    chat.expect("undid: 'continue the first topic'")
    chat.prompt()
    chat.child.sendcontrol("u")
    chat.send("/exit")
    assert chat.exit_code() == 0

    latest = chats("--continue", cwd=workspace)  # the most recent session, on its own model
    latest.expect(f"resumed {forked}")
    latest.prompt()
    latest.send("/help")
    latest.expect("Esc then Enter")
    latest.prompt()
    latest.send("/yolo")
    latest.expect("approval: yolo")
    latest.prompt()
    latest.send("/status")
    latest.expect(r"approval" + GAP + "yolo")
    latest.prompt()
    latest.child.sendcontrol("d")
    assert latest.exit_code() == 0

    exported = [json.loads(line) for line in (workspace / "out" / "session.jsonl").read_text().splitlines()]
    assert exported[0]["type"] == "session" and exported[0]["id"] == forked and exported[0]["parent_id"] == first
    assert [m["content"] for m in exported[1:] if m["role"] == "human"] == [
        "first topic hf_***",
        "continue the first topic",
    ]
    assert secret not in (workspace / "out" / "session.jsonl").read_text()
    assert not list(workspace.glob("ml-intern-*.jsonl"))  # /export with no file wrote nothing here


def test_the_footer_under_the_input_stays_true_after_yolo(chats, workspace):
    # The footer needs the terminal to report the cursor position (CPR), which real terminals do: this chat
    # asks for it, and the test answers as a terminal would.
    chat = chats("--model", replay("interactive_sessions.jsonl"), cwd=workspace, env={"PROMPT_TOOLKIT_NO_CPR": ""})
    chat.expect(r"\x1b\[6n")
    chat.child.send("\x1b[5;1R")
    chat.expect(r"interactive_sessions\.jsonl · approval ask · \$0\.0000")
    chat.send("/yolo")
    chat.expect("approval: yolo")
    chat.expect(r"\x1b\[6n")
    chat.child.send("\x1b[8;1R")
    chat.expect(r"approval yolo(\x1b\[[0-9;]*m)* · \$0\.0000")  # (no status line printed: the footer says it)
    chat.child.sendcontrol("d")
    assert chat.exit_code() == 0


def test_first_run_screen_without_any_provider(chats, workspace):
    chat = chats(cwd=workspace)  # no --model, no keys (conftest clears them), no stored HF token
    for text in (
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "HF_TOKEN",
        "OLLAMA_BASE_URL",
        "VLLM_BASE_URL",
        "LLAMACPP_BASE_URL",
        "LM_STUDIO_BASE_URL",
        "ml-intern example tiny-classifier",
        "--model replay:FILE",
    ):
        chat.expect(re.escape(text))
    chat.expect("What next?")
    chat.send("3")  # a local server: none runs here, so how to start one
    chat.expect("no local model server answers")
    chat.expect("ollama serve")
    assert chat.exit_code() == 2
    assert "Traceback" not in chat.text()

    # Some provider is set, just not the default model's: one line naming the missing variable.
    other = chats(cwd=workspace, env={"OPENAI_API_KEY": "sk-test"})
    other.expect("needs ANTHROPIC_API_KEY")
    assert other.exit_code() == 2
    assert "No model provider is configured" not in other.text()

    pasted = chats(cwd=workspace, env={"COLUMNS": "60"})
    pasted.expect("What next?")
    pasted.send("2")
    pasted.expect("Paste the key")
    pasted.send("sk-ant-" + "k3y" * 8)  # saved, and the chat opens on that family's model
    pasted.expect("ANTHROPIC_API_KEY saved in")
    pasted.expect("anthropic/")
    pasted.prompt()
    pasted.child.sendcontrol("d")
    assert pasted.exit_code() == 0
    env_file = Path(os.environ["XDG_CONFIG_HOME"]) / "ml-intern" / ".env"
    assert env_file.read_text() == "ANTHROPIC_API_KEY=sk-ant-" + "k3y" * 8 + "\n"
    assert env_file.stat().st_mode & 0o077 == 0
    assert "k3yk3y" not in pasted.text()  # typed as a password: never echoed


class _Whoami(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self):
        token = self.headers.get("authorization", "").removeprefix("Bearer ")
        if self.path.startswith("/api/whoami"):
            _Whoami.seen.append(token)
        if self.path.startswith("/api/whoami") and token == "hf_" + "good" * 8:
            body = json.dumps(
                {"name": "tester", "type": "user", "auth": {"accessToken": {"displayName": "laptop", "role": "read"}}}
            ).encode()
            self.send_response(200)
        else:
            body = json.dumps({"error": "Invalid credentials in Authorization header"}).encode()
            self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def hub():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Whoami)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Whoami.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_hf_model_offers_to_paste_a_token(chats, workspace, hub, tmp_path):
    model = "huggingface/meta-llama/Llama-3.1-8B-Instruct"
    chat = chats("--model", model, cwd=workspace, env={"HF_ENDPOINT": hub})
    chat.expect("Paste a Hugging Face token")
    chat.send("hf_" + "bad" * 10)
    chat.expect("the token was not accepted")
    chat.send("hf_" + "good" * 8)
    chat.expect("token saved")
    chat.expect(re.escape(model))  # the chat opens on that model
    chat.prompt()
    chat.child.sendcontrol("d")
    assert chat.exit_code() == 0
    assert _Whoami.seen == ["hf_" + "bad" * 10, "hf_" + "good" * 8]
    assert "hf_" + "good" * 8 in (Path(os.environ["HF_HOME"]) / "token").read_text()

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        offline = f"http://127.0.0.1:{s.getsockname()[1]}"  # no Hub there: the token cannot be checked
    skipped = chats("--model", model, cwd=workspace, env={"HF_ENDPOINT": offline, "HF_HOME": str(tmp_path / "hf2")})
    skipped.expect("Paste a Hugging Face token")
    skipped.send("hf_" + "good" * 8)
    skipped.expect(f"could not reach {re.escape(offline)} to check the token \\(network")
    skipped.send("")  # an empty line skips to the set-up screen
    skipped.expect("No model provider is configured")
    skipped.expect("What next?")
    skipped.send("")
    assert skipped.exit_code() == 2
    assert "not accepted" not in skipped.text()


# -- the pieces a pty cannot pin down easily -----------------------------------------------------


def test_streamed_markdown_is_printed_block_by_block_and_never_cuts_a_code_fence():
    from cli.chat_render import split_markdown

    text = "Intro paragraph.\n\n```python\nx = 1\n\ny = 2\n"  # a blank line inside an open fence
    done, rest = split_markdown(text)
    assert done == "Intro paragraph.\n\n" and rest.startswith("```python")
    done, rest = split_markdown(text + "```\nafter")
    assert done.endswith("y = 2\n```\n") and rest == "after"
    assert split_markdown("no newline yet") == ("", "no newline yet")


def test_approval_panel_shows_compute_details():
    from rich.console import Console

    from cli.approval_prompt import approval_panel

    call = {
        "id": "j1",
        "name": "hf_jobs",
        "risk": "remote_compute",
        "args": {"operation": "run", "script": "train.py"},
        "details": {
            "script": "python train.py --epochs 3",
            "hardware": "a10g-large",
            "timeout_s": 7200,
            "estimated_cost_usd": 3.15,
            "price_per_hour_usd": 3.0,
        },
    }
    console = Console(record=True, width=100, color_system=None)
    console.print(approval_panel(call, 1, 2))
    text = console.export_text()
    for piece in (
        "approval needed (1/2)",
        "hf_jobs",
        "remote_compute",
        "python train.py --epochs 3",
        "a10g-large",
        "2.0 h",
        "$3.15",
        "$3.00/h",  # a price is money, not a raw 3.0
    ):
        assert piece in text, piece
    assert "3.0\n" not in text and " 3.0 " not in text

    local_job = {
        "id": "l1",
        "name": "jobs",
        "risk": "exec",
        "args": {"operation": "run", "command": "python train.py --epochs 3"},
        "details": {"hardware": "local", "what": "python train.py --epochs 3", "timeout_s": 3600},
    }
    console = Console(record=True, width=100, color_system=None)
    console.print(approval_panel(local_job, 1, 1))
    assert console.export_text().count("python train.py --epochs 3") == 1  # the command once


def test_a_local_model_server_is_found_when_no_provider_is_set(chats, workspace):
    import socket

    from fakes.openai_server import FakeOpenAI, reply

    def closed() -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return f"http://127.0.0.1:{s.getsockname()[1]}/v1"

    with FakeOpenAI([reply("hello from ollama")], models=["llama3.2:1b"]) as server:
        env = {
            "OLLAMA_BASE_URL": server.base_url,
            "VLLM_BASE_URL": closed(),
            "LLAMACPP_BASE_URL": closed(),
            "LM_STUDIO_BASE_URL": closed(),
            "ML_INTERN_DETECT_TIMEOUT_S": "2",
        }
        chat = chats(cwd=workspace, env=env)
        chat.expect("using the local ollama server")
        chat.prompt()
        chat.send("hi")
        chat.expect("hello from ollama")
        chat.end_of_turn()
        assert server.requests[0]["body"]["model"] == "llama3.2:1b"


def test_a_local_server_that_is_not_running_is_named_at_once(chats, workspace):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"  # nothing listens there
    chat = chats("-m", "ollama/llama3.1", cwd=workspace, env={"OLLAMA_BASE_URL": url})
    chat.expect(f"no ollama server answers at {re.escape(url)}")  # when the chat opens, with how to start it
    chat.expect("`ollama serve`")
    chat.prompt()
    chat.send("hi")
    chat.expect("error · provider")  # at once: a refused local port is not retried for a minute
    chat.expect(f"nothing answers at {re.escape(url)}")
    chat.end_of_turn()
    chat.child.sendcontrol("d")
    assert chat.exit_code() == 0
    assert "retry 1/" not in chat.text() and "Traceback" not in chat.text()


def test_a_message_is_handed_back_when_the_database_is_down(chats, workspace):
    chat = chats(
        "-m",
        replay("interactive_chat.jsonl"),
        cwd=workspace,
        env={"ML_INTERN_DATABASE_URL": "postgresql://u:p@127.0.0.1:9/db"},
    )
    chat.prompt()
    chat.send("my carefully written prompt")
    chat.expect("ML_INTERN_DATABASE_URL")
    chat.expect("your message was not sent")
    chat.expect("my carefully written prompt")
    assert chat.exit_code() == 1
