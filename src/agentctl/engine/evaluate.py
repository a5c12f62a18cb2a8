"""Evaluate compiled rules against resource changes. Pure: changes in, findings out.

A rule sees ``resource`` (after; null for deletes), ``before`` (at BASE, or
null), ``change``, ``path``, ``address`` and ``type``; Kubernetes rules also
get ``pod`` (the pod spec of any workload kind) and ``containers`` (its
containers, init and ephemeral ones included); Terraform rules also get
``module`` (the address's module-instance prefix) and may call
``related(type)`` (see :mod:`agentctl.engine.related`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

from agentctl.engine import cel
from agentctl.engine.catalog import engine_finding
from agentctl.engine.related import RelatedIndex, module_of
from agentctl.engine.suppress import apply_suppressions
from agentctl.model.common import ChangeKind, Location, Target
from agentctl.model.finding import Finding, FindingStatus
from agentctl.model.resource import Resource, ResourceChange
from agentctl.policy.loader import CompiledRule, RuleBook

_POD_SPEC_PATH = {
    "Pod": ("spec",),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def pod_spec(resource: Resource | None) -> dict[str, Any]:
    if resource is None or resource.target is not Target.KUBERNETES:
        return {}
    node: Any = resource.attributes
    for part in _POD_SPEC_PATH.get(resource.type, ("spec", "template", "spec")):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for key in _CONTAINER_LISTS:
        items = pod.get(key)
        if isinstance(items, list):
            found.extend(c for c in items if isinstance(c, dict))
    return found


def variables(change: ResourceChange, wanted: frozenset[str] | None = None) -> dict[str, Any]:
    """The CEL variables for one change; only ``wanted`` ones when given (conversion is costly)."""
    current = change.current
    after = change.after.attributes if change.after is not None else None
    before = change.before.attributes if change.before is not None else None
    values: dict[str, Any] = {
        "resource": after,
        "before": before,
        "change": change.change.value,
        "path": current.location.path,
        "address": current.address,
        "type": current.type,
        "instances": None
        if change.instances is None
        else dict(zip(("before", "after"), change.instances, strict=True)),
    }
    if current.target is Target.KUBERNETES:
        pod = pod_spec(current)
        values["pod"] = pod
        values["containers"] = containers(pod)
    elif current.target is Target.TERRAFORM:
        values["module"] = module_of(current.address)
    if wanted is not None:
        values = {k: v for k, v in values.items() if k in wanted}
    return values


class ResultCache(Protocol):
    """Where earlier rule results can be kept; see ``pipeline.resultcache``."""

    def get(self, change: ResourceChange) -> list[Finding] | None: ...

    def put(self, change: ResourceChange, findings: list[Finding]) -> None: ...


class Evaluator:
    """Index rules once, then judge any number of changes."""

    def __init__(
        self, book: RuleBook, related: RelatedIndex | None = None, related_before: RelatedIndex | None = None
    ) -> None:
        """``related``: the judged side's resources (HEAD, or the scanned tree); ``related_before``: BASE's.

        Without ``related`` (the gate previewing one write) rules that call ``related()`` are not run:
        they cannot see the rest of the configuration, and an empty one would make them fire wrongly.
        """
        self._by_type: dict[tuple[Target, str], list[CompiledRule]] = defaultdict(list)
        self._any_type: dict[Target, list[CompiledRule]] = defaultdict(list)
        self._related = related or RelatedIndex()
        self._related_before = related_before or self._related
        self._reads_related: set[tuple[Target, str | None]] = set()
        """(target, type) whose rules call ``related()`` (type None: a rule for every type)."""
        for rule in book.rules:
            if rule.reads_related and related is None:
                continue
            if rule.rule.match.types:
                for rtype in rule.rule.match.types:
                    self._by_type[(rule.rule.target, rtype)].append(rule)
            else:
                self._any_type[rule.rule.target].append(rule)
            if rule.reads_related:
                for one in rule.rule.match.types or (None,):
                    self._reads_related.add((rule.rule.target, one))

    def reads_related(self, change: ResourceChange) -> bool:
        """Whether a verdict on this change depends on other resources too (so it cannot be cached by the change)."""
        current = change.current
        return bool(self._reads_related) and (
            (current.target, current.type) in self._reads_related or (current.target, None) in self._reads_related
        )

    def candidates(self, change: ResourceChange) -> list[CompiledRule]:
        current = change.current
        rules = self._by_type.get((current.target, current.type), []) + self._any_type.get(current.target, [])
        # An unchanged resource (only judged with --all) is judged as a snapshot.
        wanted = ChangeKind.CREATE if change.change is ChangeKind.NONE else change.change
        path = current.location.path
        return [
            r
            for r in rules
            if wanted in r.rule.match.changes
            and (not r.rule.match.paths or any(cel.glob_match(path, p) for p in r.rule.match.paths))
            and not any(cel.glob_match(path, p) for p in r.rule.match.exclude_paths)
        ]

    def judge(
        self,
        changes: Iterable[ResourceChange],
        today: dt.date | None = None,
        *,
        diff_mode: bool = False,
        cache: ResultCache | None = None,
    ) -> list[Finding]:
        """Findings for every change; ``diff_mode`` flags suppressions the change adds.

        ``cache`` may hold the rule results of changes judged before (they depend
        only on the change and the rules); suppressions are applied afresh, since
        they depend on today's date.
        """
        today = today or dt.date.today()
        findings: list[Finding] = []
        for change in changes:
            cacheable = cache is not None and not self.reads_related(change)
            raw = cache.get(change) if cache is not None and cacheable else None
            if raw is None:
                raw = self.rule_findings(change)
                if cache is not None and cacheable:
                    cache.put(change, raw)
            if raw or change.change is not ChangeKind.DELETE:
                findings.extend(apply_suppressions(change, raw, today, flag_new=diff_mode))
        return _one_error_per_rule(findings)

    def rule_findings(self, change: ResourceChange) -> list[Finding]:
        """Every rule's verdict on one change, before suppressions."""
        rules = self.candidates(change)
        if not rules:
            return []
        wanted = frozenset().union(*(r.variables for r in rules))
        context = self._context(change, variables(change, wanted), self._related)
        raw: list[Finding] = []
        for rule in rules:
            finding = _run(rule, change, context)
            if finding is None:
                continue
            if finding.rule_id == rule.rule.id and self._pre_existing(rule, change):
                finding = finding.model_copy(update={"status": FindingStatus.BASELINE})
            raw.append(finding)
        return raw

    def _context(self, change: ResourceChange, values: dict[str, Any], index: RelatedIndex) -> Any:
        context = cel.context(values)
        if self.reads_related(change):
            current = change.current
            context.add_function("related", lambda rtype: index.of(current.key, current.address, str(rtype)))
        return context

    def _pre_existing(self, rule: CompiledRule, change: ResourceChange) -> bool:
        """Did BASE already have this finding? Unchanged resources: yes, by definition."""
        if change.change is ChangeKind.NONE:
            return True
        if change.change is not ChangeKind.UPDATE or change.before is None:
            return False
        if ChangeKind.CREATE not in rule.rule.match.changes:
            return False  # change-aware rules (scale jumps…) judge the change itself
        snapshot = ResourceChange(change=ChangeKind.CREATE, before=None, after=change.before)
        return _run(rule, snapshot, self._context(snapshot, variables(snapshot), self._related_before)) is not None


