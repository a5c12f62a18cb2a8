"""``agentctl check`` end to end: collect → parse → pair → evaluate.

This module decides *what* is compared (working tree, index, commits) and
where policies come from (BASE in diff mode); the evaluation itself is the
pure engine.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from agentctl.engine import pairing
from agentctl.engine.catalog import ENGINE_RULES, engine_finding
from agentctl.engine.evaluate import Evaluator, location_of
from agentctl.errors import AgentctlError
from agentctl.model.common import Location
from agentctl.model.finding import CheckResult, Finding, RuleInfo
from agentctl.model.resource import Note, ResourceChange
from agentctl.policy import loader as policy_loader
from agentctl.policy.loader import PolicyError, PolicySetFile, RuleBook
from agentctl.sources import files
from agentctl.sources.interface import ParsedFile, SourceError
from agentctl.sources.loader import ParseCache, parse_all


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
    sources = [files.read_worktree(full, rel, root) for full, rel in files.walk(paths, root)]
    parsed = parse_all(sources, ParseCache(options.cache_dir))
    changes = pairing.as_new(r for p in parsed for r in p.resources)
    findings = _issue_findings(parsed) + _judge(book, changes, options, diff_mode=False)
    return _result(findings, parsed, len(sources), len(changes), book, None)


def _diff_check(options: CheckOptions) -> CheckResult:
    from agentctl.sources.gitrepo import GitRepo, Side

    repo = GitRepo(options.cwd)
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

    scopes = [_scope(repo.root, p) for p in options.paths]
    all_changed = repo.changed_paths(base, head)
    changed = [p for p in all_changed if _in_scope(p, scopes)]
    policy_dirs = options.policy_dirs
    book = _book(options, _base_policy_files(repo, base, policy_dirs))
    policy_findings = _policy_changes(repo.root, all_changed, policy_dirs)

    candidates = [p for p in changed if files.classify(p) is not None]
    cache = ParseCache(options.cache_dir)
    base_sources = [s for s in (repo.read(base, p) for p in candidates) if s is not None]
    head_sources = [s for s in (repo.read(head, p) for p in candidates) if s is not None]
    both = parse_all(base_sources + head_sources, cache)  # one batch: both sides share the workers
    base_parsed, head_parsed = both[: len(base_sources)], both[len(base_sources) :]
    base_resources = [r for p in base_parsed for r in p.resources]
    head_resources = [r for p in head_parsed for r in p.resources]

    if options.include_all:
        # Unchanged files too, so findings BASE already had can be listed (never blocking).
        extra = _unchanged_sources(repo, head, scopes, set(candidates))
        extra_parsed = parse_all(extra, cache)
        unchanged = [r for p in extra_parsed for r in p.resources]
        base_resources += unchanged
        head_resources += unchanged
        head_parsed += extra_parsed
        head_sources += extra

    changes: list[ResourceChange] = pairing.pair(base_resources, head_resources, include_unchanged=options.include_all)
    findings = policy_findings + _issue_findings(head_parsed) + _judge(book, changes, options, diff_mode=True)
    label = f"{base.label}..{head.label}"
    return _result(findings, head_parsed, len(head_sources) + len(base_sources), len(changes), book, label)


def _judge(book: RuleBook, changes: list[ResourceChange], options: CheckOptions, *, diff_mode: bool) -> list[Finding]:
    if options.cache_dir is None:
        return Evaluator(book).judge(changes, options.today, diff_mode=diff_mode)
    from agentctl.pipeline.resultcache import FileResultCache

    cache = FileResultCache(options.cache_dir.parent / "results", book.digest)
    findings = Evaluator(book).judge(changes, options.today, diff_mode=diff_mode, cache=cache)
    cache.save()
    return findings


def _scope(root: Path, path: Path) -> str:
    absolute = Path(os.path.abspath(path))
    try:
        rel = absolute.relative_to(root).as_posix()
    except ValueError:
        raise SourceError(f"{path} is outside the git repository {root}", "pass paths inside the repository") from None
    return "" if rel == "." else rel


def _in_scope(path: str, scopes: list[str]) -> bool:
    return not scopes or any(s == "" or path == s or path.startswith(s.rstrip("/") + "/") for s in scopes)


def _unchanged_sources(repo: object, head: object, scopes: list[str], skip: set[str]) -> list[files.SourceFile]:
    from agentctl.sources.gitrepo import GitRepo, Side

    assert isinstance(repo, GitRepo) and isinstance(head, Side)
    out: list[files.SourceFile] = []
    for path in repo.list_files(head):
        if path in skip or files.classify(path) is None or not _in_scope(path, scopes):
            continue
        source = repo.read(head, path)
        if source is not None:
            out.append(source)
    return out


def _book(options: CheckOptions, policy_files: list[PolicySetFile]) -> RuleBook:
    builtin = policy_loader.builtin_files() if options.builtin else []
    return policy_loader.build([*builtin, *policy_files])


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
    return [
        engine_finding(
            "policy-file-changed",
            f"{path} is changed by this change; the check used the version from BASE",
            location_of(path),
        )
        for path in changed
        if any(path.startswith(prefix) for prefix in prefixes)
    ]


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
    ordered = sorted(
        findings,
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
