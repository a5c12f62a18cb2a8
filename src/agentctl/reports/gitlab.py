"""GitLab Code Quality report (``artifacts:reports:codequality``)."""

from __future__ import annotations

import json

from agentctl.model.common import Severity
from agentctl.reports.base import Formatter, ReportContext, fingerprint, sarif_rule_id

_SEVERITY = {
    Severity.INFO: "info",
    Severity.LOW: "minor",
    Severity.MEDIUM: "major",
    Severity.HIGH: "critical",
    Severity.CRITICAL: "blocker",
}


class GitlabFormatter(Formatter):
    def render(self, context: ReportContext) -> str:
        issues = [
            {
                "type": "issue",
                "check_name": sarif_rule_id(f.rule_id),
                "description": f"{f.title}: {f.message}",
                "content": {"body": f.remediation or f.title},
                "categories": ["Security"],
                "fingerprint": fingerprint(f),
                "severity": _SEVERITY[f.severity],
                "location": {
                    "path": f.location.path,
                    "lines": {"begin": max(f.location.start_line, 1), "end": max(f.location.end_line, 1)},
                },
            }
            for f in context.active
        ]
        return json.dumps(issues, indent=2) + "\n"