def _run(rule: CompiledRule, change: ResourceChange, context: Any) -> Finding | None:
    current = change.current
    try:
        verdict = rule.program.execute(context)
    except Exception as exc:  # CEL raises KeyError/TypeError/ValueError/RuntimeError
        return _rule_error(rule, current, change, f"{type(exc).__name__}: {exc}")
    if verdict is False:
        return None
    if verdict is not True:
        return _rule_error(rule, current, change, f"condition returned {type(verdict).__name__}, not a bool")
    return rule_finding(
        rule, render_message(rule, context), current.location, current.address, current.type, change.change
    )


def rule_finding(
    rule: CompiledRule,
    message: str,
    location: Location,
    address: str | None,
    resource_type: str | None,
    change: ChangeKind = ChangeKind.NONE,
) -> Finding:
    """A policy rule's finding; its metadata (title, severity, action, remediation) comes from the rule."""
    return Finding(
        rule_id=rule.rule.id,
        title=rule.rule.title,
        severity=rule.rule.severity,
        action=rule.rule.action,
        message=message,
        remediation=rule.rule.remediation,
        location=location,
        address=address,
        resource_type=resource_type,
        change=change,
        source=rule.loaded.source,
    )


def render_message(rule: CompiledRule, context: Any) -> str:
    parts: list[str] = []
    for part in rule.message:
        if isinstance(part, str):
            parts.append(part)
            continue
        try:
            value = part.execute(context)
        except Exception:
            value = "?"
        parts.append(_text(value))
    return " ".join("".join(parts).split())


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _rule_error(rule: CompiledRule, resource: Resource, change: ResourceChange, detail: str) -> Finding:
    finding = engine_finding(
        "rule-error",
        f"rule {rule.rule.id} ({rule.loaded.source}) failed on {resource.address}: {detail[:300]}",
        resource.location,
        address=resource.address,
        resource_type=resource.type,
        change=change.change,
    )
    return finding


def _one_error_per_rule(findings: list[Finding]) -> list[Finding]:
    """A rule that fails at runtime fails on every resource it sees: report it once, with the count."""
    first: dict[str, int] = {}
    more: dict[str, int] = defaultdict(int)
    out: list[Finding] = []
    for finding in findings:
        if finding.rule_id == "rule-error":
            key = finding.message.split(" failed on ", 1)[0]  # "rule ID (SOURCE)"
            if key in first:
                more[key] += 1
                continue
            first[key] = len(out)
        out.append(finding)
    for key, count in more.items():
        finding = out[first[key]]
        out[first[key]] = finding.model_copy(
            update={"message": f"{finding.message} (and {count} more resource{'s' if count > 1 else ''})"}
        )
    return out


def location_of(path: str, line: int = 1) -> Location:
    return Location(path=path, start_line=line, end_line=line)
