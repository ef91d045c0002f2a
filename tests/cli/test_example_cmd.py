"""Every recorded example runs offline with the real graph and tools, and produces what it claims."""

from __future__ import annotations

import json
import re

from helpers import ROOT


def final_answer(cli, workspace) -> str:
    sessions = [s for s in json.loads(cli("sessions", "list", "--json").stdout) if s["workspace"] == str(workspace)]
    messages = json.loads(cli("sessions", "show", sessions[0]["id"], "--json").stdout)["messages"]
    return [m for m in messages if m["role"] == "ai"][-1]["content"]


def test_every_example_is_listed(cli):
    listing = cli("example").stdout
    folders = [p.name.replace("_", "-") for p in (ROOT / "examples").iterdir() if (p / "example.json").exists()]
    assert len(folders) >= 2 and all(name in listing for name in folders)


def test_tiny_classifier_reports_the_metric_the_job_printed(cli, tmp_path, isolated_home):
    workspace = tmp_path / "run"
    result = cli("example", "tiny-classifier", "--workspace", str(workspace), cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    assert (workspace / "train.py").exists() and (workspace / "MODEL_CARD.md").exists()
    model = json.loads((workspace / "model.json").read_text())
    assert len(model["weights"]) == 4
    logs = list((isolated_home / "jobs").glob("*/log.txt"))
    assert len(logs) == 1
    printed = re.search(r"test accuracy (\d\.\d+)", logs[0].read_text()).group(1)
    reported = re.search(r"Test accuracy: (\d\.\d+)", final_answer(cli, workspace)).group(1)
    assert reported == printed
    assert f"Test accuracy: {printed}" in (workspace / "MODEL_CARD.md").read_text()


def test_approval_undo_tour(cli, tmp_path):
    workspace = tmp_path / "tour"
    result = cli("example", "approval-undo", "--workspace", str(workspace), cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "approval needed" in result.stderr and "rejected this call" in result.stderr
    assert (workspace / "data" / "raw.csv").exists()  # the rejected rm never ran
    assert not (workspace / "config.yaml").exists()  # approved, then undone
    sid = next(s for s in json.loads(cli("sessions", "list", "--json").stdout) if s["workspace"] == str(workspace))[
        "id"
    ]
    assert json.loads(cli("sessions", "show", sid, "--json").stdout)["messages"] == []


def test_a_tour_refuses_a_real_model(cli, tmp_path):
    result = cli("example", "approval-undo", "-m", "openai/gpt-5", cwd=tmp_path)
    assert result.returncode == 2 and "without --model" in result.stderr
