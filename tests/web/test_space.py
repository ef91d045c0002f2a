"""The Space: its card asks for the scopes the app needs, and the Dockerfile runs `ml-intern serve` on the
card's port as a non-root user from uv.lock (tests/web/test_browser.py runs that same command line)."""

from __future__ import annotations

import json
import re

from helpers import ROOT
from web_client import dockerfile_cmd

from web.identity import DEFAULT_SCOPES

SCOPES = {"read-repos", "write-repos", "contribute-repos", "manage-repos", "inference-api", "jobs", "write-discussions"}


def front_matter(text: str) -> dict[str, object]:
    block = text.split("---\n")[1]
    data: dict[str, object] = {}
    key = ""
    for line in block.splitlines():
        if line.startswith("  - "):
            data.setdefault(key, [])
            data[key].append(line[4:].strip())  # type: ignore[union-attr]
        elif ":" in line:
            key, _, value = line.partition(":")
            if value.strip():
                data[key] = value.strip()
    return data


def test_the_space_card_and_the_dockerfile_agree():
    card = front_matter((ROOT / "space" / "README.md").read_text())
    assert card["sdk"] == "docker" and card["hf_oauth"] == "true"
    assert set(card["hf_oauth_scopes"]) == SCOPES  # type: ignore[arg-type]
    assert set(DEFAULT_SCOPES.split()) == SCOPES | {"openid", "profile"}
    text = (ROOT / "Dockerfile").read_text()
    assert dockerfile_cmd() == ["ml-intern", "serve", "--host", "0.0.0.0", "--port", str(card["app_port"])]
    assert f"EXPOSE {card['app_port']}" in text
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert "uv sync --frozen --no-dev" in text


def test_the_demo_script_of_the_readme_is_a_valid_replay():
    from models.factory import check_model_id

    path = ROOT / "space" / "demo.jsonl"
    check_model_id(f"replay:{path}")
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("//")]
    turns = [json.loads(line) for line in lines]
    assert turns[-1]["content"] and not turns[-1].get("tool_calls")  # the session ends with an answer
