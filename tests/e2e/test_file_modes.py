"""Files at rest: what ml-intern keeps about the user (the sessions database and its WAL, session folders,
a token pasted on first run) is readable by the user alone, also when the folders existed before."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pexpect
from helpers import BIN, call


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def loose_modes(home: Path) -> list[str]:
    """The private paths of an ML_INTERN_HOME whose mode lets group or others in: the folder itself, the
    sessions database and its WAL files, the input history (0600), the session folders (0700)."""
    files = [home / n for n in ("sessions.sqlite", "sessions.sqlite-wal", "sessions.sqlite-shm", "history")]
    folders = [home, home / "sessions", *(home / "sessions").glob("*")]
    paths = [p for p in files if p.exists()] + [p for p in folders if p.is_dir()]
    return sorted(f"{p.relative_to(home)} {oct(mode(p))}" for p in paths if mode(p) & 0o077)


def test_sessions_database_and_session_folders_are_private(cli, replay, isolated_home):
    turns = [{"tool_calls": [call("bash", {"command": "seq 1 20000"}, "c1")]}, {"content": "done"}]  # spills
    assert cli("-m", replay(turns), "--yolo", "count").returncode == 0
    sessions = list((isolated_home / "sessions").iterdir())
    assert sessions and (isolated_home / "sessions.sqlite").exists()
    assert loose_modes(isolated_home) == []


def test_loose_modes_left_by_an_older_version_are_tightened(cli, replay, isolated_home):
    assert cli("-m", replay([{"content": "hi"}]), "hi").returncode == 0
    for path in [isolated_home, *isolated_home.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert cli("-m", replay([{"content": "again"}]), "--continue", "again").returncode == 0
    assert loose_modes(isolated_home) == []


def test_a_token_pasted_on_first_run_is_stored_for_the_user_alone(workspace, tmp_path):
    from fakes.hub import TOKEN, FakeHub

    hf_home = Path(os.environ["HF_HOME"])
    with FakeHub() as hub:
        env = {**os.environ, "HF_ENDPOINT": hub.url, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
        chat = pexpect.spawn(
            str(BIN), ["--model", "huggingface/meta-llama/Llama-3.1-8B-Instruct"], cwd=str(workspace), env=env,
            encoding="utf-8", timeout=60, dimensions=(40, 120),
        )  # fmt: skip
        try:
            chat.expect("Paste a Hugging Face token")
            chat.send(TOKEN + "\r")
            chat.expect("token saved")
            chat.expect("› ")
            chat.sendcontrol("d")
            chat.expect(pexpect.EOF)
        finally:
            chat.close(force=True)
    stored = [p for p in hf_home.rglob("*") if p.is_file() and TOKEN in p.read_text(errors="replace")]
    assert stored, "the token was not saved"
    assert all(mode(p) == 0o600 for p in stored), [(str(p), oct(mode(p))) for p in stored]
    home = Path(os.environ["ML_INTERN_HOME"])
    in_clear = [p for p in home.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert in_clear == []
    assert loose_modes(home) == []
