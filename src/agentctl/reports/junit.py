"""JUnit XML (GitLab ``artifacts:reports:junit``, Jenkins, Azure DevOps)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from agentctl.reports.base import Formatter, ReportContext


class JunitFormatter(Formatter):
    def render(self, context: ReportContext) -> str:
        shown = [f for f in context.result.findings if context.outcome(f) != "baseline"]
        failing = [f for f in shown if context.outcome(f) in ("blocking", "approval")]
        gate_fails = context.exit_code != 0
        suites = ET.Element("testsuites", name="agentctl check")
        suite = ET.SubElement(
            suites,
            "testsuite",
            name="agentctl check",
            tests=str(len(shown) + 1),
            failures=str(len(failing) + gate_fails),  # the "policy gate" case fails too
            errors="0",
            skipped=str(sum(1 for f in shown if context.outcome(f) == "suppressed")),
        )
        overall = ET.SubElement(suite, "testcase", classname="agentctl", name="policy gate")
        if gate_fails:
            failure = ET.SubElement(
                overall, "failure", message=f"verdict: {context.verdict.value}", type=context.verdict.value
            )
            failure.text = f"{len(failing)} finding(s) need attention (exit code {context.exit_code})"
        for finding in shown:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=finding.location.path,
                name=" ".join(
                    filter(None, (finding.rule_id, finding.address, f"(line {finding.location.start_line})"))
                ),
                file=finding.location.path,
                line=str(finding.location.start_line),
            )
            outcome = context.outcome(finding)
            if outcome in ("blocking", "approval"):
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=finding.message,
                    type="approval_required" if outcome == "approval" else finding.severity.value,
                )
                failure.text = f"{finding.title}\n{finding.message}\nRemediation: {finding.remediation}"
            elif outcome == "suppressed":
                ET.SubElement(case, "skipped", message=f"suppressed: {finding.suppression_reason}")
            else:
                out = ET.SubElement(case, "system-out")
                out.text = f"[{finding.severity.value}] {finding.message}"
        ET.indent(suites)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
