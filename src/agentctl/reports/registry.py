"""Map every :class:`Format` to its formatter (exhaustiveness is tested)."""

from __future__ import annotations

from agentctl.reports.base import Format, Formatter
from agentctl.reports.github import GithubFormatter
from agentctl.reports.gitlab import GitlabFormatter
from agentctl.reports.json_report import JsonFormatter
from agentctl.reports.junit import JunitFormatter
from agentctl.reports.markdown import MarkdownFormatter
from agentctl.reports.sarif import SarifFormatter
from agentctl.reports.table import TableFormatter

FORMATTERS: dict[Format, type[Formatter]] = {
    Format.TABLE: TableFormatter,
    Format.JSON: JsonFormatter,
    Format.SARIF: SarifFormatter,
    Format.JUNIT: JunitFormatter,
    Format.GITHUB: GithubFormatter,
    Format.GITLAB: GitlabFormatter,
    Format.MARKDOWN: MarkdownFormatter,
}


def formatter(fmt: Format, *, color: bool = False, width: int | None = None) -> Formatter:
    if fmt is Format.TABLE:
        return TableFormatter(color=color, width=width)
    return FORMATTERS[fmt]()
