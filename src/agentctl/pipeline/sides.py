"""What a diff reads on each side: changed files, the Terraform context they need, rendered overlays.

Part of ``agentctl check --diff`` (see :mod:`agentctl.pipeline.check`), kept
apart so each module stays small.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

from agentctl.model.resource import Resource, ResourceChange
from agentctl.sources import files
from agentctl.sources.evaluation import Member
from agentctl.sources.interface import ParsedFile, SourceError
from agentctl.sources.terraform.context import related as terraform_context


def with_plans(members: Callable[[], list[Member]], resources: list[Resource]) -> list[Member]:
    """A side's Terraform resources, and its plan files' (for ``related()``)."""
    return [*members(), *((r.key, r.type, r.address, r.attributes) for r in resources if r.origin == "plan")]


def kustomize_sides(
    repo: object, base: object, head: object, changed: list[str], cache_dir: Path | None
) -> tuple[list[ParsedFile], ...]:
    """Kustomize overlays touched by the change, rendered at BASE and at HEAD."""
    from agentctl.sources import kustomize
    from agentctl.sources.gitrepo import GitRepo, Side

    assert isinstance(repo, GitRepo) and isinstance(base, Side) and isinstance(head, Side)
    sides: list[list[ParsedFile]] = []
    if all(files.classify(p) is files.FileKind.TERRAFORM or p.endswith((".tofu", ".tofu.json")) for p in changed):
        return [], []
    for side in (base, head):
        listing = repo.list_files(side)
        read = functools.partial(repo.read_many, side)
        overlays = kustomize.overlays(listing)
        reaching = kustomize.reaching(changed, listing, read) if overlays else []  # any file a kustomization names
        wanted = kustomize.affected(overlays, reaching, read, frozenset(listing)) if reaching else []
        sides.append(kustomize.render_side(wanted, listing, read, cache_dir))
    return sides[0], sides[1]


def side_sources(
    repo: object, side: object, candidates: list[str], scopes: list[str], include_all: bool
) -> tuple[list[files.SourceFile], set[str]]:
    """The changed files on one side, plus the Terraform files needed to evaluate them."""
    from agentctl.sources.gitrepo import GitRepo, Side

    assert isinstance(repo, GitRepo) and isinstance(side, Side)
    context: set[str] = set()
    terraform_files: dict[str, files.SourceFile] = {}
    if include_all or any(files.classify(p) is files.FileKind.TERRAFORM for p in candidates):
        # Inputs reach resources declared elsewhere: read the whole configurations involved.
        listing = [p for p in repo.list_files(side) if files.classify(p) is files.FileKind.TERRAFORM]
        terraform_files = repo.read_many(side, listing)

        def text(path: str) -> str | None:
            data = terraform_files[path].data if path in terraform_files else None
            return data.decode("utf-8", errors="replace") if data is not None else None

        if include_all:
            context = {p for p in terraform_files if in_scope(p, scopes)}
        else:
            context = set(terraform_context(candidates, list(terraform_files), text))
    wanted = sorted(set(candidates) | context)
    rest = repo.read_many(side, [p for p in wanted if p not in terraform_files])
    sources = [terraform_files.get(p) or rest.get(p) for p in wanted]
    return [s for s in sources if s is not None], context


def scope(root: Path, path: Path) -> str:
    absolute = Path(os.path.abspath(path))
    try:
        rel = absolute.relative_to(root).as_posix()
    except ValueError:
        raise SourceError(f"{path} is outside the git repository {root}", "pass paths inside the repository") from None
    return "" if rel == "." else rel


def in_scope(path: str, scopes: list[str]) -> bool:
    return not scopes or any(s == "" or path == s or path.startswith(s.rstrip("/") + "/") for s in scopes)


def unchanged_sources(repo: object, head: object, scopes: list[str], skip: set[str]) -> list[files.SourceFile]:
    from agentctl.sources.gitrepo import GitRepo, Side

    assert isinstance(repo, GitRepo) and isinstance(head, Side)
    paths = [
        p for p in repo.list_files(head) if p not in skip and files.classify(p) is not None and in_scope(p, scopes)
    ]
    found = repo.read_many(head, paths)
    return [found[p] for p in paths if p in found]


def helm_values(
    repo: object, base: object, head: object, sources: tuple[list[files.SourceFile], list[files.SourceFile]]
) -> list[ResourceChange]:
    """Changed values files of Helm charts, as the synthetic pods of their security settings (``helmvalues``)."""
    from agentctl.engine import pairing
    from agentctl.sources import helmvalues
    from agentctl.sources.gitrepo import GitRepo, Side

    assert isinstance(repo, GitRepo) and isinstance(base, Side) and isinstance(head, Side)
    if not any(helmvalues.is_values(s.path, lambda _: True) for side in sources for s in side):
        return []
    sides: list[list[Resource]] = []
    for side, found in zip((base, head), sources, strict=True):
        listing = set(repo.list_files(side))
        out: list[Resource] = []
        for source in found:
            if source.data is not None and helmvalues.is_values(source.path, listing.__contains__):
                out += helmvalues.resources(source.path, source.data.decode("utf-8", errors="replace"))
        sides.append(out)
    return pairing.pair(sides[0], sides[1])
