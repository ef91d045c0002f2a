"""The page in a real browser: Debian's chromium, driven by Playwright, against `ml-intern serve` (the command
the Dockerfile runs, with a Space's OAuth variables pointing at a fake OpenID provider) and the replay model.

Sign in, send a prompt, watch the answer stream, approve one call and reject another with feedback, reload
mid-turn and see the stream resume, stop, undo. Screenshots go to $ML_INTERN_TEST_SCREENSHOTS (or the test's
tmp folder). Sync on purpose: it waits on a server process and drives the browser with Playwright's sync API.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from fakes.openid_provider import FakeOpenID
from helpers import BIN, call, write_replay
from web_client import dockerfile_cmd

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")

SCRIPT = [
    {
        "content": "I'll set a plan, write the script and train it on a GPU.",
        "tool_calls": [
            call(
                "plan_tool",
                {
                    "todos": [
                        {"id": "1", "content": "Write train.py", "status": "completed"},
                        {"id": "2", "content": "Train on a GPU", "status": "completed"},
                    ]
                },
                "p1",
            ),
            call("write", {"path": "train.py", "content": "print('training')\n"}, "w1"),
            call("hf_jobs", {"operation": "run", "script": "train.py", "flavor": "a10g-small", "timeout": "2h"}, "b1"),
        ],
        "delay_s": 0.5,
    },
    {"content": "Wrote **train.py**; no GPU job, as you asked.\n\n```python\nprint('training')\n```"},
    {"content": " ".join(f"word{i}" for i in range(60)), "delay_s": 60},  # stopped long before its end
]


def _start_server(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen, str]:
    """The Dockerfile's command line, on any free port, with the replay model."""
    program, *args = dockerfile_cmd()
    assert program == "ml-intern"
    args[args.index("--port") + 1] = "0"
    proc = subprocess.Popen(
        [str(BIN), *args, "--model", env.pop("MODEL")],
        cwd=cwd,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    for line in proc.stderr:  # the server says where it listens once it does
        lines.append(line)
        found = re.search(r"serving on http://[^:]+:(\d+)", line)
        if found:
            threading.Thread(target=lambda: [lines.append(x) for x in proc.stderr or []], daemon=True).start()
            return proc, f"http://127.0.0.1:{found.group(1)}"
    raise AssertionError("the server did not start:\n" + "".join(lines))


def test_sign_in_stream_approve_reject_reload_mid_turn_and_undo(tmp_path, workspace, isolated_home):
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("ML_INTERN_TEST_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    model = "replay:" + str(write_replay(tmp_path / "browser.jsonl", SCRIPT))
    with FakeOpenID() as idp:
        idp.add_user("alice")
        idp.next_user = "alice"
        env = {
            **os.environ,
            "MODEL": model,
            "SPACE_ID": "someone/ml-intern",
            "OAUTH_CLIENT_ID": idp.client_id,
            "OAUTH_CLIENT_SECRET": idp.client_secret,
            "OPENID_PROVIDER_URL": idp.url,
            "HF_HUB_DISABLE_EXPERIMENTAL_WARNING": "1",
        }
        proc, url = _start_server(env, workspace)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                page.set_default_timeout(30_000)
                page.goto(url)
                page.click("#signin")  # to the provider and back, signed in
                expect(page.locator("#user")).to_have_text("alice")
                hostile = page.evaluate("renderMarkdown('<img src=x onerror=alert(1)> [a](javascript:alert(1)) **b**')")
                assert "<img" not in hostile and 'href="javascript' not in hostile and "<strong>b</strong>" in hostile

                page.fill("#prompt", "train a tiny model")
                page.press("#prompt", "Enter")
                expect(page.locator(".msg.user")).to_have_text("train a tiny model")
                expect(page.locator(".approval-card")).to_have_count(2)
                expect(page.locator('.approval-card[data-id="b1"] dd.cost')).to_have_text("$2.00")  # $1.00/h for 2 h
                page.screenshot(path=str(shots / "1-approval.png"))
                page.click('.approval-card[data-id="w1"] .approve')
                page.fill('.approval-card[data-id="b1"] .feedback', "too expensive: train on CPU")
                page.click('.approval-card[data-id="b1"] .reject')
                page.click("#send-answers")
                expect(page.locator(".msg.assistant").last).to_contain_text("Wrote train.py")
                expect(page.locator('.tool-card[data-id="w1"] .state')).to_have_text("done")
                expect(page.locator('.tool-card[data-id="b1"] .state')).to_have_text("rejected")
                expect(page.locator("#plan li").first).to_have_text("Write train.py")
                page.screenshot(path=str(shots / "2-answered.png"))

                page.fill("#prompt", "explain it")
                page.press("#prompt", "Enter")
                streaming = page.locator(".msg.assistant.streaming")
                expect(streaming).to_contain_text("word2 ")
                seen = len(streaming.inner_text().split())
                page.reload()  # mid-turn: the page rebuilds from the checkpoint and follows the turn again
                expect(page.locator(".msg.user").last).to_have_text("explain it")
                expect(page.locator('.tool-card[data-id="b1"] .state')).to_have_text("rejected")  # from the checkpoint
                expect(streaming).to_contain_text(f"word{seen + 2} ")  # still streaming, live
                page.screenshot(path=str(shots / "3-reloaded-mid-turn.png"))
                page.click("#stop")
                expect(page.locator(".msg.note").last).to_have_text("stopped")
                partial = page.locator(".msg.assistant").last.inner_text()
                assert partial.startswith("word0 word1 word2") and partial.count("word1 ") == 1  # nothing lost or twice

                page.click("#undo")
                expect(page.locator(".msg.user")).to_have_count(1)
                expect(page.locator(".msg.assistant").last).to_contain_text("Wrote train.py")
                page.screenshot(path=str(shots / "4-undone.png"))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"screenshots: {shots}")
