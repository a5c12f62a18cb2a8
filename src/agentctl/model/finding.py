"""Findings and the result of a check: immutable values, never exceptions.

A suppressed finding, a finding BASE already had, and a skipped file are all
data here, so every report can show them the same way.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from agentctl.model.common import Action, ChangeKind, Location, Severity
from agentctl.model.resource import Note


class FindingStatus(StrEnum):
    OPEN = "open"
    SUPPRESSED = "suppressed"
    BASELINE = "baseline"
    """Present at BASE already; only reported with ``--all``, never blocks."""


class Finding(BaseModel):
    """One rule's verdict on one resource (or on the check itself)."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    title: str
    severity: Severity
    action: Action
    message: str
    location: Location
    remediation: str = ""
    address: str | None = None
    resource_type: str | None = None
    change: ChangeKind = ChangeKind.NONE
    status: FindingStatus = FindingStatus.OPEN
    suppression_reason: str | None = None
    source: str = "builtin"
    """The policy file the rule came from, or ``agentctl`` for the engine's own findings."""

    @property
    def active(self) -> bool:
        return self.status is FindingStatus.OPEN


class Verdict(StrEnum):
    PASSED = "passed"
    BLOCKED = "blocked"
    APPROVAL_REQUIRED = "approval_required"


class RuleInfo(BaseModel):
    """A rule's metadata as reports need it (SARIF rule tables, docs)."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    severity: Severity
    action: Action
    remediation: str = ""
    rationale: str = ""
    source: str = "builtin"


class CheckResult(BaseModel):
    """Everything a check produced, in the order reports should show it."""

    model_config = ConfigDict(frozen=True)

    findings: tuple[Finding, ...]
    notes: tuple[Note, ...] = ()
    files_scanned: int = 0
    resources_evaluated: int = 0
    rules: tuple[RuleInfo, ...] = ()
    """Every rule that could have produced a finding (policy files and engine)."""
    diff: str | None = None
    """``BASE..HEAD`` description when the check ran in diff mode."""

    @property
    def rules_loaded(self) -> int:
        return len(self.rules)

    def rule(self, rule_id: str) -> RuleInfo | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def verdict(self, fail_on: Severity) -> Verdict:
        """Exit semantics of PRODUCT.md.

        ``deny`` always blocks; a ``warn`` finding blocks at or above ``fail_on``;
        ``require_approval`` never blocks by severity: it waits for a human.
        """
        active = [f for f in self.findings if f.active]
        if any(blocks(f, fail_on) for f in active):
            return Verdict.BLOCKED
        if any(f.action is Action.REQUIRE_APPROVAL for f in active):
            return Verdict.APPROVAL_REQUIRED
        return Verdict.PASSED


def blocks(finding: Finding, fail_on: Severity) -> bool:
    """Whether this finding alone blocks at the given threshold."""
    if finding.action is Action.DENY:
        return True
    return finding.action is Action.WARN and finding.severity.rank >= fail_on.rank
