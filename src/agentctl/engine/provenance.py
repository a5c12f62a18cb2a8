"""Point a finding at the input that caused it.

When a Terraform resource changed only through its inputs (a ``.tfvars``
entry, a variable default, a module argument, a local), the finding keeps the
resource's module-instantiated address but is located at the edited input:
the attribute the rule reacts to is found by reverting each changed attribute
in turn and asking the rule again. Pure: findings and changes in, findings out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from agentctl.model.common import Location
from agentctl.model.finding import Finding
from agentctl.model.resource import InputSite, Resource, ResourceChange

WhatIf = Callable[[InputSite], dict[str, Resource]]
"""HEAD's resources (by key) with one edited input put back as it was at BASE."""

MAX_TRIALS = 8


class Judge(Protocol):
    def rule_findings(self, change: ResourceChange) -> list[Finding]: ...


def relocate(
    findings: list[Finding], changes: Iterable[ResourceChange], judge: Judge, what_if: WhatIf | None = None
) -> list[Finding]:
    through_inputs = {
        (c.current.address, c.current.location.path): c for c in changes if c.changed_inputs and c.after is not None
    }
    if not through_inputs:
        return findings
    out: list[Finding] = []
    for finding in findings:
        change = through_inputs.get((finding.address or "", finding.location.path))
        if change is None:
            out.append(finding)
            continue
        site = blame(finding.rule_id, change, judge, what_if)
        out.append(
            finding.model_copy(
                update={
                    "location": Location(path=site.path, start_line=site.line, end_line=site.line),
                    "message": f"{finding.message} (through {site.name} at {site.path}:{site.line})",
                }
            )
        )
    return out


def blame(rule_id: str, change: ResourceChange, judge: Judge, what_if: WhatIf | None = None) -> InputSite:
    """The edited input the rule's verdict depends on (the first edited input otherwise)."""
    assert change.after is not None
    sites = change.changed_inputs
    if len(sites) > 1 and what_if is not None:
        for site in sites[:MAX_TRIALS]:
            alternative = what_if(site).get(change.after.key)
            if alternative is None:
                continue
            trial = change.model_copy(update={"after": alternative})
            if rule_id not in {f.rule_id for f in judge.rule_findings(trial)}:
                return site
    return sites[0]
