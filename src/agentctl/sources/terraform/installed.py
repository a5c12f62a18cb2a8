"""Modules ``terraform init`` installed under ``.terraform/modules`` (registry, git sources).

``modules.json`` maps each module call path (``eks``, ``eks.node_group``) to
the directory it was installed in; those files are read like the
repository's own (never through a symlink out of the repository).
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

from agentctl.sources import files
from agentctl.sources.files import SourceFile

MANIFEST = ".terraform/modules/modules.json"
MAX_MODULES = 200


def installed_modules(repo_root: Path, roots: set[str]) -> tuple[list[SourceFile], dict[str, dict[str, str]]]:
    """The installed modules' files, and per root directory: module call path -> repository-relative directory."""
    sources: list[SourceFile] = []
    mapping: dict[str, dict[str, str]] = {}
    for root in sorted(roots):
        manifest = repo_root / root / MANIFEST
        try:
            entries = json.loads(manifest.read_text(encoding="utf-8")).get("Modules", [])
        except (OSError, ValueError, AttributeError):
            continue
        table: dict[str, str] = {}
        for entry in entries[:MAX_MODULES] if isinstance(entries, list) else []:
            key, directory = entry.get("Key"), entry.get("Dir")
            if not isinstance(key, str) or not key or not isinstance(directory, str):
                continue
            rel = posixpath.normpath(posixpath.join(root, directory))
            if rel.startswith("../") or ".terraform/modules" not in rel:
                continue  # a local module (already read) or a path leaving the repository
            table[key] = rel
            full = repo_root / rel
            if not full.is_dir() or full.is_symlink():
                continue
            for path in sorted(full.iterdir()):
                if path.name.endswith((".tf", ".tf.json")) and path.is_file():
                    sources.append(files.read_worktree(path, f"{rel}/{path.name}", repo_root))
        if table:
            mapping[root] = table
    return sources, mapping
