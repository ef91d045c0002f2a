"""End to end through the real `ml-intern` binary, a replay model and the fake Hub: inspect a dataset,
write a training script, submit it as a paid GPU job (stops for approval with its estimated cost,
exit 4), resume approved, follow the job's logs to its final metric, upload the results (asks again:
uploads leave the machine), finish. Asserted on what the fake Hub received and on the stored session.
"""

from __future__ import annotations

import json

from helpers import call

pytest_plugins = ["hf_fake_server"]  # the hf_env fixture

JOB = "68f1c0ffee0123456789abcd"  # handed out by the fake Hub (hub.next_job_ids), so the script can name it
DATASET = "acme/reviews"
MODEL_REPO = "alice/reviews-classifier"
SCRIPT = """# /// script
# dependencies = ["scikit-learn"]
# ///
from datasets import load_dataset
from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

ds = load_dataset("acme/reviews")
model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased", num_labels=2)
trainer = Trainer(model=model, args=TrainingArguments("out", num_train_epochs=2, push_to_hub=True,
                                                      hub_model_id="alice/reviews-classifier"),
                  train_dataset=ds["train"], eval_dataset=ds["test"])
trainer.train()
print("eval accuracy", trainer.evaluate()["eval_accuracy"])
trainer.push_to_hub()
"""
RESULTS = "# reviews-classifier\n\nDistilBERT on acme/reviews, 2 epochs on an A10G: eval accuracy 0.912.\n"
FINAL = "Done: eval accuracy 0.912 on acme/reviews; the model and RESULTS.md are in alice/reviews-classifier."

TURNS = [
    {
        "content": "First, what is in the dataset?",
        "tool_calls": [call("hf_inspect_dataset", {"dataset": DATASET, "rows": 2}, "c1")],
    },
    {"tool_calls": [call("write", {"path": "train.py", "content": SCRIPT}, "c2")]},
    {
        "content": "Training on an A10G.",
        "tool_calls": [
            call(
                "hf_jobs",
                {
                    "operation": "run",
                    "script": "train.py",
                    "flavor": "a10g-small",
                    "timeout": "30m",
                    "dependencies": ["transformers", "datasets"],
                    "secrets": {"HF_TOKEN": "$HF_TOKEN"},
                },
                "c3",
            )
        ],
    },
    {
        "tool_calls": [
            call("hf_jobs", {"operation": "logs", "job_id": JOB, "follow": True, "follow_timeout_s": 60}, "c4")
        ]
    },
    {"tool_calls": [call("write", {"path": "RESULTS.md", "content": RESULTS}, "c5")]},
    {
        "tool_calls": [
            call(
                "hf_repo_files",
                {
                    "operation": "upload",
                    "repo_id": MODEL_REPO,
                    "local_path": "RESULTS.md",
                    "commit_message": "Add training results",
                },
                "c6",
            )
        ]
    },
    {"content": FINAL},
]
LOG_START = ["Downloading acme/reviews", "epoch 1 loss 0.41"]
LOG_LATER = ["epoch 2 loss 0.22", "eval accuracy 0.912"]  # appear while the agent follows the job


def seed_hub(hub) -> None:
    features = [
        {"name": "text", "type": {"dtype": "string", "_type": "Value"}},
        {"name": "label", "type": {"names": ["neg", "pos"], "_type": "ClassLabel"}},
    ]
    rows = [{"text": f"review {i}", "label": i % 2} for i in range(5)]
    hub.viewer[DATASET] = {
        "configs": {
            "default": {
                "train": {"num_rows": 8000, "features": features, "rows": rows},
                "test": {"num_rows": 2000, "features": features, "rows": rows},
            }
        }
    }
    hub.add_repo(MODEL_REPO, {"config.json": "{}"})  # the job's trainer.push_to_hub() made it
    hub.next_job_ids.append(JOB)
    hub.job_logs[JOB] = list(LOG_START)
    hub.more_logs[JOB] = list(LOG_LATER)  # one more line per inspection...
    hub.finish_after_polls[JOB] = len(LOG_LATER) + 1  # ...then COMPLETED


