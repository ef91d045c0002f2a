"""Metrics read from a run's log in the formats training scripts print, and the code facts of a run."""

from __future__ import annotations

import math

from tools.runs.code import hyperparameters, referenced_repos
from tools.runs.metrics import scan_lines, sparkline


def test_metrics_in_the_usual_log_formats_become_curves_and_final_values():
    scan = scan_lines(
        [
            "epoch 1 loss 0.90 lr 3e-4",
            "{'loss': 0.61, 'grad_norm': 1.2, 'learning_rate': 2e-05, 'epoch': 1.0}",
            "step 300: train/loss=0.45 val_accuracy=0.812",
            '{"eval_loss": 0.5, "eval_f1": 0.77}',
            "downloading model-00001-of-00002.safetensors: 100%",
            "saved to out/step-300",
        ]
    )
    assert scan.curves["loss"] == [0.90, 0.61]
    assert scan.final() == {
        "loss": 0.61,
        "train_loss": 0.45,
        "val_accuracy": 0.812,
        "eval_loss": 0.5,
        "eval_f1": 0.77,
    }
    assert scan.nan_line is None and scan.oom_line is None


def test_a_nan_loss_and_an_out_of_memory_error_are_noticed():
    scan = scan_lines(["loss 0.5", "{'loss': nan, 'epoch': 2.0}", "torch.OutOfMemoryError: CUDA out of memory."])
    assert scan.nan_line == "{'loss': nan, 'epoch': 2.0}"
    assert scan.oom_line is not None and "CUDA out of memory" in scan.oom_line
    assert math.isnan(scan.final()["loss"])
    assert sparkline([1.0, 0.5, float("nan"), 0.0]) == "█▅?▁"  # highest, middle, NaN, lowest


def test_hyperparameters_come_from_the_command_line_and_repos_from_the_script():
    argv = ["python", "train.py", "--lr", "3e-4", "--epochs=3", "--fp16", "seed=1", "--warmup", "-0.1"]
    assert hyperparameters(argv) == {"lr": "3e-4", "epochs": "3", "fp16": "true", "seed": "1", "warmup": "-0.1"}
    source = (
        'ds = load_dataset("acme/reviews", revision="abc123")\n'
        'model = AutoModel.from_pretrained("bert-base-uncased")\n'
        'tok = AutoTokenizer.from_pretrained("bert-base-uncased")\n'
    )
    assert referenced_repos(source) == (["acme/reviews@abc123"], ["bert-base-uncased"])
