"""The benchmark suite's quick mode as a CI gate: it fails when a performance budget is broken by a wide
margin. Every gate is a ratio against a baseline measured in the same run (flat per-step cost, linear
storage, parallel tools, light start-up), never an absolute time; see README "Benchmarks"."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import ROOT

from bench.report import RESULTS_END, RESULTS_START, write_readme
from bench.startup import offenders, parse_importtime

EXPECTED_GATES = [
    "--help",
    "--version",
    "heavy packages",
    "per-step CPU",
    "SQLite bytes/step",
    "SQLite bytes/step of the fastest-growing channel",
    "sessions list",
    "asyncio.sleep tool",
    "`bash` tool",
]


def test_quick_benchmarks_stay_within_every_gate(tmp_path):
    out = tmp_path / "quick.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--no-readme", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    broken = [line for line in result.stderr.splitlines() if "GATE BROKEN" in line or "Error" in line]
    assert result.returncode == 0, "\n".join(broken) or result.stderr[-3000:]

    report = json.loads(out.read_text())
    assert report["passed"]
    gates = [c["name"] for s in report["sections"] for c in s["checks"]]
    for expected in EXPECTED_GATES:  # a gate that silently disappears guards nothing
        assert any(expected in name for name in gates), f"no gate for {expected}: {gates}"
    assert not [s["title"] for s in report["sections"] if "(failed)" in s["title"]]
    measured = {f["name"] for s in report["sections"] for f in s["figures"] if f["samples"]}
    assert "SQLite: per step at 300 steps (wall)" in measured
    assert any(name.startswith("resume 200-message session") for name in measured)
    assert "tokens freed" in measured
    # the table a reader sees has a row per figure with its median
    assert "| SQLite: per step at 300 steps (wall) |" in result.stdout


def test_readme_results_are_replaced_in_place_and_the_rest_is_kept(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# project\n\nUsage text.\n")
    write_readme(readme, "first table\n")
    text = readme.read_text()
    assert text.startswith("# project\n\nUsage text.\n")
    assert "## Benchmarks" in text and "first table" in text

    # prose written around the block (and sections added after it) survive a new run
    readme.write_text(text.replace("## Benchmarks\n", "## Benchmarks\n\nHow to run.\n") + "\n## Later section\n")
    write_readme(readme, "second table\n")
    text = readme.read_text()
    assert "first table" not in text and "second table" in text
    assert "How to run." in text and text.rstrip().endswith("## Later section")
    assert text.count(RESULTS_START) == 1 and text.count(RESULTS_END) == 1


def test_import_offenders_sum_own_time_per_package():
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       500 |        500 |   typer.core\n"
        "import time:      1500 |       2000 | typer\n"
        "import time:      3000 |       3000 | litellm\n"
        "import time:       200 |        200 |     litellm.utils\n"
    )
    rows = parse_importtime(stderr)
    assert rows[0] == ("typer.core", 500, 500, 1)
    total, top = offenders(rows)
    assert total == 5.0  # top-level cumulative only: 2 ms + 3 ms
    assert top == [("litellm", 3.2), ("typer", 2.0)]


def test_the_comparison_with_the_original_runs_by_its_name_and_says_why_it_is_skipped(monkeypatch):
    """`--only original` reaches bench/compare_original.py; without a checkout it is one line, not a failure."""
    from bench.__main__ import parse_args, run_one

    monkeypatch.delenv("ML_INTERN_ORIGINAL", raising=False)
    assert parse_args(["--only", "original"]).only == ["original"]
    section = run_one("original", quick=True)
    assert "(failed)" not in section.title and not section.checks
    assert section.notes == [
        "Comparison skipped: set ML_INTERN_ORIGINAL to a checkout of github.com/huggingface/ml-intern."
    ]
