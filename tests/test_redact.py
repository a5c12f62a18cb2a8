"""Secret redaction: planted credentials of every supported kind never survive."""

from __future__ import annotations

import json

import pytest

from agentctl.redact import MASK, Redactor

# Built at run time so no scanner mistakes this file for a leak.
SECRETS = {
    "anthropic": "sk-ant-api03-" + "A1b2C3d4E5f6G7h8I9j0" * 3,
    "openai": "sk-proj-" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2" * 2,
    "openai-legacy": "sk-" + "abcdEFGH1234ijklMNOP5678qrst",
    "aws-access-key": "AKIA" + "IOSFODNN7EXAMPLX",
    "aws-session-key": "ASIA" + "Q3EGRZ7EXAMPLE12",
    "github-pat": "ghp_" + "x" * 36,
    "github-fine-grained": "github_pat_" + "11ABCDEFG0" + "y" * 60,
    "github-oauth": "gho_" + "Q" * 36,
    "gitlab": "glpat-" + "abcdefghij0123456789",
    "slack-bot": "xoxb-" + "123456789012-1234567890123-" + "a" * 24,
    "slack-webhook": "https://hooks.slack.com/services/T000/B000/" + "X" * 24,
    "google-api": "AIza" + "SyA-" + "b" * 31,
    "google-oauth": "ya29." + "c" * 40,
    "jwt": "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0" + "." + "d" * 43,
    "npm": "npm_" + "e" * 36,
    "stripe": "sk_live_" + "f" * 24,
    "huggingface": "hf_" + "g" * 34,
}
CONTEXTUAL = {
    "private-key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7" + "h" * 64 + "\n-----END RSA PRIVATE KEY-----",
    "authorization": "Authorization: Bearer " + "i" * 40,
    "url-password": "postgres://admin:" + "S3cr3tPassw0rd" + "@db.internal:5432/app",
    "aws-secret": "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY",
    "password-assignment": "DB_PASSWORD=" + "correct-horse-battery",
}
SECRET_PARTS = {
    "private-key": "h" * 64,
    "authorization": "i" * 40,
    "url-password": "S3cr3tPassw0rd",
    "aws-secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY",
    "password-assignment": "correct-horse-battery",
}


def test_at_least_twenty_kinds_are_planted() -> None:
    assert len(SECRETS) + len(CONTEXTUAL) >= 20


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_token_formats_are_masked(name: str) -> None:
    text = f"prefix {SECRETS[name]} suffix"
    out = Redactor().text(text)
    assert SECRETS[name] not in out
    assert MASK in out
    assert out.startswith("prefix ") and out.endswith(" suffix")


@pytest.mark.parametrize("name", sorted(CONTEXTUAL))
def test_contextual_secrets_are_masked(name: str) -> None:
    out = Redactor().text(f"config:\n{CONTEXTUAL[name]}\nend")
    assert SECRET_PARTS[name] not in out


def test_json_payloads_stay_valid_and_hold_no_secret() -> None:
    everything = {**SECRETS, **CONTEXTUAL}
    record = {
        "kind": "tool_end",
        "tool_input": {"command": f"curl -H 'Authorization: Bearer {'i' * 40}' https://api"},
        "tool_output": "\n".join(everything.values()),
        "password": "hunter2hunter2",
        "nested": [{"token": SECRETS["github-pat"]}],
    }
    out = Redactor().json(record)
    decoded = json.loads(out)
    for secret in [*SECRETS.values(), *SECRET_PARTS.values(), "hunter2hunter2"]:
        assert secret not in out
    assert decoded["kind"] == "tool_end"


def test_ordinary_text_is_untouched() -> None:
    text = "terraform plan -out tfplan && kubectl get pods -n shop # password policy: see docs"
    assert Redactor().text(text) == text
    assert Redactor().json({"command": "ls -la", "ok": True}) == '{"command": "ls -la", "ok": true}'


def test_user_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTCTL_REDACT_PATTERNS", r"ACME-[0-9]{6}")
    assert Redactor().text("ticket ACME-123456 done") == f"ticket {MASK} done"


def test_tokens_after_escaped_newlines_in_json_are_masked() -> None:
    output = "line one\n" + SECRETS["aws-access-key"] + "\n" + SECRETS["github-pat"] + "\tend"
    out = Redactor().json({"kind": "tool_end", "tool_output": output})
    assert SECRETS["aws-access-key"] not in out and SECRETS["github-pat"] not in out
    assert json.loads(out)["tool_output"].startswith("line one\n")
