"""What every parser returns, and the error type of this layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentctl.errors import AgentctlError
from agentctl.model.resource import Note, Resource


class SourceError(AgentctlError):
    """A source could not be read at all (bad git ref, unreadable repository)."""


@dataclass(frozen=True)
class ParseIssue:
    """Why (part of) a file could not be understood; becomes a ``parse-error`` finding."""

    path: str
    line: int
    message: str
    rule_id: str = "parse-error"


@dataclass
class ParsedFile:
    path: str
    resources: list[Resource] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)
    terraform: Any = None
    """Terraform files: the syntax tree evaluation needs (``sources.terraform``); JSON-able, cached."""
