"""The human table (rich), the default format on a terminal."""

from __future__ import annotations

import io

from agentctl.model.common import Severity
from agentctl.model.finding import Finding
from agentctl.reports.base import Formatter, ReportContext

_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_HEADERS = ("SEVERITY", "GATE", "RULE", "LOCATION", "CHANGE", "MESSAGE")
_OUTCOME = {
    "blocking": "BLOCK",
    "approval": "APPROVE",
    "warning": "warn",
    "suppressed": "suppressed",
    "baseline": "existing",
}


class TableFormatter(Formatter):
    def __init__(self, color: bool = False, width: int | None = None) -> None:
        self.color = color
        self.width = width

    def render(self, context: ReportContext) -> str:
        if not self.color:
            return self._plain(context)
        from rich.console import Console  # only on a terminal: rich costs ~20 ms to import
        from rich.padding import Padding
        from rich.table import Table
        from rich.text import Text

        buffer = io.StringIO()
        console = Console(
            file=buffer, force_terminal=self.color, no_color=not self.color, width=self.width or 160, soft_wrap=False
        )
        shown = [f for f in context.result.findings if context.outcome(f) != "suppressed"]
        width = self.width or 160
        if shown and _table_width(context, shown) > width:
            # Too narrow for the columns: one block per finding, paths whole on a line of their own.
            for index, finding in enumerate(shown):
                if index:
                    console.print()
                head = Text()
                head.append(f"{finding.severity.value:<9}", style=_STYLE[finding.severity])
                head.append(f"{_OUTCOME[context.outcome(finding)]:<8}{finding.rule_id}", style="bold")
                if finding.change.value != "none":
                    head.append(f"  {finding.change.value}")
                console.print(head, overflow="ignore", crop=False)
                console.print(f"  {finding.location.path}:{finding.location.start_line}", overflow="ignore", crop=False)
                console.print(Padding(Text(finding.message), (0, 0, 0, 2)))
            return buffer.getvalue()
        if shown:
            table = Table(show_lines=False, header_style="bold", expand=False)
            table.add_column("Severity", no_wrap=True)
            table.add_column("Gate", no_wrap=True)
            table.add_column("Rule", no_wrap=True)
            table.add_column("Location", no_wrap=True)  # a path broken mid-word cannot be copied
            table.add_column("Change", no_wrap=True)
            table.add_column("Message", overflow="fold", ratio=1)
            for finding in shown:
                table.add_row(
                    Text(finding.severity.value, style=_STYLE[finding.severity]),
                    _OUTCOME[context.outcome(finding)],
                    finding.rule_id,
                    f"{finding.location.path}:{finding.location.start_line}",
                    finding.change.value if finding.change.value != "none" else "",
                    finding.message,
                )
            console.print(table)
        else:
            console.print("No findings.")
        if skipped := skipped_summary(context):
            console.print(skipped, overflow="fold")
        return buffer.getvalue()

    @staticmethod
    def _plain(context: ReportContext) -> str:
        """Aligned columns, one finding per line: for logs, pipes and grep (and fast)."""
        shown = [f for f in context.result.findings if context.outcome(f) != "suppressed"]
        skipped = skipped_summary(context)
        if not shown:
            return "No findings.\n" + (skipped + "\n" if skipped else "")
        rows = [
            (
                f.severity.value,
                _OUTCOME[context.outcome(f)],
                f.rule_id,
                f"{f.location.path}:{f.location.start_line}",
                f.change.value if f.change.value != "none" else "-",
                f.message,
            )
            for f in shown
        ]
        widths = [max(len(row[i]) for row in [_HEADERS, *rows]) for i in range(5)]
        lines = []
        for row in [_HEADERS, *rows]:
            lines.append(
                "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True)) + "  " + row[5]
            )
        return "\n".join(lines) + "\n" + (skipped + "\n" if skipped else "")


def skipped_summary(context: ReportContext) -> str:
    """One line counting the files that were skipped, and how to list them."""
    paths = {n.path for n in context.result.notes if "skipped" in n.message or "not rendered" in n.message}
    if not paths:
        return ""
    count = f"{len(paths)} file{'s' if len(paths) != 1 else ''}"
    return f'{count} skipped (not manifests, templated, or not rendered); list them with --format json ("notes")'


def _table_width(context: ReportContext, shown: list[Finding]) -> int:
    """Columns at their natural width, the message at 30 or more, and rich's borders and padding."""
    fixed = [
        max(len(f.severity.value) for f in shown),
        max(len(_OUTCOME[context.outcome(f)]) for f in shown),
        max(len(f.rule_id) for f in shown),
        max(len(f"{f.location.path}:{f.location.start_line}") for f in shown),
        max(len(f.change.value) for f in shown),
    ]
    return sum(max(w, len(h)) for w, h in zip(fixed, _HEADERS, strict=False)) + 30 + 3 * 6 + 1
