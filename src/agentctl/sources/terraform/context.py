"""Which Terraform files a diff must read beyond the changed ones.

A change to a module input, a variable or a ``.tfvars`` file changes
resources declared elsewhere: evaluating it needs every file of the changed
directories, of the directories that call them (up to their roots) and of
the modules those call. Module calls are found with a cheap text scan.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable

_SOURCE = re.compile(r'^\s*"?source"?\s*[=:]\s*"(\.\.?/[^"]*)"', re.M)


def _is_terraform(path: str) -> bool:
    return path.endswith((".tf", ".tf.json", ".tfvars", ".tfvars.json"))


def related(changed: Iterable[str], listing: Iterable[str], read: Callable[[str], str | None]) -> list[str]:
    """Repository paths (from ``listing``) to evaluate together with the ``changed`` ones."""
    return _related(changed, listing, read)


def _related(changed: Iterable[str], listing: Iterable[str], read: Callable[[str], str | None]) -> list[str]:
    starts = {posixpath.dirname(p) for p in changed if _is_terraform(p)}
    if not starts:
        return []
    by_dir: dict[str, list[str]] = {}
    for path in listing:
        if _is_terraform(path):
            by_dir.setdefault(posixpath.dirname(path), []).append(path)
    calls: dict[str, set[str]] = {}
    for directory, paths in by_dir.items():
        for path in paths:
            if not path.endswith((".tf", ".tf.json")):
                continue
            text = read(path)
            if not text or "source" not in text:
                continue
            for source in _SOURCE.findall(text):
                target = posixpath.normpath(posixpath.join(directory, source))
                calls.setdefault(directory, set()).add("" if target == "." else target)
    callers: dict[str, set[str]] = {}
    for directory, targets in calls.items():
        for target in targets:
            callers.setdefault(target, set()).add(directory)
    wanted = _closure(starts, callers)
    wanted = _closure(wanted, calls)
    return sorted(p for d in wanted for p in by_dir.get(d, []))


def _closure(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(start)
    todo = list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
