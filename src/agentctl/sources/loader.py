"""Turn :class:`SourceFile` values into :class:`ParsedFile` values, with a content cache.

The cache is keyed by path, kind and the SHA-256 of the bytes, so an
unchanged file is never parsed twice; entries are JSON (never pickle: a cache
directory must not be a code-execution vector).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from agentctl.model.resource import Note, Resource
from agentctl.sources import files, kubernetes, plan, terraform
from agentctl.sources.files import FileKind, FileProblem, SourceFile
from agentctl.sources.interface import ParsedFile, ParseIssue

PARSER_VERSION = "3"
"""Bump whenever normalisation changes, so stale cache entries are ignored."""

PARALLEL_MIN_BYTES = 48 * 1024
"""Below this much uncached HCL, forking workers costs more than it saves (HCL parses at ~5 µs/byte)."""


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


class ParserPool:
    """Worker processes for HCL parsing. The grammar is loaded before forking, so
    workers inherit it; leaving the ``with`` block terminates them at once."""

    def __init__(self, enabled: bool = True) -> None:
        self.workers = min(os.cpu_count() or 1, 4)
        self._pool: Any = None
        if enabled and self.workers > 1:
            terraform.preload()
            try:
                self._pool = multiprocessing.get_context().Pool(self.workers)
            except OSError:
                self._pool = None  # no worker processes here (sandbox, limits): parse in-process

    def map(self, function: Callable[[str], terraform.ChunkResult], texts: list[str]) -> list[terraform.ChunkResult]:
        if self._pool is None or len(texts) < 2 or sum(len(t) for t in texts) < PARALLEL_MIN_BYTES:
            return [function(t) for t in texts]
        try:
            return list(self._pool.map(function, texts, chunksize=1))
        except (OSError, multiprocessing.ProcessError):
            return [function(t) for t in texts]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def parse_all(sources: Sequence[SourceFile], cache: ParseCache) -> list[ParsedFile]:
    """Parse many files, from the cache where possible and on all cores otherwise.

    Terraform files are parsed block by block: identical blocks (the unchanged
    part of a file at BASE and HEAD) are parsed once, and a large file's blocks
    spread over the workers.
    """
    results: list[ParsedFile | None] = [cache.get(s) for s in sources]
    fresh = [i for i, r in enumerate(results) if r is None]
    hcl_jobs: list[tuple[int, str, list[tuple[int, str]]]] = []
    for index, source in enumerate(sources):
        if results[index] is not None:
            continue
        if source.kind is FileKind.TERRAFORM and source.problem is None and source.data is not None:
            text = files.decode(source.data)
            if isinstance(text, str):
                hcl_jobs.append((index, text, terraform.chunks(text)))
                continue
        results[index] = parse_source(source)

    unique = sorted({chunk for _, _, parts in hcl_jobs for _, chunk in parts}, key=len, reverse=True)
    with ParserPool(enabled=len(unique) > 1 and sum(len(t) for t in unique) >= PARALLEL_MIN_BYTES) as pool:
        chunk_results = pool.map(terraform.parse_chunk, unique)
    trees = dict(zip(unique, chunk_results, strict=True))
    for index, text, parts in hcl_jobs:
        path = sources[index].path
        parsed = terraform.assemble(path, text, [(offset, trees[chunk]) for offset, chunk in parts])
        results[index] = parsed if parsed is not None else _whole(path, text)  # unsafe split: whole file
    for index in fresh:
        cache.put(sources[index], results[index])  # type: ignore[arg-type]
    return [r for r in results if r is not None]


def _whole(path: str, text: str) -> ParsedFile:
    parsed = terraform.assemble(path, text, [(0, terraform.parse_chunk(text))])
    assert parsed is not None
    return parsed
