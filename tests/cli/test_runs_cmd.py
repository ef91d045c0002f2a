"""`ml-intern runs list|show|compare|reproduce` over ledger records of real local jobs, in process."""

from __future__ import annotations

import asyncio
import sys
import time

from tools.jobs import tool as jobs_tool
from tools.runs import ledger

TRAIN = """import sys
lr = float(sys.argv[sys.argv.index("--lr") + 1])
for epoch in range(4):
    print(f"{{'loss': {1.0 / (epoch + 1) + lr:.3f}, 'epoch': {epoch}}}", flush=True)
print(f"eval_accuracy {0.8 + lr:.3f}", flush=True)
"""


def two_finished_runs(tool_ctx, workspace) -> list[str]:
    """Two local runs of train.py at lr 0.01 and 0.1, finished (sync: the tests below run the CLI in process)."""
    (workspace / "train.py").write_text(TRAIN)

    async def go() -> list[str]:
        ctx = tool_ctx()
        (tool,) = jobs_tool.tools(ctx.settings)
        ids = []
        for lr in ("0.01", "0.1"):
            out = await tool.handler(
                tool.args_model(operation="run", command=f"{sys.executable} train.py --lr {lr}"), ctx
            )
            ids.append(out.content.split("Started job ", 1)[1].split()[0])
        deadline = time.monotonic() + 30
        while any(ledger.view(ledger.load(i)).status != "succeeded" for i in ids):  # type: ignore[arg-type]
            assert time.monotonic() < deadline, "the runs never finished"
            await asyncio.sleep(0.05)
        return ids

    return asyncio.run(go())


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    from cli.main import dispatch

    code = 0
    try:
        dispatch(list(args))
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_runs_compare_puts_hyperparameters_and_metrics_side_by_side(tool_ctx, workspace, capsys):
    first, second = two_finished_runs(tool_ctx, workspace)
    code, out, _ = run_cli(capsys, "runs", "compare", first, second[:6])
    assert code == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:] if line.strip()}
    assert out.splitlines()[0].split() == [first, second]
    assert rows["status"] == ["succeeded", "succeeded"] and rows["cost"] == ["$0", "$0"]
    assert rows["lr"] == ["0.01", "0.1"]
    assert rows["loss"] == ["0.26", "0.35"] and rows["eval_accuracy"] == ["0.81", "0.9"]
    assert "█" in out and "▁" in out  # the loss curves, drawn under their row

    code, out, _ = run_cli(capsys, "runs", "list")
    assert code == 0 and first in out and second in out and "eval_accuracy=0.9" in out

    code, out, _ = run_cli(capsys, "runs", "show", first)
    assert code == 0
    assert "hyperparameters: lr=0.01" in out and "code: script train.py sha256" in out
    assert "loss" in out and "(4 points)" in out


def test_runs_reproduce_starts_the_run_again_and_says_when_its_code_changed(tool_ctx, workspace, capsys):
    first, _ = two_finished_runs(tool_ctx, workspace)
    (workspace / "train.py").write_text(TRAIN.replace("range(4)", "range(2)"))
    code, out, err = run_cli(capsys, "runs", "reproduce", first)
    assert code == 0, err
    assert out.startswith(f"note: train.py changed since run {first} (it runs as it is now)")
    again = next(r for r in ledger.all_runs() if r.reproduces == first)
    assert again.hyperparameters == {"lr": "0.01"} and again.argv == ledger.load(first).argv  # type: ignore[union-attr]

    code, _, err = run_cli(capsys, "runs", "show", "nope")
    assert code == 2 and err.strip() == "ml-intern: no run 'nope' (or the prefix is ambiguous): see ml-intern runs list"
