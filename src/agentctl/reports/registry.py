"""Map every :class:`Format` to its formatter (exhaustiveness is tested).

Each formatter is imported only when its format is asked for: a check that
prints a table does not load the SARIF, JUnit (``xml.etree``) or GitLab code.
"""

from __future__ import annotations

import importlib

from agentctl.reports.base import Format, Formatter

FORMATTERS: dict[Format, tuple[str, str]] = {
    Format.TABLE: ("agentctl.reports.table", "TableFormatter"),
    Format.JSON: ("agentctl.reports.json_report", "JsonFormatter"),
    Format.SARIF: ("agentctl.reports.sarif", "SarifFormatter"),
    Format.JUNIT: ("agentctl.reports.junit", "JunitFormatter"),
    Format.GITHUB: ("agentctl.reports.github", "GithubFormatter"),
    Format.GITLAB: ("agentctl.reports.gitlab", "GitlabFormatter"),
    Format.MARKDOWN: ("agentctl.reports.markdown", "MarkdownFormatter"),
}
"""Format -> (module, class) of its formatter."""


def formatter_class(fmt: Format) -> type[Formatter]:
    module, name = FORMATTERS[fmt]
    found: type[Formatter] = getattr(importlib.import_module(module), name)
    return found


def formatter(fmt: Format, *, color: bool = False, width: int | None = None) -> Formatter:
    if fmt is Format.TABLE:
        from agentctl.reports.table import TableFormatter

        return TableFormatter(color=color, width=width)
    return formatter_class(fmt)()
