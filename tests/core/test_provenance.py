"""A metric in a final answer is backed by a number the session saw, or reported as unverified."""

from __future__ import annotations

from core.provenance import claims, evidence_numbers, unverified


def test_claims_are_the_metric_values_an_answer_states():
    answer = "Done. Eval accuracy reached 0.912, the F1 score is 88.3% and the training loss was 0.42 after 3 epochs."
    assert [(c.metric, c.value) for c in claims(answer)] == [
        ("eval accuracy", "0.912"),
        ("f1 score", "88.3%"),
        ("training loss", "0.42"),
    ]


def test_a_number_from_a_tool_output_backs_a_claim_as_rounded_and_an_invented_one_does_not():
    evidence = evidence_numbers(["epoch 3 loss 0.4213", "{'eval_accuracy': 0.9124, 'eval_f1': 0.8831}"])
    answer = "Accuracy: 91.2%, F1 = 0.88, loss 0.42. Precision was 0.97."
    assert [(c.metric, c.value) for c in unverified(answer, evidence)] == [("precision", "0.97")]
    assert [c.value for c in unverified("accuracy of 0.93", evidence)] == ["0.93"]
    assert unverified("No metrics yet: the job is still running.", evidence) == []
