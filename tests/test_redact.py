"""Redaction of secrets in anything that leaves the session (export, push)."""

from __future__ import annotations

from core.redact import known_secrets, redact, redact_text


def test_token_shapes_are_redacted():
    text = (
        "hf_"
        + "a" * 30
        + " sk-proj-"
        + "b" * 20
        + " ghp_"
        + "c" * 30
        + " github_pat_"
        + "d" * 30
        + " AKIA"
        + "E" * 16
        + " Authorization: Bearer abc.def.ghi123 WANDB_API_KEY=xyz123 "
        "postgresql://ml:hunter2pass@db.example.com/x"
    )
    out = redact_text(text)
    for secret in ["a" * 30, "b" * 20, "c" * 30, "d" * 30, "E" * 16, "abc.def", "xyz123", "hunter2pass"]:
        assert secret not in out
    assert "postgresql://ml:***@db.example.com/x" in out


def test_values_of_secret_variables_are_blanked_whatever_their_shape(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "no-known-shape-123456")
    monkeypatch.setenv("SHORT_TOKEN", "1")
    monkeypatch.setenv("PLAIN_SETTING", "no-known-shape-654321")
    secrets = known_secrets()
    out = redact({"a": ["uses no-known-shape-123456", "and no-known-shape-654321"]}, secrets)
    assert out == {"a": ["uses ***", "and no-known-shape-654321"]}
    assert "1" not in secrets


def test_a_secret_containing_another_is_blanked_whole(monkeypatch):
    monkeypatch.setenv("SHORT_TOKEN", "abcdefgh")
    monkeypatch.setenv("LONG_TOKEN", "abcdefgh-and-more")
    assert redact_text("key: abcdefgh-and-more.", known_secrets()) == "key: ***."
