"""The human table (rich), the default format on a terminal."""

from __future__ import annotations

import io

from agentctl.model.common import Severity
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
        from rich.table import Table
        from rich.text import Text

        buffer = io.StringIO()
        console = Console(
            file=buffer, force_terminal=self.color, no_color=not self.color, width=self.width or 160, soft_wrap=False
        )
        shown = [f for f in context.result.findings if context.outcome(f) != "suppressed"]
        if shown:
            table = Table(show_lines=False, header_style="bold", expand=False)
            table.add_column("Severity", no_wrap=True)
            table.add_column("Gate", no_wrap=True)
            table.add_column("Rule", no_wrap=True)
            table.add_column("Location", overflow="fold")
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
        return buffer.getvalue()

    @staticmethod
    def _plain(context: ReportContext) -> str:
        """Aligned columns, one finding per line: for logs, pipes and grep (and fast)."""
        shown = [f for f in context.result.findings if context.outcome(f) != "suppressed"]
        if not shown:
            return "No findings.\n"
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
        return "\n".join(lines) + "\n"
