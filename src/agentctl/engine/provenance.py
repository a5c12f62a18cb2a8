"""Point a finding at the input that caused it.

When a Terraform resource changed only through its inputs (a ``.tfvars``
entry, a variable default, a module argument, a local), the finding keeps the
resource's module-instantiated address but is located at the edited input:
the attribute the rule reacts to is found by reverting each changed attribute
in turn and asking the rule again. Pure: findings and changes in, findings out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from agentctl.model.common import Location
from agentctl.model.finding import Finding
from agentctl.model.resource import InputSite, ResourceChange


class Judge(Protocol):
    def rule_findings(self, change: ResourceChange) -> list[Finding]: ...


def relocate(findings: list[Finding], changes: Iterable[ResourceChange], judge: Judge) -> list[Finding]:
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
        site = blame(finding.rule_id, change, judge)
        out.append(
            finding.model_copy(
                update={
                    "location": Location(path=site.path, start_line=site.line, end_line=site.line),
                    "message": f"{finding.message} (through {site.name} at {site.path}:{site.line})",
                }
            )
        )
    return out


def blame(rule_id: str, change: ResourceChange, judge: Judge) -> InputSite:
    """The changed input that the rule's verdict depends on (the first changed input otherwise)."""
    assert change.before is not None and change.after is not None
    before, after = change.before.attributes, change.after.attributes
    differing = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    for site in change.changed_inputs:
        attrs = differing.intersection(site.attrs)
        if not attrs:
            continue
        reverted = dict(after)
        for attr in attrs:
            if attr in before:
                reverted[attr] = before[attr]
            else:
                reverted.pop(attr, None)
        trial = change.model_copy(update={"after": change.after.model_copy(update={"attributes": reverted})})
        if rule_id not in {f.rule_id for f in judge.rule_findings(trial)}:
            return site
    touching = [s for s in change.changed_inputs if differing.intersection(s.attrs)]
    return (touching or list(change.changed_inputs))[0]
