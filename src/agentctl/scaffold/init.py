"""``agentctl init``: scaffold policies, ignore the run store, and offer CI snippets.

Idempotent: running it twice changes nothing, and a user's file is never
overwritten without ``force``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "exists"
    OVERWRITTEN = "overwritten"


@dataclass(frozen=True)
class Step:
    path: str
    outcome: Outcome
    note: str = ""


@dataclass(frozen=True)
class Snippet:
    title: str
    path: str
    """Where ``--write`` puts it, relative to the repository."""
    text: str
    hint: str


def template(name: str) -> str:
    return (resources.files("agentctl.scaffold") / "templates" / name).read_text(encoding="utf-8")


def snippets() -> list[Snippet]:
    return [
        Snippet(
            "pre-commit",
            ".pre-commit-config.yaml",
            template("pre-commit-config.yaml"),
            "then run: pre-commit install",
        ),
        Snippet(
            "GitHub Actions",
            ".github/workflows/agentctl.yml",
            template("github-workflow.yml"),
            "pull requests get annotations, a job summary and SARIF in code scanning",
        ),
        Snippet(
            "GitLab CI",
            ".gitlab/agentctl.yml",
            template("gitlab-ci.yml"),
            "add to .gitlab-ci.yml:  include: [{local: .gitlab/agentctl.yml}]",
        ),
    ]


def _write(root: Path, rel: str, text: str, force: bool) -> Step:
    target = root / rel
    if target.is_symlink() or (target.exists() and not target.is_file()):
        return Step(rel, Outcome.SKIPPED, "not a regular file; left alone")
    if target.exists():
        if target.read_text(encoding="utf-8", errors="replace") == text:
            return Step(rel, Outcome.UNCHANGED)
        if not force:
            return Step(rel, Outcome.SKIPPED, "differs from the template; --force overwrites it")
        target.write_text(text, encoding="utf-8")
        return Step(rel, Outcome.OVERWRITTEN)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return Step(rel, Outcome.CREATED)


def _ignore_store(root: Path) -> Step:
    gitignore = root / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8") if gitignore.is_file() else ""
    if any(line.strip() in (".agentctl/", ".agentctl", "/.agentctl/", "/.agentctl") for line in existing.splitlines()):
        return Step(".gitignore", Outcome.UNCHANGED)
    prefix = "" if not existing or existing.endswith("\n") else "\n"
    with open(gitignore, "a", encoding="utf-8") as handle:
        handle.write(f"{prefix}# agentctl's run store and caches\n.agentctl/\n")
    return Step(".gitignore", Outcome.UPDATED if existing else Outcome.CREATED, "ignores .agentctl/")


def scaffold(root: Path, *, write_snippets: bool, force: bool) -> list[Step]:
    policies = root / "policies"
    steps = []
    has_policies = policies.is_dir() and any(p.suffix in (".yaml", ".yml") for p in policies.iterdir())
    if has_policies and not (policies / "team.yaml").exists():
        steps.append(Step("policies/", Outcome.UNCHANGED, "already has policy files"))
    else:
        steps.append(_write(root, "policies/team.yaml", template("starter-policy.yaml"), force))
    steps.append(_ignore_store(root))
    if write_snippets:
        steps += [_write(root, s.path, s.text, force) for s in snippets()]
    return steps
