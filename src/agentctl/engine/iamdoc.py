"""IAM policy documents in every form Terraform writes them, as plain statements.

A policy reaches rules as JSON text (a heredoc, ``jsonencode(...)`` evaluated,
a ``file()`` read), as an already-decoded map, or as the ``statement`` blocks
of an ``aws_iam_policy_document`` data source. :func:`statements` turns each
into the same shape, so a rule reads every Action and Resource element and the
Effect once::

    {"effect": "Allow", "actions": [...], "not_actions": [...],
     "resources": [...], "not_resources": [...]}

Text that is not JSON (an unknown value, a template) yields no statements:
a rule sees nothing rather than a guess.
"""

from __future__ import annotations

import json
import re
from typing import Any

_JSON_KEYS = {
    "actions": "Action",
    "not_actions": "NotAction",
    "resources": "Resource",
    "not_resources": "NotResource",
}


def statements(value: Any) -> list[dict[str, Any]]:
    """Every statement of a policy, whatever its form."""
    if isinstance(value, dict) and isinstance(value.get("statement"), list) and "Statement" not in value:
        return [_from_block(s) for s in value["statement"] if isinstance(s, dict)]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return []
    if not isinstance(value, dict):
        return []
    found = value.get("Statement", [])
    items = found if isinstance(found, list) else [found]
    return [_from_json(s) for s in items if isinstance(s, dict)]


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if isinstance(item, (str, int, float))]


def _from_json(statement: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"effect": _effect(statement.get("Effect"))}
    for key, json_key in _JSON_KEYS.items():
        out[key] = _strings(statement.get(json_key))
    return out


def _from_block(block: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"effect": _effect(block.get("effect", "Allow"))}
    for key in _JSON_KEYS:
        out[key] = _strings(block.get(key))
    return out


def _effect(value: Any) -> str:
    # IAM accepts exactly "Allow" and "Deny"; anything else is not a grant.
    return value if value in ("Allow", "Deny") else str(value)


_SECRET_KEY = re.compile(
    r"(?:^|_)(?:password|passwd|secret|client_secret|secret_key|secret_string|access_key|private_key|api_key|"
    r"auth_token|token|master_password|admin_password)$",
    re.IGNORECASE,
)
_NOT_SECRET_VALUE = re.compile(r"^(?:\$\{.*\}|arn:.*|[a-z]+://.*|true|false|\*+|<.*>|changeme)?$", re.IGNORECASE)


def literal_secret_keys(attributes: Any) -> list[str]:
    """Attribute names that look like secrets and hold a literal string (never the value itself)."""
    if not isinstance(attributes, dict):
        return []
    return sorted(
        str(key)
        for key, value in attributes.items()
        if isinstance(key, str)
        and _SECRET_KEY.search(key)
        and isinstance(value, str)
        and len(value) >= 6
        and not _NOT_SECRET_VALUE.match(value)
    )
