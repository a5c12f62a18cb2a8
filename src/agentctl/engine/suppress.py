"""Apply inline suppressions to a resource's findings.

A suppression needs a reason; an expired one no longer applies; one that the
change under review adds is reported as a finding of its own, so an agent
cannot quietly silence the rule that judges it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from agentctl.engine.catalog import engine_finding
from agentctl.model.common import Location
from agentctl.model.finding import Finding, FindingStatus
from agentctl.model.resource import ResourceChange, Suppression


def apply_suppressions(
    change: ResourceChange, findings: Iterable[Finding], today: dt.date, *, flag_new: bool = False
) -> list[Finding]:
    """Mark suppressed findings; with ``flag_new`` (diff mode) report suppressions BASE did not have."""
    resource = change.after
    results = list(findings)
    if resource is None or not resource.suppressions:
        return results
    existing = {(s.rule_id, s.valid) for s in change.before.suppressions} if change.before else set()
    out: list[Finding] = []
    for finding in results:
        match = next((s for s in resource.suppressions if s.rule_id == finding.rule_id), None)
        if match is None or not match.valid or match.expired(today):
            out.append(finding)
            continue
        out.append(finding.model_copy(update={"status": FindingStatus.SUPPRESSED, "suppression_reason": match.reason}))
        if flag_new and finding.status is not FindingStatus.BASELINE and (match.rule_id, True) not in existing:
            out.append(_added(change, match))
    for suppression in resource.suppressions:
        where = Location(path=resource.location.path, start_line=suppression.line, end_line=suppression.line)
        if not suppression.valid:
            out.append(
                engine_finding(
                    "invalid-suppression",
                    f"{resource.address}: suppression of {suppression.rule_id} has no reason and is ignored",
                    where,
                    address=resource.address,
                    resource_type=resource.type,
                    change=change.change,
                )
            )
        elif suppression.expired(today):
            out.append(
                engine_finding(
                    "expired-suppression",
                    f"{resource.address}: suppression of {suppression.rule_id} expired on {suppression.until}",
                    where,
                    address=resource.address,
                    resource_type=resource.type,
                    change=change.change,
                )
            )
    return out


def _added(change: ResourceChange, suppression: Suppression) -> Finding:
    resource = change.current
    return engine_finding(
        "suppression-added",
        f"{resource.address}: this change suppresses {suppression.rule_id} (reason: {suppression.reason})",
        Location(path=resource.location.path, start_line=suppression.line, end_line=suppression.line),
        address=resource.address,
        resource_type=resource.type,
        change=change.change,
    )
