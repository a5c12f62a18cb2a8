"""Turn :class:`SourceFile` values into :class:`ParsedFile` values, with a content cache.

The cache is keyed by path, kind and the SHA-256 of the bytes, so an
unchanged file is never parsed twice; entries are JSON (never pickle: a cache
directory must not be a code-execution vector).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentctl.model.resource import Note, Resource
from agentctl.sources import files, kubernetes, plan, terraform
from agentctl.sources.files import FileKind, FileProblem, SourceFile
from agentctl.sources.interface import ParsedFile, ParseIssue

PARSER_VERSION = "7"
"""Bump whenever normalisation changes, so stale cache entries are ignored."""


def parse_source(source: SourceFile) -> ParsedFile:
    """Parse one file; every failure mode becomes an issue on the result."""
    if source.problem is not None:
        return _problem(source.path, source.problem)
    if source.data is None:
        return ParsedFile(source.path)
    text = _terraform_text(source) if source.kind is FileKind.TERRAFORM else files.decode(source.data)
    if text is None:
        text = files.decode(source.data)
    if isinstance(text, FileProblem):
        return _problem(source.path, text)
    if source.kind is FileKind.TERRAFORM:
        return terraform.parse(source.path, text)  # evaluated on its own: a preview of one file
    if source.kind is FileKind.PLAN:
        if not plan.looks_like_plan(text) and kubernetes.looks_like_manifest_json(text):
            return kubernetes.parse(source.path, text)
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
        key = self.key(source)
        try:
            raw = json.loads((self.directory / f"{key}.json").read_bytes())
            terraform = raw.get("terraform")
            if terraform is not None:  # the syntax tree is read only if evaluation needs it
                terraform = {"digest": key, "load": functools.partial(self._tree, key, source)}
            return ParsedFile(
                path=source.path,
                resources=[Resource.model_validate(r) for r in raw["resources"]],
                notes=[Note.model_validate(n) for n in raw["notes"]],
                issues=[ParseIssue(**i) for i in raw["issues"]],
                terraform=terraform,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _tree(self, key: str, source: SourceFile) -> dict[str, Any]:
        assert self.directory is not None
        try:
            tree = json.loads((self.directory / f"{key}.tree.json").read_bytes())
            if isinstance(tree, dict) and "body" in tree and "suppressions" in tree:
                return tree
        except (OSError, ValueError):
            pass
        text = _terraform_text(source) or ""
        return terraform.parse_only(source.path, text).terraform  # type: ignore[no-any-return]

    def put(self, source: SourceFile, parsed: ParsedFile) -> None:
        if self.directory is None or source.data is None or source.problem is not None:
            return
        key = self.key(source)
        payload = {
            "resources": [r.model_dump(mode="json") for r in parsed.resources],
            "notes": [n.model_dump(mode="json") for n in parsed.notes],
            "issues": [vars(i) for i in parsed.issues],
            "terraform": None if parsed.terraform is None else {"digest": key},
        }
        if parsed.terraform is not None:
            tree = {k: parsed.terraform[k] for k in ("body", "suppressions")}
            self._write(f"{key}.tree.json", tree)
        self._write(f"{key}.json", payload)

    def _write(self, name: str, payload: Any) -> None:
        assert self.directory is not None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "w") as handle:
                handle.write(json.dumps(payload, separators=(",", ":")))  # dumps: the C encoder, dump is not
            os.replace(tmp, self.directory / name)
        except (OSError, TypeError, ValueError):
            return

    def evaluation_key(self, parsed: list[ParsedFile], var_files: Sequence[str]) -> str | None:
        """One configuration's evaluation depends only on its files' contents and the var files."""
        digests = sorted((p.path, p.terraform.get("digest")) for p in parsed if p.terraform is not None)
        if self.directory is None or not digests or any(d is None for _, d in digests):
            return None
        text = json.dumps([PARSER_VERSION, list(var_files), digests])
        return hashlib.sha256(text.encode()).hexdigest()

    def get_evaluation(self, key: str) -> tuple[list[dict[str, Any]], list[Note]] | None:
        """Evaluated resources as stored (JSON), and the notes."""
        assert self.directory is not None
        try:
            raw = json.loads((self.directory / f"eval-{key}.json").read_bytes())
            resources = raw["resources"]
            if not isinstance(resources, list) or not all(isinstance(r, dict) and "key" in r for r in resources):
                return None
            return resources, [Note.model_validate(n) for n in raw["notes"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put_evaluation(self, key: str, resources: list[dict[str, Any]], notes: list[Note]) -> None:
        payload = {"resources": resources, "notes": [n.model_dump(mode="json") for n in notes]}
        self._write(f"eval-{key}.json", payload)


def parse_all(sources: Sequence[SourceFile], cache: ParseCache) -> list[ParsedFile]:
    """Parse many files, from the cache where possible; identical Terraform texts are parsed once.

    Terraform files come back as syntax trees without resources: call
    :func:`evaluate_terraform` on one side's files to instantiate them.
    """
    results: list[ParsedFile | None] = [cache.get(s) for s in sources]
    trees: dict[tuple[bool, str], ParsedFile] = {}
    done: dict[str, ParsedFile] = {}
    """By cache key: the same file on both sides of a diff is parsed, and stored, once."""
    for index, source in enumerate(sources):
        if results[index] is not None:
            continue
        key = ParseCache.key(source) if source.data is not None and source.problem is None else None
        if key is not None and key in done:
            results[index] = _copy(done[key])  # sides get their own objects: evaluation fills them in
            continue
        text = _terraform_text(source)
        if text is None:
            results[index] = parse_source(source)
        else:
            shape = (source.path.endswith(".json"), text)
            if shape not in trees:
                trees[shape] = terraform.parse_only(source.path, text)
            results[index] = _relabel(trees[shape], source.path, ParseCache.key(source))
        cache.put(source, results[index])  # type: ignore[arg-type]
        if key is not None:
            done[key] = results[index]  # type: ignore[assignment]
    return [r for r in results if r is not None]


def _copy(parsed: ParsedFile) -> ParsedFile:
    terraform_tree = dict(parsed.terraform) if isinstance(parsed.terraform, dict) else parsed.terraform
    return ParsedFile(parsed.path, list(parsed.resources), list(parsed.notes), list(parsed.issues), terraform_tree)


def _terraform_text(source: SourceFile) -> str | None:
    """Terraform reads NUL bytes and invalid UTF-8 inside comments; so do we (elsewhere they fail to parse)."""
    if source.kind is not FileKind.TERRAFORM or source.problem is not None or source.data is None:
        return None
    text = files.decode(source.data)
    if isinstance(text, str):
        return text
    lossy = source.data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    return lossy if _odd_only_in_comments(lossy) else None


def _odd_only_in_comments(text: str) -> bool:
    """Whether every NUL and undecodable byte sits in a comment (anywhere else: a binary or mis-encoded file)."""
    in_block = False
    for line in text.split("\n"):
        index, in_string = 0, False
        while index < len(line):
            if in_block:
                if line.startswith("*/", index):
                    in_block = False
                    index += 1
            elif line[index] in "\x00\ufffd":
                return False
            elif in_string:
                if line[index] == "\\":
                    index += 1
                elif line[index] == '"':
                    in_string = False
            elif line[index] == '"':
                in_string = True
            elif line[index] == "#" or line.startswith("//", index):
                break
            elif line.startswith("/*", index):
                in_block = True
                index += 1
            index += 1
    return True


def _relabel(parsed: ParsedFile, path: str, digest: str) -> ParsedFile:
    issues = [ParseIssue(path, i.line, i.message, i.rule_id) for i in parsed.issues]
    return ParsedFile(path, [], list(parsed.notes), issues, {**parsed.terraform, "digest": digest})
