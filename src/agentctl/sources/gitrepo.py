"""Read a git repository at a commit, in the index, or in the working tree.

Plain ``git`` subprocesses (no gitpython: its import alone costs more than the
whole of a small diff's git work). Every git we run has ``core.fsmonitor`` off,
in its arguments and in the environment its own children inherit, so no config
the agent can write (a nested repository's, ``/etc/gitconfig`` inside a root
sandbox) makes our git run a command; diffs of the working tree ignore
submodules and never descend into nested repositories.

A side's listing (``git ls-tree`` / ``git ls-files -s``) is read once, and
blobs are read in batches with one ``git cat-file --batch`` and kept by object
id: the two sides of a diff share most of their files.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from agentctl.sources import files
from agentctl.sources.files import FileProblem, ProblemKind, SourceFile
from agentctl.sources.gitcli import EMPTY_TREE
from agentctl.sources.interface import SourceError

_SYMLINK_MODE = 0o120000
_GITLINK_MODE = 0o160000
_GIT = ("git", "-c", "core.fsmonitor=false")
_CHUNK = 64
"""Object ids per write to ``git cat-file --batch`` (41 bytes each: 2.6 KiB)."""


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a commit, the index, or the working tree."""

    kind: str  # "commit" | "index" | "worktree"
    commit: str | None = None
    """The commit's full sha (or the empty tree's) on a commit side."""
    label: str = ""


@dataclass(frozen=True)
class _Entry:
    mode: int
    sha: str
    blob: bool


def _git_env() -> dict[str, str]:
    return {
        **os.environ,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.fsmonitor",
        "GIT_CONFIG_VALUE_0": "false",
    }


