"""GitHub Actions workflow commands: one annotation per finding on the PR diff."""

from __future__ import annotations

from agentctl.reports.base import Formatter, ReportContext, sarif_rule_id


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_COMMAND = {"blocking": "error", "approval": "warning", "warning": "warning"}


class GithubFormatter(Formatter):
    def render(self, context: ReportContext) -> str:
        lines = []
        for finding in context.result.findings:
            outcome = context.outcome(finding)
            if outcome not in _COMMAND:
                continue
            command = _COMMAND[outcome]
            if outcome == "warning" and finding.severity.rank <= 1:
                command = "notice"
            title = f"{sarif_rule_id(finding.rule_id)}: {finding.title}"
            if outcome == "approval":
                title += " (approval required)"
            props = ",".join(
                [
                    f"file={_escape_property(finding.location.path)}",
                    f"line={finding.location.start_line}",
                    f"endLine={max(finding.location.end_line, finding.location.start_line)}",
                    f"title={_escape_property(title)}",
                ]
            )
            message = finding.message
            if finding.remediation:
                message += f"\n{finding.remediation}"
            lines.append(f"::{command} {props}::{_escape_data(message)}")
        return "\n".join(lines) + ("\n" if lines else "")
