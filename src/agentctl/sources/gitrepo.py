"""Read a git repository at a commit, in the index, or in the working tree.

Only diff mode imports gitpython; a plain ``agentctl check`` never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentctl.sources import files
from agentctl.sources.files import FileProblem, ProblemKind, SourceFile
from agentctl.sources.gitcli import EMPTY_TREE
from agentctl.sources.interface import SourceError

_SYMLINK_MODE = 0o120000


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a commit, the index, or the working tree."""

    kind: str  # "commit" | "index" | "worktree"
    commit: Any = None
    label: str = ""


class GitRepo:
    def __init__(self, path: Path) -> None:
        import git

        try:
            self.repo = git.Repo(path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise SourceError(
                f"{path} is not inside a git repository",
                "diff mode (--diff/--staged) needs a git work tree; run without it to check files as new",
            ) from None
        # No config the agent can write (a nested repository's, /etc/gitconfig inside a root sandbox) may make
        # our git run a command: core.fsmonitor off for every git we (and git's own children) run.
        self.repo.git.update_environment(
            GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="core.fsmonitor", GIT_CONFIG_VALUE_0="false"
        )
        if self.repo.working_tree_dir is None:
            raise SourceError("bare repositories have no working tree", "run agentctl in a clone")
        self.root = Path(self.repo.working_tree_dir).resolve()
        self._git_error = git.GitCommandError
        self._bad_name = (git.BadName, ValueError, git.BadObject)
        self._index: Any = None

    @property
    def index(self) -> Any:
        if self._index is None:
            self._index = self.repo.index
        return self._index

    def commit(self, ref: str) -> Side:
        try:
            commit = self.repo.commit(ref)
        except self._bad_name:
            raise SourceError(
                f"unknown git ref '{ref}'",
                "check the name, or fetch it first (git fetch origin <ref>; in CI use fetch-depth: 0)",
            ) from None
        return Side("commit", commit, ref)

    def head_or_empty(self) -> Side:
        try:
            return Side("commit", self.repo.head.commit, "HEAD")
        except ValueError:
            return Side("commit", self.repo.tree(EMPTY_TREE), "(empty tree)")

    def merge_base(self, a: Side, b: Side) -> Side:
        bases = self.repo.merge_base(a.commit, b.commit)
        if not bases:
            raise SourceError(
                f"'{a.label}' and '{b.label}' have no common ancestor",
                "use BASE..HEAD (two dots) to compare the two commits directly",
            )
        return Side("commit", bases[0], f"merge-base({a.label},{b.label})")

    def changed_paths(self, base: Side, head: Side) -> list[str]:
        """Paths (repository-relative) that differ between ``base`` and ``head``."""
        base_ref = base.commit.hexsha if hasattr(base.commit, "hexsha") else EMPTY_TREE
        try:
            if head.kind == "commit":
                out = self.repo.git.diff("--name-only", "-z", "--no-renames", base_ref, head.commit.hexsha)
            elif head.kind == "index":
                out = self.repo.git.diff(
                    "--name-only", "-z", "--no-renames", "--ignore-submodules=all", "--cached", base_ref
                )
            else:
                out = self.repo.git.diff("--name-only", "-z", "--no-renames", "--ignore-submodules=all", base_ref)
                out += "\0" + self.repo.git.ls_files("-z", "--others", "--exclude-standard")
        except self._git_error as exc:
            raise SourceError(f"git diff failed: {exc.stderr.strip()}", "check the refs you passed") from None
        return sorted({p for p in out.split("\0") if p})

    def list_files(self, side: Side) -> list[str]:
        """Every tracked (and, for the working tree, untracked but not ignored) file."""
        if side.kind == "worktree":
            out = self.repo.git.ls_files("-z", "--cached", "--others", "--exclude-standard")
        elif side.kind == "index":
            return sorted({p for (p, _stage) in self.index.entries})
        else:
            out = self.repo.git.ls_tree("-r", "--name-only", "-z", side.commit.hexsha)
        return sorted({p for p in out.split("\0") if p})

    def read(self, side: Side, path: str) -> SourceFile | None:
        """The file at ``path`` on ``side``; ``None`` when it does not exist there."""
        kind = files.classify(path)
        if kind is None:
            return None
        if side.kind == "worktree":
            full = self.root / path
            if not full.exists() and not full.is_symlink():
                return None
            return files.read_worktree(full, path, self.root)
        mode, data = self._blob(side, path)
        if data is None:
            return None
        if mode == _SYMLINK_MODE:
            return SourceFile(
                path, kind, None, FileProblem(ProblemKind.SYMLINK_OUTSIDE, "symlink in git; not followed")
            )
        return files.from_bytes(path, data)

    def read_many(self, side: Side, paths: list[str]) -> dict[str, SourceFile]:
        """Many files at once (one ``git cat-file --batch`` for a commit); absent ones are left out."""
        if side.kind != "commit" or not paths:
            return {p: s for p in paths if (s := self.read(side, p)) is not None}
        import subprocess

        tree = side.commit.hexsha if hasattr(side.commit, "hexsha") else EMPTY_TREE
        wanted = set(paths)
        listing = self.repo.git.ls_tree("-r", "-z", "--full-tree", tree)
        entries: list[tuple[str, int, str]] = []
        for record in listing.split("\0"):
            meta, _, path = record.partition("\t")
            if path in wanted and meta:
                mode, _kind, sha = meta.split()
                entries.append((path, int(mode, 8), sha))
        out: dict[str, SourceFile] = {}
        request = "".join(f"{sha}\n" for path, mode, sha in entries if mode != _SYMLINK_MODE).encode()
        proc = subprocess.run(
            ["git", "cat-file", "--batch"], cwd=self.root, input=request, capture_output=True, check=False
        )
        data, offset = proc.stdout, 0
        for path, mode, _sha in entries:
            if mode == _SYMLINK_MODE:
                problem = FileProblem(ProblemKind.SYMLINK_OUTSIDE, "symlink in git; not followed")
                out[path] = SourceFile(path, files.classify(path) or files.FileKind.YAML, None, problem)
                continue
            end = data.find(b"\n", offset)
            header = data[offset:end].split()
            if len(header) != 3 or proc.returncode != 0:
                return {p: s for p in paths if (s := self.read(side, p)) is not None}
            size = int(header[2])
            blob = data[end + 1 : end + 1 + size]
            offset = end + 1 + size + 1
            source = files.from_bytes(path, blob)
            if source is not None:
                out[path] = source
        return out

    def read_text(self, side: Side, path: str) -> str | None:
        """Raw text of any file (policy files) on ``side``."""
        if side.kind == "worktree":
            full = self.root / path
            return full.read_text(encoding="utf-8") if full.is_file() else None
        _, data = self._blob(side, path)
        return data.decode("utf-8", errors="replace") if data is not None else None

    def list_dir(self, side: Side, directory: str) -> list[str]:
        """Files directly inside ``directory`` on ``side`` (repository-relative)."""
        if side.kind == "worktree":
            full = self.root / directory
            return sorted(f"{directory}/{p.name}" for p in full.iterdir() if p.is_file()) if full.is_dir() else []
        if side.kind == "index":
            prefix = directory.rstrip("/") + "/"
            return sorted(
                p for (p, _stage) in self.index.entries if p.startswith(prefix) and "/" not in p[len(prefix) :]
            )
        try:
            tree = side.commit.tree / directory
        except KeyError:
            return []
        return sorted(item.path for item in tree.blobs)

    def _blob(self, side: Side, path: str) -> tuple[int, bytes | None]:
        if side.kind == "index":
            entry = self.index.entries.get((path, 0))
            if entry is None:
                return 0, None
            return entry.mode, self.repo.odb.stream(entry.binsha).read()
        tree = side.commit.tree if hasattr(side.commit, "tree") else side.commit
        try:
            blob = tree / path
        except KeyError:
            return 0, None
        if blob.type != "blob":
            return 0, None
        return blob.mode, blob.data_stream.read()
