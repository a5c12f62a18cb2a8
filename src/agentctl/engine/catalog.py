"""The engine's own rules: findings that no policy file defines.

Parse failures, hostile files, broken rules and suppression problems are
findings like any other, with one metadata record each, so reports, SARIF
rule tables and docs treat them uniformly.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentctl.model.common import Action, ChangeKind, Location, Severity
from agentctl.model.finding import Finding


@dataclass(frozen=True)
class EngineRule:
    id: str
    title: str
    severity: Severity
    action: Action
    remediation: str


def _registry(*rules: EngineRule) -> dict[str, EngineRule]:
    table: dict[str, EngineRule] = {}
    for rule in rules:
        if not rule.id or rule.id in table:
            raise ValueError(f"engine rule id {rule.id!r} is empty or registered twice")
        table[rule.id] = rule
    return table


ENGINE_RULES = _registry(
    EngineRule(
        "parse-error",
        "File could not be parsed",
        Severity.HIGH,
        Action.WARN,
        "Fix the syntax; agentctl cannot judge what it cannot read.",
    ),
    EngineRule(
        "k8s-malformed-object",
        "Kubernetes object has the wrong shape",
        Severity.HIGH,
        Action.WARN,
        "Fix the object (e.g. spec must be a mapping, containers a list); the API server rejects it "
        "and agentctl cannot judge what it holds.",
    ),
    EngineRule("invalid-encoding", "File is not valid UTF-8", Severity.HIGH, Action.WARN, "Save the file as UTF-8."),
    EngineRule(
        "binary-file",
        "Binary content in a configuration file",
        Severity.HIGH,
        Action.WARN,
        "Remove the binary file or give it a name that is not .tf/.yaml/.json.",
    ),
    EngineRule(
        "file-too-large",
        "File too large to parse",
        Severity.MEDIUM,
        Action.WARN,
        "Split the file; configuration files over 10 MiB are not parsed.",
    ),
    EngineRule(
        "symlink-outside-repo",
        "Symlink leaves the repository",
        Severity.HIGH,
        Action.WARN,
        "Replace the symlink with the file itself; links out of the repository are never followed.",
    ),
    EngineRule(
        "unreadable-file", "File could not be read", Severity.MEDIUM, Action.WARN, "Check the file's permissions."
    ),
    EngineRule(
        "rule-error",
        "A rule failed to evaluate",
        Severity.MEDIUM,
        Action.WARN,
        "Fix the rule's condition (guard optional fields with has() or get()).",
    ),
    EngineRule(
        "invalid-suppression",
        "Suppression without a reason",
        Severity.MEDIUM,
        Action.WARN,
        'Add reason="…" to the agentctl:ignore comment; suppressions without one are not applied.',
    ),
    EngineRule(
        "expired-suppression",
        "Suppression has expired",
        Severity.LOW,
        Action.WARN,
        "Fix the finding, or renew the suppression with a new until= date and reason.",
    ),
    EngineRule(
        "suppression-added",
        "Change adds a suppression",
        Severity.MEDIUM,
        Action.REQUIRE_APPROVAL,
        "A human must approve silencing a rule (agentctl approve), or remove the suppression.",
    ),
    EngineRule(
        "policy-file-changed",
        "Change edits a policy file",
        Severity.HIGH,
        Action.REQUIRE_APPROVAL,
        "Policy changes are reviewed on their own; this check used the policies from BASE.",
    ),
    EngineRule(
        "config-file-changed",
        "Change edits agentctl.yaml",
        Severity.HIGH,
        Action.REQUIRE_APPROVAL,
        "Changes to trust and protection settings are reviewed on their own; "
        "agentctl trust reads them from the committed base, never from the change.",
    ),
)


def engine_finding(
    rule_id: str,
    message: str,
    location: Location,
    *,
    address: str | None = None,
    resource_type: str | None = None,
    change: ChangeKind = ChangeKind.NONE,
) -> Finding:
    rule = ENGINE_RULES[rule_id]
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        severity=rule.severity,
        action=rule.action,
        message=message,
        remediation=rule.remediation,
        location=location,
        address=address,
        resource_type=resource_type,
        change=change,
        source="agentctl",
    )
