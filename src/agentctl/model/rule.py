"""Policy rules and policy sets: the ``agentctl/v1`` ``PolicySet`` format.

Validation is strict (unknown keys, bad enums, malformed ids are errors) so a
typo in a policy never silently disables a rule.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentctl.model.common import Action, ChangeKind, Severity, Target

RULE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class Match(BaseModel):
    """Cheap pre-filters applied before a rule's CEL condition runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    types: tuple[str, ...] = ()
    """Terraform types, Kubernetes kinds or tool names; empty matches all."""
    paths: tuple[str, ...] = ()
    """Glob patterns (``**`` spans directories) on the repository-relative path."""
    exclude_paths: tuple[str, ...] = ()
    changes: tuple[ChangeKind, ...] = (ChangeKind.CREATE, ChangeKind.UPDATE)
    """Which changes reach the rule; deletes only when asked for."""


Example = str | dict[str, object]
"""A tool call: shell text (a ``Bash`` call), or ``{tool: NAME, input: {...}}``."""


class Examples(BaseModel):
    """Tool calls a rule must fire on (``match``) and stay quiet on (``not_match``), checked at load."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: tuple[Example, ...] = ()
    not_match: tuple[Example, ...] = ()


class Rule(BaseModel):
    """One rule: metadata that drives messages and docs, plus its condition."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str = Field(min_length=1)
    severity: Severity
    action: Action
    target: Target
    match: Match = Match()
    condition: str = Field(min_length=1)
    message: str = Field(min_length=1)
    remediation: str = ""
    rationale: str = ""
    references: tuple[str, ...] = ()
    examples: Examples | None = None

    @field_validator("id")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError("rule id must be kebab-case (a-z, 0-9 and single dashes)")
        return value


class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""


class PolicySet(BaseModel):
    """The top-level document of a policy file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    apiVersion: Literal["agentctl/v1"]
    kind: Literal["PolicySet"]
    metadata: Metadata
    rules: tuple[Rule, ...] = Field(min_length=1)
    allow_tools: tuple[str, ...] = ()
    """Tool names (globs: ``mcp__github__*``) this policy allows although the gate does not know them."""


class LoadedRule(BaseModel):
    """A validated rule together with where it was defined."""

    model_config = ConfigDict(frozen=True)

    rule: Rule
    source: str
    """The policy file (or ``builtin:<name>``) it came from."""
    line: int
    example_lines: tuple[tuple[str, int, int], ...] = ()
    """(``match``/``not_match``, index, line) of each example."""
