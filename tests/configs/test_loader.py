"""Configuration: defaults, user file, ${VAR} substitution, validation errors that name the key."""

from __future__ import annotations

import json

import pytest

from configs.environment import load_env_file
from configs.loader import ConfigError, load_config, substitute


def test_defaults_and_substitution(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_TOKEN", "tok123")
    monkeypatch.delenv("UNSET_VAR", raising=False)
    assert substitute("Bearer ${MY_TOKEN}") == "Bearer tok123"
    assert substitute("${UNSET_VAR:-fallback}") == "fallback"
    assert substitute({"a": ["${MY_TOKEN:-x}"]}) == {"a": ["tok123"]}
    config = load_config()
    assert config.max_iterations == 300 and config.tool_output_cap == 25_000
    assert config.compaction.threshold_ratio == 0.9


def test_user_file_overrides_defaults_and_reads_the_users_dotenv_not_the_working_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SERVER_TOKEN=from-the-working-folder\n")
    monkeypatch.setenv("SERVER_TOKEN", "")
    monkeypatch.delenv("SERVER_TOKEN")  # recorded, so the value .env sets is undone after the test
    user = tmp_path / "xdg" / "ml-intern" / "config.json"
    user.parent.mkdir(parents=True)
    (user.parent / ".env").write_text("SERVER_TOKEN=from-dotenv\n")
    user.write_text(
        json.dumps(
            {
                "max_iterations": 50,
                "approval": {"rules": {"bash": "allow"}},
                "mcpServers": {
                    "s": {
                        "transport": "http",
                        "url": "http://127.0.0.1:1/mcp",
                        "headers": {"Authorization": "Bearer ${SERVER_TOKEN}"},
                    }
                },
            }
        )
    )
    assert load_env_file() == user.parent / ".env"
    config = load_config()
    assert config.max_iterations == 50
    assert config.approval.rules == {"bash": "allow"}
    assert config.approval.auto_approve_in_ask_mode == ["read_only"]  # deep merge keeps the rest
    assert config.mcpServers["s"].headers["Authorization"] == "Bearer from-dotenv"


@pytest.mark.parametrize(
    "content, key",
    [
        ({"max_iterations": 0}, "max_iterations"),
        ({"compaction": {"threshold_ratio": "high"}}, "compaction.threshold_ratio"),
        ({"aproval": {}}, "aproval"),
    ],
)
def test_bad_config_names_the_key(tmp_path, content, key):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(path)


def test_cli_exits_2_on_bad_config_and_bad_model(cli, tmp_path, replay):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = cli("--config", str(bad), "-m", replay([{}]), "hi")
    assert result.returncode == 2 and "invalid JSON" in result.stderr and "Traceback" not in result.stderr
    result = cli("-m", "gpt-4", "hi")
    assert result.returncode == 2 and "unknown model id" in result.stderr
    result = cli("-m", "openai/gpt-5", "hi")
    assert result.returncode == 2 and "OPENAI_API_KEY" in result.stderr
    result = cli("-m", "replay:/nonexistent.jsonl", "hi")
    assert result.returncode == 2 and "replay file not found" in result.stderr
    assert cli("--version").stdout.startswith("ml-intern ")
