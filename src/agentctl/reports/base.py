"""The formatter interface and what every format needs to know about the run."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from agentctl import __version__
from agentctl.model.common import Action, Severity
from agentctl.model.finding import CheckResult, Finding, FindingStatus, Verdict, blocks

JSON_SCHEMA_VERSION = 1


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    GITHUB = "github"
    GITLAB = "gitlab"
    MARKDOWN = "markdown"


@dataclass(frozen=True)
class ReportContext:
    result: CheckResult
    fail_on: Severity
    exit_code: int
    version: str = __version__

    @property
    def verdict(self) -> Verdict:
        return self.result.verdict(self.fail_on)

    def outcome(self, finding: Finding) -> str:
        """``blocking``, ``approval``, ``warning``, ``suppressed`` or ``baseline``."""
        if finding.status is FindingStatus.SUPPRESSED:
            return "suppressed"
        if finding.status is FindingStatus.BASELINE:
            return "baseline"
        if blocks(finding, self.fail_on):
            return "blocking"
        if finding.action is Action.REQUIRE_APPROVAL:
            return "approval"
        return "warning"

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.result.findings if f.active]


def fingerprint(finding: Finding) -> str:
    """Stable across line moves: rule, file and resource address."""
    key = f"{finding.rule_id}\0{finding.location.path}\0{finding.address or ''}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def sarif_rule_id(rule_id: str) -> str:
    return f"agentctl/{rule_id}"


class Formatter(ABC):
    """Turns a finished check into the bytes of one format."""

    @abstractmethod
    def render(self, context: ReportContext) -> str: ...
