"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers."""

from __future__ import annotations

import json
from typing import Any

from agentctl.model.common import Severity
from agentctl.model.finding import FindingStatus
from agentctl.reports.base import Formatter, ReportContext, fingerprint, sarif_rule_id

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub maps security-severity to its critical/high/medium/low labels.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}


class SarifFormatter(Formatter):
    def render(self, context: ReportContext) -> str:
        result = context.result
        used = sorted({f.rule_id for f in result.findings})
        rules: list[dict[str, Any]] = []
        index: dict[str, int] = {}
        for rule_id in used:
            info = result.rule(rule_id)
            finding = next(f for f in result.findings if f.rule_id == rule_id)
            title = info.title if info else finding.title
            severity = info.severity if info else finding.severity
            descriptor: dict[str, Any] = {
                "id": sarif_rule_id(rule_id),
                "name": "".join(part.capitalize() for part in rule_id.split("-")),
                "shortDescription": {"text": title},
                "fullDescription": {"text": (info.rationale if info and info.rationale else title)},
                "help": {"text": (info.remediation if info else finding.remediation) or title},
                "defaultConfiguration": {"level": _LEVEL[severity]},
                "properties": {
                    "tags": ["security", "infrastructure-as-code"],
                    "security-severity": _SECURITY_SEVERITY[severity],
                    "agentctl-action": (info.action if info else finding.action).value,
                },
            }
            index[rule_id] = len(rules)
            rules.append(descriptor)

        results: list[dict[str, Any]] = []
        for finding in result.findings:
            entry: dict[str, Any] = {
                "ruleId": sarif_rule_id(finding.rule_id),
                "ruleIndex": index[finding.rule_id],
                "level": _LEVEL[finding.severity],
                "message": {"text": finding.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": finding.location.path, "uriBaseId": "%SRCROOT%"},
                            "region": {
                                "startLine": max(finding.location.start_line, 1),
                                "endLine": max(finding.location.end_line, finding.location.start_line, 1),
                            },
                        },
                        **({"logicalLocations": [{"fullyQualifiedName": finding.address}]} if finding.address else {}),
                    }
                ],
                "partialFingerprints": {"agentctl/v1": fingerprint(finding)},
                "baselineState": "unchanged" if finding.status is FindingStatus.BASELINE else "new",
                "properties": {
                    "severity": finding.severity.value,
                    "action": finding.action.value,
                    "change": finding.change.value,
                    "outcome": context.outcome(finding),
                },
            }
            if finding.status is FindingStatus.SUPPRESSED:
                entry["suppressions"] = [{"kind": "inSource", "justification": finding.suppression_reason or ""}]
            results.append(entry)

        document = {
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "agentctl",
                            "version": context.version,
                            "semanticVersion": context.version,
                            "informationUri": "https://github.com/agentctl/agentctl",
                            "rules": rules,
                        }
                    },
                    "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "repository root"}}},
                    "results": results,
                    "invocations": [{"executionSuccessful": True, "exitCode": context.exit_code}],
                }
            ],
        }
        return json.dumps(document, indent=2) + "\n"
