"""Redaction of secrets in anything that leaves the session (export, push)."""

from __future__ import annotations

import json

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


HELD_KEY = "wandb-0f1e2d3c4b5a6978-not-a-known-shape"  # known only because the exporting process holds it
# (shape, text as it appears in a trace, the parts that must not survive an export)
SHAPES = [
    ("JSON password", '{"user": "ml", "password": "hunter2-correct-horse"}', ["hunter2-correct-horse"]),
    ("JSON api_key", '{"api_key": "a1b2c3d4e5f6g7h8i9"}', ["a1b2c3d4e5f6g7h8i9"]),
    ("JSON client_secret", "{'client_secret': 'cs9f8e7d6c5b4a3210'}", ["cs9f8e7d6c5b4a3210"]),
    (
        "PEM private key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
        "4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onL\n-----END RSA PRIVATE KEY-----",
        ["MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo", "4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onL"],
    ),
    ("Basic auth header", "Authorization: Basic dXNlcjpzM2NyZXQtcGFzc3dvcmQ=", ["dXNlcjpzM2NyZXQtcGFzc3dvcmQ"]),
    ("Stripe live key", "stripe.api_key = sk_live_4eC39HqLyjWDarjtT1zdp7dc", ["4eC39HqLyjWDarjtT1zdp7dc"]),
    ("Google API key", "key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY&q=x", ["9tSrke72PouQMnMX-a7eZSW0jkFMBWY"]),
    ("Slack bot token", "token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", ["AbCdEfGhIjKlMnOpQrStUvWx"]),
    (
        "JWT",
        "cookie eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        ["eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ", "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"],
    ),
    ("redis URL without user", "connect redis://:r3dis-pa55word@cache:6379/0", ["r3dis-pa55word"]),
    (
        "token wrapped across lines",
        "$ echo $HF_TOKEN | fold -w 23\nhf_AbCdEfGhIjKlMnOpQrSt\nUvWxYz0123456789AbCdEf\n",
        ["AbCdEfGhIjKlMnOpQrSt", "UvWxYz0123456789AbCdEf"],
    ),
    ("held key split across lines", f"key: {HELD_KEY[:20]}\n{HELD_KEY[20:]}", [HELD_KEY[:20], HELD_KEY[20:]]),
]
KEPT = ["accuracy 0.913 with max_new_tokens=512", "commit 3f2a9c1b7d4e5f60718293a4b5c6d7e8f9012345"]


def test_every_secret_shape_is_redacted_in_an_export(cli, replay):
    trace = "\n\n".join([text for _, text, _ in SHAPES] + KEPT)
    ran = cli("-m", replay([{"content": trace}]), "show me the secrets")
    assert ran.returncode == 0, ran.stderr
    sid = json.loads(cli("sessions", "list", "--json").stdout)[0]["id"]
    exported = cli("sessions", "export", sid, env={"WANDB_API_KEY": HELD_KEY})
    assert exported.returncode == 0, exported.stderr
    answer = json.loads(exported.stdout.splitlines()[-1])["content"]
    leaked = [shape for shape, _, parts in SHAPES if any(part in exported.stdout or part in answer for part in parts)]
    assert not leaked, f"not redacted: {leaked}"
    assert all(text in answer for text in KEPT)  # ordinary text (numbers, commit hashes) survives
