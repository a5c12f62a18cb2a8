"""Kustomize overlays a write reaches, rendered before and after it, so a patch cannot hide a change.

A JSON 6902 patch file, an inline ``patches:`` entry, a component or a
``replicas:`` field holds no manifest of its own: read alone, it is nothing.
``agentctl check`` renders the overlays a change reaches (``sources/kustomize``);
the gate does the same for the YAML/JSON files a tool call writes, and for any
other file a kustomization in the repository names (Kustomize reads ``pod.txt``
as a resource whatever its extension), from private copies of the repository's
files with the writes applied. When an overlay is
reached but cannot be rendered (no kustomize/kubectl on PATH, or the build
fails only after the write), the write is a problem: the gate cannot see what
it does, and denies.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agentctl.model.resource import Resource
from agentctl.sources import files, gitcli, kustomize
from agentctl.sources.files import SourceFile

MAX_LISTED = 200_000
_TERRAFORM = (".tf", ".tf.json", ".tofu", ".tofu.json", ".tfvars", ".tfvars.json")


def is_terraform(path: str) -> bool:
    return path.endswith(_TERRAFORM)


def repo_listing(root: Path) -> list[str] | None:
    listed = gitcli.names(root, ["ls-files", "-z", "-c", "-o", "--exclude-standard"])
    return None if listed is None else listed[:MAX_LISTED]


def reader(root: Path, written: dict[str, str | None]) -> Callable[[list[str]], dict[str, SourceFile]]:
    def read(paths: list[str]) -> dict[str, SourceFile]:
        out: dict[str, SourceFile] = {}
        for path in paths:
            kind = files.classify(path) or files.FileKind.YAML
            if path in written:
                text = written[path]
                out[path] = SourceFile(path, kind, text.encode() if text is not None else None)
                continue
            target = root / path
            try:
                if target.is_symlink() and not target.resolve().is_relative_to(root):
                    continue  # never followed out of the repository
                data = (
                    target.read_bytes() if target.is_file() and target.stat().st_size <= files.MAX_FILE_BYTES else None
                )
            except OSError:
                data = None
            out[path] = SourceFile(path, kind, data)
        return out

    return read


def judge(
    root: Path, before: dict[str, str | None], after: dict[str, str | None]
) -> tuple[list[Resource], list[Resource], list[str]]:
    """The rendered objects of every overlay the written paths reach, before and after; and the problems."""
    changed = sorted(after)
    if not changed or all(is_terraform(p) for p in changed):
        return [], [], []
    listing = repo_listing(root)
    if listing is None:
        return [], [], []
    names = set(listing)
    after_listing = sorted(
        (names | {p for p, t in after.items() if t is not None}) - {p for p, t in after.items() if t is None}
    )
    sides: list[tuple[list[Resource], list[str]]] = []
    for side_listing, written in ((sorted(names), before), (after_listing, after)):
        read = reader(root, written)
        overlays = kustomize.overlays(side_listing)
        reaching = kustomize.reaching(changed, side_listing, read) if overlays else []
        if not reaching:
            sides.append(([], []))
            continue
        wanted = kustomize.affected(overlays, reaching, read, frozenset(side_listing))
        rendered = kustomize.render_side(wanted, side_listing, read, None)
        failed = [f"{p.path}: {n.message}" for p in rendered for n in p.notes]
        failed += [f"{i.path}:{i.line}: {i.message}" for p in rendered for i in p.issues]
        sides.append(([r for p in rendered for r in p.resources], failed))
    (old, old_failed), (new, new_failed) = sides
    # a failure the overlay had before the write is not the write's doing; an overlay never rendered is unseen
    problems = [p for p in new_failed if p not in old_failed or p.endswith(kustomize.NO_RENDERER)]
    return old, new, problems
