"""The wheel is complete: built from this checkout and installed into a fresh virtual environment, it runs
`ml-intern example tiny-classifier` from an empty folder (the README's first command after `pip install .`).

The fresh environment gets the wheel alone; its dependencies come from the project's environment through a
path entry placed after the environment's own site-packages, so nothing is downloaded and the checkout is
never importable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from helpers import ROOT


def run(*args: str | Path, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, **kw)
    assert result.returncode == 0, f"{args}: {result.stderr[-3000:]}"
    return result


@pytest.fixture
def installed(tmp_path) -> Path:
    """A fresh venv with the wheel built from this checkout installed in it; its bin/ folder."""
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` names itself in UV
    if not uv:
        pytest.skip("uv is not installed (pip install uv)")
    dist, venv = tmp_path / "dist", tmp_path / "venv"
    run(uv, "build", "--wheel", "--offline", "--out-dir", dist, cwd=ROOT)
    (wheel,) = dist.glob("ml_intern-*.whl")
    assert "cli/examples/tiny_classifier/session.jsonl" in zipfile.ZipFile(wheel).namelist()

    run(sys.executable, "-m", "venv", "--without-pip", venv)
    site = run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout
    (Path(site.strip()) / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(uv, "pip", "install", "--offline", "--no-deps", "--python", venv / "bin" / "python", wheel)
    return venv / "bin"


def test_the_installed_wheel_runs_the_example_from_an_empty_folder(installed, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = run(installed / "python", "-c", "import cli; print(cli.__file__)", cwd=empty, env=env).stdout
    assert Path(where.strip()).is_relative_to(installed.parent), where  # the wheel's copy, not the checkout

    result = run(installed / "ml-intern", "example", "tiny-classifier", cwd=empty, env=env)
    (workspace,) = (empty / "ml-intern-examples").iterdir()
    assert {"train.py", "model.json", "MODEL_CARD.md"} <= {p.name for p in workspace.iterdir()}, result.stderr


def test_the_studio_config_for_installs_without_langgraph_json_mirrors_it():
    from cli.studio_cmd import DEFAULT_CONFIG

    shipped = json.loads((ROOT / "langgraph.json").read_text())
    shipped.pop("env", None)  # dropped by server_config either way
    assert shipped == DEFAULT_CONFIG
