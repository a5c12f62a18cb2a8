"""Finding and reading the files a check looks at, safely.

Files come from the working tree or from a git object (see ``gitrepo``); both
end up as :class:`SourceFile` values. Anything hostile (a symlink out of the
repository, a huge or binary file, invalid UTF-8) becomes a
:class:`FileProblem` with a line number, never an exception.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

MAX_FILE_BYTES = 10 * 1024 * 1024
"""Files larger than this are reported, not parsed (real manifests are far smaller)."""

SKIP_DIRS = frozenset({".git", ".terraform", "node_modules", ".agentctl", ".venv", "__pycache__"})


class FileKind(StrEnum):
    TERRAFORM = "terraform"
    PLAN = "plan"
    YAML = "yaml"


class ProblemKind(StrEnum):
    SYMLINK_OUTSIDE = "symlink-outside-repo"
    TOO_LARGE = "file-too-large"
    BINARY = "binary-file"
    ENCODING = "invalid-encoding"
    UNREADABLE = "unreadable-file"


@dataclass(frozen=True)
class FileProblem:
    kind: ProblemKind
    message: str
    line: int = 1


@dataclass(frozen=True)
class SourceFile:
    """A candidate file: its repository-relative path and its bytes (or why not)."""

    path: str
    kind: FileKind
    data: bytes | None
    problem: FileProblem | None = None


def classify(path: str) -> FileKind | None:
    """Which parser a path goes to, judged by its name only."""
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith((".tf", ".tf.json", ".tfvars", ".tfvars.json")):
        return FileKind.TERRAFORM
    if name.endswith((".yaml", ".yml")):
        return FileKind.YAML
    if name.endswith(".json"):
        return FileKind.PLAN
    return None


def find_root(start: Path) -> Path:
    """The enclosing git work tree, or ``start`` itself outside git."""
    start = start.resolve()
    probe = start if start.is_dir() else start.parent
    for candidate in (probe, *probe.parents):
        if (candidate / ".git").exists():
            return candidate
    return probe


def walk(paths: Iterable[Path], root: Path) -> Iterator[tuple[Path, str]]:
    """Yield ``(absolute path, repo-relative path)`` for candidate files under ``paths``.

    Symlinked directories are not descended into; symlinked files are yielded
    so that :func:`read_worktree` can judge where they point.
    """
    seen: set[str] = set()
    for base in paths:
        absolute = Path(os.path.abspath(base))
        if absolute.is_dir() and not absolute.is_symlink():
            for dirpath, dirnames, filenames in os.walk(absolute):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
                for filename in sorted(filenames):
                    full = Path(dirpath, filename)
                    rel = _relative(full, root)
                    if classify(filename) and rel not in seen:
                        seen.add(rel)
                        yield full, rel
        elif classify(absolute.name):
            rel = _relative(absolute, root)
            if rel not in seen:
                seen.add(rel)
                yield absolute, rel


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def read_worktree(path: Path, rel: str, root: Path, max_bytes: int = MAX_FILE_BYTES) -> SourceFile:
    """Read one working-tree file, refusing to leave the repository (``root`` must be resolved).

    A file with no IaC name (one a kustomization names, ``pod.txt``) is read as YAML, as Kustomize reads it.
    """
    kind = classify(rel) or FileKind.YAML
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        return SourceFile(rel, kind, None, FileProblem(ProblemKind.UNREADABLE, f"cannot resolve: {exc}"))
    # A file the user named outside the repository (``check . /other/dir``) is read when it is
    # an ordinary file; a symlink that leads out of the repository (or anywhere from outside it) is not.
    named_outside = not Path(os.path.abspath(path)).is_relative_to(root) and not path.is_symlink()
    if not real.is_relative_to(root) and not named_outside:
        return SourceFile(
            rel,
            kind,
            None,
            FileProblem(ProblemKind.SYMLINK_OUTSIDE, f"symlink points outside the repository ({real}); not followed"),
        )
    try:
        size = real.stat().st_size
        if size > max_bytes:
            return SourceFile(rel, kind, None, _too_large(size, max_bytes))
        with open(real, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return SourceFile(rel, kind, None, FileProblem(ProblemKind.UNREADABLE, exc.strerror or str(exc)))
    if len(data) > max_bytes:
        return SourceFile(rel, kind, None, _too_large(len(data), max_bytes))
    return SourceFile(rel, kind, data)


def from_bytes(rel: str, data: bytes | None, max_bytes: int = MAX_FILE_BYTES) -> SourceFile | None:
    """Wrap bytes read from git; ``None`` data means the file is absent there."""
    kind = classify(rel) or FileKind.YAML  # a file a kustomization names, whatever its extension
    if data is not None and len(data) > max_bytes:
        return SourceFile(rel, kind, None, _too_large(len(data), max_bytes))
    return SourceFile(rel, kind, data)


def _too_large(size: int, limit: int) -> FileProblem:
    return FileProblem(
        ProblemKind.TOO_LARGE,
        f"file is {size / 1048576:.1f} MiB, over the {limit / 1048576:.0f} MiB limit; not parsed",
    )


def decode(data: bytes) -> str | FileProblem:
    """UTF-8 text, or the problem with the first offending line."""
    if b"\0" in data[:8192]:
        return FileProblem(ProblemKind.BINARY, "binary content (NUL bytes); not parsed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return FileProblem(ProblemKind.ENCODING, f"invalid UTF-8 at byte {exc.start}", line)
    return text.removeprefix("\ufeff")