def test_dataset_to_gpu_job_to_upload_with_approvals(cli, hf_env, replay, tmp_path, isolated_home):
    hub = hf_env.hub
    seed_hub(hub)
    config = tmp_path / "xdg" / "ml-intern" / "config.json"  # the user's config (conftest sets XDG_CONFIG_HOME)
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"approval": {"rules": {"write": "allow"}}, "hf_jobs": {"poll_s": 0.05}}))
    env = {"HF_ENDPOINT": hub.url, "HF_DATASETS_SERVER": f"{hub.url}/datasets-server"}

    # 1. Inspect and write run unasked (read-only; rule allows write); the paid GPU job stops for approval.
    first = cli("--approval", "ask", "-m", replay(TURNS), "train a sentiment classifier on acme/reviews", env=env)
    assert first.returncode == 4, first.stderr
    sid = json.loads(cli("sessions", "list", "--json").stdout)[0]["id"]
    assert "c3: hf_jobs" in first.stderr and "(risk: remote_compute)" in first.stderr
    cost_line = first.stderr.split("c3: hf_jobs", 1)[1].splitlines()[1]
    assert "flavor: a10g-small" in cost_line and "estimated_max_cost_usd: 0.5" in cost_line  # $1.00/h x 30 min
    assert f"ml-intern --resume {sid} --approve all" in first.stderr
    assert (hf_env.workspace / "train.py").read_text() == SCRIPT
    assert hub.job_specs == {} and not hub.seen("POST", r"^/api/jobs/")  # nothing submitted before approval
    assert hub.seen("GET", r"^/datasets-server/first-rows$")

    # 2. Approved: the job is submitted, its logs followed to COMPLETED; the upload asks in ask mode.
    second = cli("--resume", sid, "--approve", "all", env=env)
    assert second.returncode == 4, second.stderr
    assert "c6: hf_repo_files" in second.stderr and "(risk: exec)" in second.stderr
    spec = hub.job_specs[JOB]
    assert spec["flavor"] == "a10g-small" and spec["timeoutSeconds"] == 1800
    assert spec["environment"]["ML_INTERN_SCRIPT"] == SCRIPT  # the script the agent wrote, as written
    assert spec["secrets"] == {"HF_TOKEN": hub.token}  # resolved at submission, never in the conversation
    assert {"transformers", "datasets", "scikit-learn"} <= set(spec["command"])
    assert hub.jobs[JOB]["status"]["stage"] == "COMPLETED"
    assert len(hub.seen("GET", rf"^/api/jobs/alice/{JOB}$")) == len(LOG_LATER) + 1  # it really followed
    assert "RESULTS.md" not in hub.repos[("model", MODEL_REPO)].files

    # 3. Upload approved by call id; the final answer closes the session.
    third = cli("--resume", sid, "--approve", "c6", env=env)
    assert third.returncode == 0, third.stderr
    assert FINAL in third.stdout
    assert hub.repos[("model", MODEL_REPO)].files["RESULTS.md"].decode() == RESULTS
    commit = hub.seen("POST", rf"^/api/models/{MODEL_REPO}/commit/main$")[-1]
    assert json.loads(commit.body.splitlines()[0])["value"]["summary"] == "Add training results"

    shown = cli("sessions", "show", sid, "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["session"]["status"] == "done"
    results = {m["tool_call_id"]: m for m in data["messages"] if m["role"] == "tool"}
    assert list(results) == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert all(m["status"] == "success" for m in results.values()), results
    assert "default: train (8,000 rows), test (2,000 rows)" in results["c1"]["content"]
    assert f"Submitted job {JOB} on a10g-small in alice" in results["c3"]["content"]
    logs = results["c4"]["content"]
    assert f"Job {JOB} [COMPLETED]" in logs and logs.rstrip().endswith("eval accuracy 0.912")
    assert all(line in logs for line in LOG_START + LOG_LATER)
    assert f"Uploaded RESULTS.md to {MODEL_REPO}" in results["c6"]["content"]
    assert data["messages"][0] == {"role": "human", "content": "train a sentiment classifier on acme/reviews"}
    assert data["messages"][-1]["role"] == "ai" and data["messages"][-1]["content"] == FINAL
    assert hub.token not in shown.stdout  # the job secret was resolved locally, never stored in the session
    full_log = isolated_home / "sessions" / sid / "hf_jobs" / f"{JOB}.log"
    assert full_log.read_text().splitlines() == LOG_START + LOG_LATER
