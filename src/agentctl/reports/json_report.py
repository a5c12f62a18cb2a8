"""Versioned JSON (schema: docs/schemas/check-result.v1.json)."""

from __future__ import annotations

import json
from typing import Any

from agentctl.reports.base import JSON_SCHEMA_VERSION, Formatter, ReportContext, fingerprint


class JsonFormatter(Formatter):
    def render(self, context: ReportContext) -> str:
        result = context.result
        counts: dict[str, int] = {}
        for finding in result.findings:
            outcome = context.outcome(finding)
            counts[outcome] = counts.get(outcome, 0) + 1
        document: dict[str, Any] = {
            "schema": "agentctl/check-result",
            "version": JSON_SCHEMA_VERSION,
            "agentctl": context.version,
            "verdict": context.verdict.value,
            "exit_code": context.exit_code,
            "fail_on": context.fail_on.value,
            "diff": result.diff,
            "summary": {
                "files_scanned": result.files_scanned,
                "resources_evaluated": result.resources_evaluated,
                "rules_loaded": result.rules_loaded,
                "findings": len(result.findings),
                "by_outcome": counts,
            },
            "findings": [
                {
                    "rule_id": f.rule_id,
                    "title": f.title,
                    "severity": f.severity.value,
                    "action": f.action.value,
                    "outcome": context.outcome(f),
                    "status": f.status.value,
                    "message": f.message,
                    "remediation": f.remediation,
                    "path": f.location.path,
                    "start_line": f.location.start_line,
                    "end_line": f.location.end_line,
                    "address": f.address,
                    "resource_type": f.resource_type,
                    "change": f.change.value,
                    "suppression_reason": f.suppression_reason,
                    "source": f.source,
                    "fingerprint": fingerprint(f),
                }
                for f in result.findings
            ],
            "notes": [{"path": n.path, "message": n.message} for n in result.notes],
        }
        return json.dumps(document, indent=2) + "\n"
