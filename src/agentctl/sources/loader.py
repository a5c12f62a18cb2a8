"""Turn :class:`SourceFile` values into :class:`ParsedFile` values, with a content cache.

The cache is keyed by path, kind and the SHA-256 of the bytes, so an
unchanged file is never parsed twice; entries are JSON (never pickle: a cache
directory must not be a code-execution vector).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from agentctl.model.resource import Note, Resource
from agentctl.sources import files, kubernetes, plan, terraform
from agentctl.sources.files import FileKind, FileProblem, SourceFile
from agentctl.sources.interface import ParsedFile, ParseIssue

PARSER_VERSION = "3"
"""Bump whenever normalisation changes, so stale cache entries are ignored."""

PARALLEL_MIN_BYTES = 512 * 1024
"""Below this much uncached input, worker start-up costs more than it saves."""


def parse_source(source: SourceFile) -> ParsedFile:
    """Parse one file; every failure mode becomes an issue on the result."""
    if source.problem is not None:
        return _problem(source.path, source.problem)
    if source.data is None:
        return ParsedFile(source.path)
    text = files.decode(source.data)
    if isinstance(text, FileProblem):
        return _problem(source.path, text)
    if source.kind is FileKind.TERRAFORM:
        return terraform.parse(source.path, text)
    if source.kind is FileKind.PLAN:
        return plan.parse(source.path, text)
    return kubernetes.parse(source.path, text)


def _problem(path: str, problem: FileProblem) -> ParsedFile:
    return ParsedFile(path, issues=[ParseIssue(path, problem.line, problem.message, problem.kind.value)])


def default_cache_dir() -> Path:
    explicit = os.environ.get("AGENTCTL_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "agentctl", "parse")


class ParseCache:
    """A directory of JSON parse results; any I/O trouble is a miss, never an error."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    @staticmethod
    def key(source: SourceFile) -> str:
        digest = hashlib.sha256()
        digest.update(f"{PARSER_VERSION}\0{source.kind}\0{source.path}\0".encode())
        digest.update(source.data or b"")
        return digest.hexdigest()

    def get(self, source: SourceFile) -> ParsedFile | None:
        if self.directory is None or source.data is None or source.problem is not None:
            return None
        try:
            raw = json.loads((self.directory / f"{self.key(source)}.json").read_bytes())
            return ParsedFile(
                path=source.path,
                resources=[Resource.model_validate(r) for r in raw["resources"]],
                notes=[Note.model_validate(n) for n in raw["notes"]],
                issues=[ParseIssue(**i) for i in raw["issues"]],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, source: SourceFile, parsed: ParsedFile) -> None:
        if self.directory is None or source.data is None or source.problem is not None:
            return
        payload = {
            "resources": [r.model_dump(mode="json") for r in parsed.resources],
            "notes": [n.model_dump(mode="json") for n in parsed.notes],
            "issues": [vars(i) for i in parsed.issues],
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "w") as handle:
                json.dump(payload, handle, separators=(",", ":"))
            os.replace(tmp, self.directory / f"{self.key(source)}.json")
        except (OSError, TypeError, ValueError):
            return


def parse_all(sources: Sequence[SourceFile], cache: ParseCache) -> list[ParsedFile]:
    """Parse many files, from the cache where possible and on all cores otherwise."""
    results: list[ParsedFile | None] = [cache.get(s) for s in sources]
    missing = [i for i, r in enumerate(results) if r is None]
    todo = [sources[i] for i in missing]
    workers = min(os.cpu_count() or 1, 4)
    parsed: list[ParsedFile] | None = None
    if workers > 1 and sum(len(s.data or b"") for s in todo) >= PARALLEL_MIN_BYTES:
        try:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                parsed = list(pool.map(parse_source, todo, chunksize=4))
        except (BrokenProcessPool, OSError):
            parsed = None  # no worker processes here (sandbox, limits): parse in-process
    if parsed is None:
        parsed = [parse_source(s) for s in todo]
    for index, result in zip(missing, parsed, strict=True):
        results[index] = result
        cache.put(sources[index], result)
    return [r for r in results if r is not None]
