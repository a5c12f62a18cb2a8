"""Secret redaction, applied before anything is stored, printed or exported.

Patterns cover the common credential formats (cloud keys, VCS and chat
tokens, private keys, JWTs, Authorization headers, passwords in URLs); users add
their own with ``AGENTCTL_REDACT_PATTERNS`` (regular expressions separated by
newlines) or the ``redact:`` list in ``agentctl.yaml``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from typing import Any

MASK = "[REDACTED]"

_BUILTIN = [
    r"sk-ant-[A-Za-z0-9_\-]{16,}",  # Anthropic
    r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",  # OpenAI
    r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",  # AWS access key id
    r"(?i:(?<=aws_secret_access_key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40})",  # AWS secret (keyed)
    r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",  # GitHub tokens
    r"\bgithub_pat_[A-Za-z0-9_]{40,}\b",
    r"\bglpat-[A-Za-z0-9_\-]{20,}\b",  # GitLab
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b",  # Slack
    r"https://hooks\.slack\.com/services/[A-Za-z0-9/]+",
    r"\bAIza[0-9A-Za-z_\-]{35}\b",  # Google API key
    r"\bya29\.[0-9A-Za-z_\-]{20,}",  # Google OAuth access token
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",  # JWT
    r"(?i:(?<=authorization:)\s*(?:bearer|basic|token)?\s*[A-Za-z0-9._~+/=\-]{8,})",
    r"(?i:(?<=\"authorization\":)\s*\"[^\"]{8,}\")",
    r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)",  # user:password@host
    r"\bnpm_[A-Za-z0-9]{36}\b",
    r"\bsk_live_[A-Za-z0-9]{20,}\b",  # Stripe
    r"\bhf_[A-Za-z0-9]{30,}\b",  # Hugging Face
    r"(?i:(?<=password)[\"']?\s*[:=]\s*[\"']?[^\s\"',;]{6,})",
]


_SECRET_KEY = re.compile(r"(?i)(passw(or)?d|secret|token|api_?key|private_?key|credential|authorization)")
"""Map keys whose values are secrets whatever they look like."""

# Every built-in pattern needs one of these (lower-cased) substrings: a cheap test
# that lets the common case (no secret at all) skip the full expression.
_TRIGGERS = (
    "sk-", "akia", "asia", "abia", "acca", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
    "xox", "hooks.slack.com", "aiza", "ya29.", "private key", "eyj", "://", "npm_", "sk_live_", "hf_",
    "authorization", "password", "aws_secret_access_key",
)  # fmt: skip


class Redactor:
    def __init__(self, extra: Iterable[str] = ()) -> None:
        custom = [*extra, *(p for p in os.environ.get("AGENTCTL_REDACT_PATTERNS", "").splitlines() if p.strip())]
        self._regex = re.compile("|".join(f"(?:{p})" for p in [*_BUILTIN, *custom]))
        self._always = bool(custom)  # custom patterns have no known trigger: always run the expression

    def _may_hold_secret(self, value: str) -> bool:
        if self._always:
            return True
        lowered = value.lower()
        return any(trigger in lowered for trigger in _TRIGGERS)

    def text(self, value: str) -> str:
        return self._regex.sub(MASK, value) if self._may_hold_secret(value) else value

    def json(self, value: Any) -> str:
        """``value`` serialised to JSON with every secret masked.

        The cheap trigger test runs on the serialised text (most events hold no
        secret); only then is each string masked on its own, before escaping: a
        token after an escaped newline (``\\nAKIA…``) would defeat word boundaries.
        """
        text = json.dumps(value, default=str)
        if not self._may_hold_secret(text):
            return text
        return json.dumps(self.value(value), default=str)

    def value(self, value: Any) -> Any:
        """Redact every string inside a JSON-like value (keys included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                self.text(str(k)): MASK if isinstance(v, str) and v and _SECRET_KEY.search(str(k)) else self.value(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value
