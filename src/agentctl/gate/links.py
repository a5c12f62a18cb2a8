"""Symlinked IaC files: a write is judged under every name Terraform or kubectl reads it by.

A tool call's paths are resolved (``realpath``) before they are judged, so a
write through ``envs/dev/gpu.tf`` → ``../../notes/gpu.txt`` looked like a write
of a text file, and a write of ``notes/gpu.txt`` never looked like IaC at all,
while Terraform reads it as ``gpu.tf``. Here each write gains an *alias* write
for every IaC name that leads to it: the path the agent named (when a symlink
lies on it) and every tracked IaC-named symlink in the repository that points
at it; a file under a Helm chart's ``templates/`` is judged as the manifest template Helm renders it as,
whatever its extension. A symlink with an IaC name that leads out of the repository is never
followed: writing through it is a problem (the gate denies).
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path
from typing import Any

from agentctl.gate.toolcall import FileWrite, ToolCall, _display
from agentctl.sources import files

_PATH_KEYS = ("file_path", "notebook_path")
_TERRAFORM = (".tf", ".tf.json", ".tofu", ".tofu.json")
_cache: dict[str, tuple[tuple[int, int], dict[Path, list[str]]]] = {}
_lock = threading.Lock()


def is_iac(path: str) -> bool:
    return files.classify(path) is not None or path.endswith(_TERRAFORM)


def lexical(path: str, cwd: Path) -> Path:
    """The path as named, ``..`` folded but symlinks not followed."""
    expanded = os.path.expanduser(path)
    return Path(os.path.normpath(expanded if os.path.isabs(expanded) else cwd / expanded))


def aliases(call: ToolCall, payload: Any, root: Path, named: list[str] | None = None) -> list[str]:
    """Add alias writes to ``call.writes``; returns the problems (IaC symlinks out of the repository)."""
    if not call.writes:
        return []
    root = root.resolve()
    cwd = Path(str(payload.get("cwd") or root)) if isinstance(payload, dict) else root
    problems: list[str] = []
    extra: list[FileWrite] = []
    known = {w.path for w in call.writes}

    def add(write: FileWrite, name: str, absolute: Path) -> None:
        if name not in known:
            known.add(name)
            extra.append(FileWrite(name, absolute, write.content, write.before, write.deleted))

    given = list(named or [])
    tool_input = call.input if isinstance(call.input, dict) else {}
    given += [str(tool_input[k]) for k in _PATH_KEYS if isinstance(tool_input.get(k), str)]
    by_target = {w.absolute: w for w in call.writes}
    for raw in given:
        path = lexical(raw, cwd)
        try:
            target = Path(os.path.realpath(path))
        except (OSError, ValueError):
            continue
        write = by_target.get(target)
        if write is None or target == path:
            continue
        name = _display(path, root)
        if not (is_iac(name) or is_iac(write.path)):
            continue
        if not target.is_relative_to(root) or not path.is_relative_to(root):
            problems.append(
                f"{name} is a symlink that leads out of the repository (to {target}); the gate does not follow it "
                "for an IaC file: write the file itself"
            )
            continue
        add(write, name, path)
    links = tracked_links(root)
    for write in list(call.writes):
        for name in links.get(write.absolute, []):
            add(write, name, root / name)
        if write.absolute.is_relative_to(root) and _chart_template(write.absolute, root):
            add(write, write.path + ".yaml", write.absolute.with_name(write.absolute.name + ".yaml"))
    call.writes += extra
    return problems


def _chart_template(path: Path, root: Path) -> bool:
    """A file Helm renders into manifests whatever its extension (not ``_*`` partials, not NOTES.txt)."""
    name = path.name
    if is_iac(name) or name.startswith("_") or name == "NOTES.txt":
        return False
    for parent in path.parents:
        if parent == root or not parent.is_relative_to(root):
            return False
        if parent.name == "templates" and (parent.parent / "Chart.yaml").is_file():
            return True
    return False


def _index(root: Path) -> Path:
    """The git index file (a worktree's ``.git`` is a file naming its git directory)."""
    dot = root / ".git"
    if dot.is_file():
        try:
            text = dot.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return dot / "index"
        if text.startswith("gitdir:"):
            gitdir = Path(text[len("gitdir:") :].strip())
            return (gitdir if gitdir.is_absolute() else root / gitdir) / "index"
    return dot / "index"


def tracked_links(root: Path) -> dict[Path, list[str]]:
    """Resolved target → the tracked IaC-named symlinks pointing at it (cached while the index is unchanged)."""
    index = _index(root)
    try:
        stat = index.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        return {}
    key = str(root)
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    out: dict[Path, list[str]] = {}
    try:
        proc = subprocess.run(
            ["git", "-c", "core.fsmonitor=false", "ls-files", "-s", "-z"],
            cwd=root,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    for entry in proc.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if not entry.startswith("120000 "):
            continue
        name = entry.split("\t", 1)[-1]
        if not is_iac(name):
            continue
        target = Path(os.path.realpath(root / name))
        out.setdefault(target, []).append(name)
    with _lock:
        _cache[key] = (stamp, out)
    return out
