"""``agentctl check`` end to end: collect → parse → pair → evaluate.

This module decides *what* is compared (working tree, index, commits) and
where policies come from (BASE in diff mode); the evaluation itself is the
pure engine.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl import config as repo_config
from agentctl.config import CONFIG_NAME
from agentctl.engine import pairing, provenance
from agentctl.engine.catalog import ENGINE_RULES, engine_finding
from agentctl.engine.evaluate import Evaluator, location_of
from agentctl.engine.related import RelatedIndex
from agentctl.errors import AgentctlError
from agentctl.model.common import ChangeKind, Location, Target
from agentctl.model.finding import CheckResult, Finding, RuleInfo
from agentctl.model.resource import Note, Resource, ResourceChange
from agentctl.pipeline import sides
from agentctl.policy import loader as policy_loader
from agentctl.policy.loader import PolicyError, PolicySetFile, RuleBook
from agentctl.sources import files, helmvalues
from agentctl.sources.evaluation import evaluate_sides, evaluate_terraform
from agentctl.sources.interface import ParsedFile, SourceError
from agentctl.sources.loader import ParseCache, parse_all
from agentctl.sources.terraform import WhatIf
from agentctl.sources.terraform.installed import installed_modules

if TYPE_CHECKING:
    from agentctl.sources.gitrepo import GitRepo


@dataclass
class CheckOptions:
    paths: list[Path] = field(default_factory=list)
    diff: str | None = None
    staged: bool = False
    include_all: bool = False
    policy_dirs: list[Path] = field(default_factory=list)
    builtin: bool = True
    cache_dir: Path | None = None
    today: dt.date = field(default_factory=dt.date.today)
    cwd: Path = field(default_factory=Path.cwd)


def run_check(options: CheckOptions) -> CheckResult:
    if options.diff is not None or options.staged:
        return _diff_check(options)
    return _full_check(options)


def _full_check(options: CheckOptions) -> CheckResult:
    paths = options.paths or [options.cwd]
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise SourceError(f"path not found: {path}", "pass existing files or directories")
    root = files.find_root(paths[0] if paths[0].is_dir() else paths[0].parent)
    book = _book(options, _disk_policy_files(options.policy_dirs))
    settings = repo_config.load(root)[0].terraform
    sources = [files.read_worktree(full, rel, root) for full, rel in files.walk(paths, root)]
    tf_dirs = {os.path.dirname(s.path) for s in sources if s.kind is files.FileKind.TERRAFORM}
    extra, installed = installed_modules(root, tf_dirs)
    cache = ParseCache(options.cache_dir)
    parsed = parse_all(sources + extra, cache)
    evaluate_terraform(parsed, settings.var_files, cache, installed)
    resources = [r for p in parsed for r in p.resources]
    related = RelatedIndex((r.key, r.type, r.address, r.attributes) for r in resources if r.target is Target.TERRAFORM)
    changes = pairing.as_new(resources)
    findings = _issue_findings(parsed) + _judge(book, changes, options, diff_mode=False, related=(related, related))
    values = [s for s in sources if s.data is not None and helmvalues.is_values(s.path, lambda p: (root / p).is_file())]
    helm = pairing.as_new(
        [r for s in values for r in helmvalues.resources(s.path, (s.data or b"").decode(errors="replace"))]
    )
    findings += [f for f in _judge(book, helm, options, diff_mode=False) if f.rule_id in helmvalues.RULES]
    return _result(findings, parsed, len(sources), len(changes), book, None)


def _diff_check(options: CheckOptions) -> CheckResult:
    from agentctl.sources.gitrepo import GitRepo

    repo = GitRepo(options.cwd)
    try:
        return _diff_check_in(repo, options)
    finally:
        repo.close()


def _diff_check_in(repo: GitRepo, options: CheckOptions) -> CheckResult:
    from agentctl.sources.gitrepo import Side

    if options.staged:
        base, head = repo.head_or_empty(), Side("index", label="index")
    else:
        spec = options.diff or "HEAD"
        if "..." in spec:
            left, right = spec.split("...", 1)
            head = repo.commit(right or "HEAD")
            base = repo.merge_base(repo.commit(left or "HEAD"), head)
        elif ".." in spec:
            left, right = spec.split("..", 1)
            base, head = repo.commit(left or "HEAD"), repo.commit(right or "HEAD")
        else:
            base, head = repo.commit(spec), Side("worktree", label="working tree")

    scopes = [sides.scope(repo.root, p) for p in options.paths]
    all_changed = repo.changed_paths(base, head)
    changed = [p for p in all_changed if sides.in_scope(p, scopes)]
    policy_dirs = options.policy_dirs
    book = _book(options, _base_policy_files(repo, base, policy_dirs))
    policy_findings = _policy_changes(repo.root, all_changed, policy_dirs)

    settings = repo_config.load(repo.root)[0].terraform
    candidates = [p for p in changed if files.classify(p) is not None]
    base_sources, base_context = sides.side_sources(repo, base, candidates, scopes, options.include_all)
    head_sources, head_context = sides.side_sources(repo, head, candidates, scopes, options.include_all)
    wanted = sorted(set(candidates) | base_context | head_context)
    cache = ParseCache(options.cache_dir)
    both = parse_all(base_sources + head_sources, cache)
    base_parsed, head_parsed = both[: len(base_sources)], both[len(base_sources) :]
    members = evaluate_sides(
        base_parsed, head_parsed, settings.var_files, cache, keep_unchanged=options.include_all, changed=candidates
    )
    base_resources = [r for p in base_parsed for r in p.resources]
    head_resources = [r for p in head_parsed for r in p.resources]
    related = tuple(
        RelatedIndex(functools.partial(sides.with_plans, side, resources))
        for side, resources in zip(members, (base_resources, head_resources), strict=True)
    )
    changed_set = set(candidates)
    reported = [p for p in head_parsed if p.path in changed_set]
    kustomize_cache = options.cache_dir.parent / "kustomize" if options.cache_dir is not None else None
    base_kz, head_kz = sides.kustomize_sides(repo, base, head, changed, kustomize_cache)
    base_resources += [r for p in base_kz for r in p.resources]
    head_resources += [r for p in head_kz for r in p.resources]
    reported += head_kz

    if options.include_all:
        # Unchanged files too, so findings BASE already had can be listed (never blocking).
        extra = sides.unchanged_sources(repo, head, scopes, set(wanted))
        extra_parsed = parse_all(extra, cache)
        unchanged = [r for p in extra_parsed for r in p.resources]
        base_resources += unchanged
        head_resources += unchanged
        reported += extra_parsed + [p for p in head_parsed if p.path not in changed_set]
        head_sources += extra

    changes: list[ResourceChange] = pairing.pair(base_resources, head_resources, include_unchanged=options.include_all)
    if scopes:  # context files were read to evaluate; only what the scope covers is judged
        changes = [
            c
            for c in changes
            if sides.in_scope(c.current.location.path, scopes)
            or any(sides.in_scope(s.path, scopes) for s in c.changed_inputs)
        ]
    deletions = [c for c in changes if c.change is ChangeKind.DELETE]
    if deletions:
        changes.append(_change_set(deletions, settings.mass_change_threshold))
    what_if = WhatIf(base_parsed, head_parsed, settings.var_files)
    judged = _judge(book, changes, options, diff_mode=True, what_if=what_if, related=(related[0], related[1]))
    helm = sides.helm_values(repo, base, head, (base_sources, head_sources))
    judged += [f for f in _judge(book, helm, options, diff_mode=True) if f.rule_id in helmvalues.RULES]
    findings = policy_findings + _issue_findings(reported) + judged
    label = f"{base.label}..{head.label}"
    return _result(findings, reported, len(head_sources) + len(base_sources), len(changes), book, label)


def _judge(
    book: RuleBook,
    changes: list[ResourceChange],
    options: CheckOptions,
    *,
    diff_mode: bool,
    what_if: provenance.WhatIf | None = None,
    related: tuple[RelatedIndex, RelatedIndex] | None = None,
) -> list[Finding]:
    """``related``: every resource at BASE and at HEAD (or twice the scanned tree), for ``related()``."""
    evaluator = Evaluator(book, related[1], related[0]) if related else Evaluator(book)
    if options.cache_dir is None:
        findings = evaluator.judge(changes, options.today, diff_mode=diff_mode)
    else:
        from agentctl.pipeline.resultcache import FileResultCache

        cache = FileResultCache(options.cache_dir.parent / "results", book.digest)
        findings = evaluator.judge(changes, options.today, diff_mode=diff_mode, cache=cache)
        cache.save()
    return provenance.relocate(findings, changes, evaluator, what_if) if diff_mode else findings


def _change_set(deletions: list[ResourceChange], threshold: int) -> ResourceChange:
    """The whole change as one resource, for rules on its size (``mass-deletion``)."""
    first = deletions[0].current
    addresses = sorted(c.current.address for c in deletions)
    summary = Resource(
        target=Target.TERRAFORM,
        type="agentctl_change_set",
        address="change-set",
        key="agentctl:change-set",
        attributes={"deleted": len(addresses), "deleted_addresses": addresses[:20], "threshold": threshold},
        location=first.location,
        origin="summary",
    )
    return ResourceChange(change=ChangeKind.CREATE, before=None, after=summary)


def _book(options: CheckOptions, policy_files: list[PolicySetFile]) -> RuleBook:
    builtin = policy_loader.builtin_files() if options.builtin else []
    cache_dir = options.cache_dir.parent / "policy" if options.cache_dir is not None else None
    return policy_loader.build([*builtin, *policy_files], cache_dir=cache_dir)


class PolicyDirError(AgentctlError):
    """A --policies directory that is not there: a usage error, not a broken policy file."""

    def __init__(self, directory: Path) -> None:
        what = "is not a directory" if directory.exists() else "does not exist"
        super().__init__(
            f"policy directory {directory} {what}",
            "pass --policies a directory of *.yaml policy files (relative to where you run agentctl), or leave it out",
        )


def _disk_policy_files(directories: list[Path]) -> list[PolicySetFile]:
    out: list[PolicySetFile] = []
    for directory in directories:
        if not directory.is_dir():
            raise PolicyDirError(directory)
        for path in sorted(directory.iterdir()):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as exc:
                    raise PolicyError(str(path), 1, f"cannot read policy file: {exc}") from None
                out.append(PolicySetFile(_display(path), text))
    return out


def _base_policy_files(repo: object, base: object, directories: list[Path]) -> list[PolicySetFile]:
    """In diff mode, policies inside the repository are read as they were at BASE."""
    from agentctl.sources.gitrepo import GitRepo, Side

    assert isinstance(repo, GitRepo) and isinstance(base, Side)
    out: list[PolicySetFile] = []
    for directory in directories:
        absolute = Path(os.path.abspath(directory))
        if not absolute.is_relative_to(repo.root):
            out.extend(_disk_policy_files([directory]))
            continue
        rel = absolute.relative_to(repo.root).as_posix()
        for path in repo.list_dir(base, rel):
            if path.endswith((".yaml", ".yml")):
                text = repo.read_text(base, path)
                if text is not None:
                    out.append(PolicySetFile(f"{path}@{base.label}", text))
    return out


def _policy_changes(root: Path, changed: list[str], directories: list[Path]) -> list[Finding]:
    prefixes = []
    for directory in directories:
        absolute = Path(os.path.abspath(directory))
        if absolute.is_relative_to(root):
            prefixes.append(absolute.relative_to(root).as_posix().rstrip("/") + "/")
    policy = [
        engine_finding(
            "policy-file-changed",
            f"{path} is changed by this change; the check used the version from BASE",
            location_of(path),
        )
        for path in changed
        if any(path.startswith(prefix) for prefix in prefixes)
    ]
    config = [
        engine_finding(
            "config-file-changed",
            f"{path} is changed by this change (trust and protection settings); "
            "agentctl trust keeps using the committed version until it is reviewed and merged",
            location_of(path),
        )
        for path in changed
        if path == CONFIG_NAME
    ]
    return policy + config


def _issue_findings(parsed: list[ParsedFile]) -> list[Finding]:
    return [
        engine_finding(
            issue.rule_id,
            f"{issue.path}: {issue.message}",
            Location(path=issue.path, start_line=issue.line, end_line=issue.line),
        )
        for p in parsed
        for issue in p.issues
    ]


def _result(
    findings: list[Finding],
    parsed: list[ParsedFile],
    files_scanned: int,
    evaluated: int,
    book: RuleBook,
    diff: str | None,
) -> CheckResult:
    notes: list[Note] = [n for p in parsed for n in p.notes]
    # One module instantiated by several roots the same way gives the same finding once.
    unique = list({(f.rule_id, f.location, f.address, f.message, f.status): f for f in reversed(findings)}.values())
    ordered = sorted(
        unique,
        key=lambda f: (-f.severity.rank, f.location.path, f.location.start_line, f.rule_id),
    )
    return CheckResult(
        findings=tuple(ordered),
        notes=tuple(notes),
        files_scanned=files_scanned,
        resources_evaluated=evaluated,
        rules=_rule_infos(book),
        diff=diff,
    )


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def list_rules(options: CheckOptions) -> tuple[RuleInfo, ...]:
    """The rules a check with these options would apply (policies from disk)."""
    return _rule_infos(_book(options, _disk_policy_files(options.policy_dirs)))


def _rule_infos(book: RuleBook) -> tuple[RuleInfo, ...]:
    infos = [
        RuleInfo(
            id=r.rule.id,
            title=r.rule.title,
            severity=r.rule.severity,
            action=r.rule.action,
            remediation=r.rule.remediation,
            rationale=r.rule.rationale,
            source=r.loaded.source,
        )
        for r in book.rules
    ]
    infos += [
        RuleInfo(
            id=e.id, title=e.title, severity=e.severity, action=e.action, remediation=e.remediation, source="agentctl"
        )
        for e in ENGINE_RULES.values()
    ]
    return tuple(infos)
