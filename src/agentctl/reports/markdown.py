"""Markdown for a pull-request comment or a CI job summary."""

from __future__ import annotations

from agentctl.model.finding import Verdict
from agentctl.reports.base import Formatter, ReportContext

_HEADLINE = {
    Verdict.PASSED: "✅ passed",
    Verdict.BLOCKED: "❌ blocked",
    Verdict.APPROVAL_REQUIRED: "⏸️ approval required",
}
_GATE = {
    "blocking": "❌ block",
    "approval": "⏸️ approve",
    "warning": "⚠️ warn",
    "baseline": "existing",
    "suppressed": "muted",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class MarkdownFormatter(Formatter):
    def render(self, context: ReportContext) -> str:
        result = context.result
        out = [f"## agentctl check: {_HEADLINE[context.verdict]}", ""]
        scope = f"`{result.diff}` · " if result.diff else ""
        out.append(
            f"{scope}{result.files_scanned} files · {result.resources_evaluated} resources · "
            f"{result.rules_loaded} rules · fail-on `{context.fail_on.value}`"
        )
        out.append("")
        listed = [f for f in result.findings if context.outcome(f) not in ("suppressed",)]
        if listed:
            out += [
                "| Gate | Severity | Rule | Resource | Change | Location | Message |",
                "|---|---|---|---|---|---|---|",
            ]
            for f in listed:
                address = _cell(f"`{f.address}`") if f.address else ""
                change = f.change.value if f.change.value != "none" else ""
                out.append(
                    f"| {_GATE[context.outcome(f)]} | {f.severity.value} | `{f.rule_id}` | {address} | {change} | "
                    f"`{_cell(f.location.path)}:{f.location.start_line}` | {_cell(f.message)} |"
                )
            out.append("")
            remediations = {f.rule_id: f.remediation for f in listed if f.remediation}
            if remediations:
                out.append("<details><summary>How to fix</summary>\n")
                out += [f"- `{rule}`: {_cell(text)}" for rule, text in sorted(remediations.items())]
                out.append("\n</details>\n")
        else:
            out += ["No findings.", ""]
        if context.verdict is Verdict.APPROVAL_REQUIRED:
            out += ['A platform owner can approve with `agentctl approve <id> --reason "…"`.', ""]
        suppressed = [f for f in result.findings if context.outcome(f) == "suppressed"]
        if suppressed:
            out.append(f"<details><summary>Suppressed ({len(suppressed)})</summary>\n")
            out += [f"- `{f.rule_id}` on `{f.address}`: {_cell(f.suppression_reason or '')}" for f in suppressed]
            out.append("\n</details>\n")
        if result.notes:
            out.append(f"<details><summary>Skipped files ({len(result.notes)})</summary>\n")
            out += [f"- `{_cell(n.path)}`: {_cell(n.message)}" for n in result.notes]
            out.append("\n</details>\n")
        return "\n".join(out).rstrip() + "\n"