class GitRepo:
    def __init__(self, path: Path) -> None:
        self._env = _git_env()
        self.root = Path(".")
        try:
            proc = self._run(path, "rev-parse", "--is-bare-repository", "--show-toplevel", check=False)
        except OSError as exc:
            if path.is_dir():
                raise SourceError(f"cannot run git: {exc}", "diff mode (--diff/--staged) needs git on PATH") from None
            proc = None
        if proc is None or proc.returncode != 0:
            if proc is not None and proc.stdout.startswith(b"true"):
                raise SourceError("bare repositories have no working tree", "run agentctl in a clone")
            raise SourceError(
                f"{path} is not inside a git repository",
                "diff mode (--diff/--staged) needs a git work tree; run without it to check files as new",
            )
        lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        if len(lines) != 2 or lines[0] == "true" or not lines[1]:
            raise SourceError("bare repositories have no working tree", "run agentctl in a clone")
        self.root = Path(lines[1]).resolve()
        self._entries: dict[str, dict[str, _Entry]] = {}
        self._blobs: dict[str, bytes] = {}
        self._cat: subprocess.Popen[bytes] | None = None

    def _run(
        self, cwd: Path, *args: str, data: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run([*_GIT, *args], cwd=cwd, env=self._env, input=data, capture_output=True, check=False)
        if check and proc.returncode != 0:
            message = proc.stderr.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
            raise SourceError(f"git {args[0]} failed: {message}", "check the refs you passed")
        return proc

    def _git(self, *args: str, data: bytes | None = None) -> str:
        return self._run(self.root, *args, data=data).stdout.decode("utf-8", "surrogateescape")

    def _resolve(self, rev: str) -> str | None:
        if not rev or rev.startswith("-"):
            return None
        proc = self._run(self.root, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False)
        sha = proc.stdout.decode("ascii", "replace").strip()
        return sha if proc.returncode == 0 and sha else None

    def commit(self, ref: str) -> Side:
        sha = self._resolve(ref)
        if sha is None:
            raise SourceError(
                f"unknown git ref '{ref}'",
                "check the name, or fetch it first (git fetch origin <ref>; in CI use fetch-depth: 0)",
            )
        return Side("commit", sha, ref)

    def head_or_empty(self) -> Side:
        sha = self._resolve("HEAD")
        return Side("commit", sha, "HEAD") if sha else Side("commit", EMPTY_TREE, "(empty tree)")

    def merge_base(self, a: Side, b: Side) -> Side:
        proc = self._run(self.root, "merge-base", a.commit or EMPTY_TREE, b.commit or EMPTY_TREE, check=False)
        base = proc.stdout.decode("ascii", "replace").strip()
        if proc.returncode != 0 or not base:
            raise SourceError(
                f"'{a.label}' and '{b.label}' have no common ancestor",
                "use BASE..HEAD (two dots) to compare the two commits directly",
            )
        return Side("commit", base, f"merge-base({a.label},{b.label})")

    def changed_paths(self, base: Side, head: Side) -> list[str]:
        """Paths (repository-relative) that differ between ``base`` and ``head``."""
        base_ref = base.commit or EMPTY_TREE
        if head.kind == "commit":
            out = self._git("diff", "--name-only", "-z", "--no-renames", base_ref, head.commit or EMPTY_TREE)
        elif head.kind == "index":
            out = self._git(
                "diff", "--name-only", "-z", "--no-renames", "--ignore-submodules=all", "--cached", base_ref
            )
        else:
            out = self._git("diff", "--name-only", "-z", "--no-renames", "--ignore-submodules=all", base_ref)
            out += "\0" + self._git("ls-files", "-z", "--others", "--exclude-standard")
        return sorted({p for p in out.split("\0") if p})

    def _side_entries(self, side: Side) -> dict[str, _Entry]:
        """Path → entry of every file on a commit or index side (read once per side)."""
        key = (side.commit or EMPTY_TREE) if side.kind == "commit" else ":index"
        cached = self._entries.get(key)
        if cached is not None:
            return cached
        entries: dict[str, _Entry] = {}
        if side.kind == "commit":
            for record in self._git("ls-tree", "-r", "-z", "--full-tree", key).split("\0"):
                meta, _, path = record.partition("\t")
                parts = meta.split()
                if path and len(parts) == 3:
                    entries[path] = _Entry(int(parts[0], 8), parts[2], parts[1] == "blob")
        else:
            for record in self._git("ls-files", "-s", "-z").split("\0"):
                meta, _, path = record.partition("\t")
                parts = meta.split()
                if not path or len(parts) != 3:
                    continue
                mode = int(parts[0], 8)
                if parts[2] == "0":
                    entries[path] = _Entry(mode, parts[1], mode != _GITLINK_MODE)
                else:  # a conflict: listed, but there is no single content to read
                    entries.setdefault(path, _Entry(mode, parts[1], False))
        self._entries[key] = entries
        return entries

    def list_files(self, side: Side) -> list[str]:
        """Every tracked (and, for the working tree, untracked but not ignored) file."""
        if side.kind == "worktree":
            out = self._git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
            return sorted({p for p in out.split("\0") if p})
        return sorted(self._side_entries(side))

    def read(self, side: Side, path: str) -> SourceFile | None:
        """The file at ``path`` on ``side``; ``None`` when it does not exist there."""
        return self.read_many(side, [path]).get(path)

    def read_many(self, side: Side, paths: list[str]) -> dict[str, SourceFile]:
        """Many files at once (one ``git cat-file --batch`` for what is not read yet); absent ones are left out."""
        wanted = list(dict.fromkeys(paths))  # callers ask for IaC, or for what a kustomization names
        out: dict[str, SourceFile] = {}
        if side.kind == "worktree":
            for path in wanted:
                full = self.root / path
                if full.exists() or full.is_symlink():
                    source = files.read_worktree(full, path, self.root)
                    if source is not None:
                        out[path] = source
            return out
        entries = self._side_entries(side)
        found = {p: e for p in wanted if (e := entries.get(p)) is not None and e.blob}
        self._load_blobs([e.sha for e in found.values() if e.mode != _SYMLINK_MODE])
        for path, entry in found.items():
            if entry.mode == _SYMLINK_MODE:
                problem = FileProblem(ProblemKind.SYMLINK_OUTSIDE, "symlink in git; not followed")
                out[path] = SourceFile(path, files.classify(path) or files.FileKind.YAML, None, problem)
                continue
            blob = files.from_bytes(path, self._blobs.get(entry.sha))
            if blob is not None and entry.sha in self._blobs:
                out[path] = blob
        return out

    def _load_blobs(self, shas: list[str]) -> None:
        """Read blobs through one long-lived ``git cat-file --batch``, a few dozen requests at a time.

        A chunk's requests (under 4 KiB, the smallest pipe) are written whole, then every answer is
        read before the next chunk: neither side can block the other.
        """
        missing = [s for s in dict.fromkeys(shas) if s not in self._blobs]
        if not missing:
            return
        if self._cat is None:
            self._cat = subprocess.Popen(
                [*_GIT, "cat-file", "--batch"],
                cwd=self.root,
                env=self._env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        assert self._cat.stdin is not None and self._cat.stdout is not None
        stdin, stdout = self._cat.stdin, self._cat.stdout
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            try:
                stdin.write("".join(f"{sha}\n" for sha in chunk).encode())
                stdin.flush()
                for sha in chunk:
                    header = stdout.readline().split()
                    if len(header) != 3 or header[0] != sha.encode():
                        raise ValueError(sha)
                    size = int(header[2])
                    data = stdout.read(size + 1)
                    if len(data) != size + 1:
                        raise ValueError(sha)
                    self._blobs[sha] = data[:size]
            except (OSError, ValueError):
                self.close()
                raise SourceError(
                    f"git cat-file could not read the objects of {chunk[0]}...", "check the repository (git fsck)"
                ) from None

    def close(self) -> None:
        """End the ``git cat-file`` this repository started (if any)."""
        cat, self._cat = self._cat, None
        if cat is None:
            return
        for stream in (cat.stdin, cat.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            cat.wait(timeout=5)
        except subprocess.TimeoutExpired:
            cat.kill()
            cat.wait()

    def read_text(self, side: Side, path: str) -> str | None:
        """Raw text of any file (policy files) on ``side``."""
        if side.kind == "worktree":
            full = self.root / path
            return full.read_text(encoding="utf-8") if full.is_file() else None
        entry = self._side_entries(side).get(path)
        if entry is None or not entry.blob:
            return None
        self._load_blobs([entry.sha])
        return self._blobs[entry.sha].decode("utf-8", errors="replace")

    def list_dir(self, side: Side, directory: str) -> list[str]:
        """Files directly inside ``directory`` on ``side`` (repository-relative)."""
        if side.kind == "worktree":
            full = self.root / directory
            return sorted(f"{directory}/{p.name}" for p in full.iterdir() if p.is_file()) if full.is_dir() else []
        prefix = directory.rstrip("/") + "/"
        return sorted(
            p
            for p, entry in self._side_entries(side).items()
            if p.startswith(prefix) and "/" not in p[len(prefix) :] and (side.kind == "index" or entry.blob)
        )
