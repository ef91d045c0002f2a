"""Budgets and provenance through the binary: a headless run stops at the budget with exit code 5 and its own
hint, `--resume ID --max-budget-usd N` finishes the turn, `sessions show` reports the spend; a metric in the
final answer that no tool output holds is flagged."""

from __future__ import annotations

import json

from helpers import call

PRICED = {"budget": {"model_prices": {"replay:*": {"input_per_mtok": 10, "output_per_mtok": 10}}}}
BIG = {"input_tokens": 50_000, "output_tokens": 1_000}  # $0.51 a call at the price above


def test_headless_stops_at_the_budget_with_exit_code_5_and_resumes_with_a_raised_one(cli, replay, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(PRICED))
    model = replay(
        [
            {"tool_calls": [call("plan_tool", {"todos": []}, "p1")], "usage": BIG},
            {"content": "trained", "usage": BIG},
        ]
    )
    first = cli("-m", model, "--config", str(config), "--max-budget-usd", "0.75", "train it")
    assert first.returncode == 5, first.stderr
    sid = json.loads(cli("sessions", "list", "--json").stdout)[0]["id"]
    assert "crosses the session's budget of $0.75" in first.stderr
    assert f"ml-intern --resume {sid} --max-budget-usd N" in first.stderr
    assert "trained" not in first.stdout

    same = cli("--resume", sid, "--config", str(config), "--max-budget-usd", "0.75", "--output-format", "json")
    assert same.returncode == 5 and json.loads(same.stdout)["status"] == "budget"

    raised = cli("--resume", sid, "--config", str(config), "--max-budget-usd", "2", "--output-format", "json")
    assert raised.returncode == 0, raised.stderr
    result = json.loads(raised.stdout)
    assert result["final_response"] == "trained"
    assert result["spend"]["total_usd"] == 1.02 and result["spend"]["max_budget_usd"] == 2

    shown = cli("sessions", "show", sid)
    assert "spent: $1.0200" in shown.stdout
    assert json.loads(cli("sessions", "show", sid, "--json").stdout)["spend"]["model_usd"] == 1.02


def test_a_budget_that_is_not_a_positive_amount_is_one_line(cli, replay):
    result = cli("-m", replay([{"content": "x"}]), "--max-budget-usd", "0", "go")
    assert result.returncode == 2
    assert result.stderr.strip() == "ml-intern: --max-budget-usd must be more than 0 (dollars), e.g. --max-budget-usd 5"


def test_a_metric_the_agent_invents_is_flagged_and_one_a_tool_printed_is_not(cli, replay, workspace):
    (workspace / "results.txt").write_text("eval_accuracy 0.9124\neval_loss 0.31\n")
    model = replay(
        [
            {"tool_calls": [call("read", {"path": "results.txt"}, "r1")]},
            {"content": "Eval accuracy is 91.2% and eval loss 0.31; the F1 score was 0.87."},
        ]
    )
    text = cli("-m", model, "look at the results")
    assert text.returncode == 0, text.stderr
    assert (
        "warning: unverified numbers in the answer (in no tool output or run log of this session): f1 score 0.87"
        in text.stderr
    )
    sid = json.loads(cli("sessions", "list", "--json").stdout)[0]["id"]
    answer = [{"content": "Accuracy was 0.9124, precision 0.5."}]
    again = cli("--resume", sid, "-m", replay(answer), "again", "--output-format", "json")
    assert json.loads(again.stdout)["unverified_numbers"] == [{"metric": "precision", "value": "0.5"}]
