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

from agentctl.model.common import Location, Target
from agentctl.model.resource import InputSite, Note, Resource, Suppression
from agentctl.sources import files, kubernetes, plan, terraform
from agentctl.sources.files import FileKind, FileProblem, SourceFile
from agentctl.sources.interface import ParsedFile, ParseIssue

PARSER_VERSION = "5"
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
    for index, source in enumerate(sources):
        if results[index] is not None:
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
    return [r for r in results if r is not None]


def evaluate_terraform(
    parsed: list[ParsedFile],
    var_files: Sequence[str] = (),
    cache: ParseCache | None = None,
    installed: dict[str, dict[str, str]] | None = None,
) -> None:
    """Instantiate the Terraform resources of one side (a working tree, a commit); cached by content."""
    entries, notes = _evaluated(parsed, var_files, cache, installed)
    resources = _materialise(entries)
    if resources is None:  # a damaged cache entry: evaluate afresh
        entries, notes = _evaluated(parsed, var_files, None, installed)
        resources = _materialise(entries) or []
    terraform.attach(parsed, resources, notes)


def evaluate_sides(
    base: list[ParsedFile],
    head: list[ParsedFile],
    var_files: Sequence[str] = (),
    cache: ParseCache | None = None,
    keep_unchanged: bool = False,
) -> tuple[list[Member], list[Member]]:
    """Both sides of a diff; resources identical on both sides are left out unless ``keep_unchanged``.

    Only what differs can be a change, and an unchanged resource costs as much to rebuild as a changed one.
    Returns every evaluated resource of each side, unchanged ones included, as :data:`Member` values
    (for rules that look at a resource's neighbours).
    """
    base_entries, base_notes = _evaluated(base, var_files, cache, None)
    head_entries, head_notes = _evaluated(head, var_files, cache, None)
    members = ([_member(raw) for raw, _ in base_entries], [_member(raw) for raw, _ in head_entries])
    if not keep_unchanged:
        before = {raw["key"]: raw for raw, _ in base_entries}
        same = {raw["key"] for raw, _ in head_entries if before.get(raw["key"]) == raw}
        base_entries = [e for e in base_entries if e[0]["key"] not in same]
        head_entries = [e for e in head_entries if e[0]["key"] not in same]
    base_resources, head_resources = _materialise(base_entries), _materialise(head_entries)
    if base_resources is None or head_resources is None:  # a damaged cache entry: evaluate afresh
        return evaluate_sides(base, head, var_files, None, keep_unchanged)
    terraform.attach(base, base_resources, base_notes)
    terraform.attach(head, head_resources, head_notes)
    return members


Member = tuple[str, str, str, dict[str, Any]]
"""(key, type, address, attributes) of an evaluated resource: what ``engine.related`` indexes."""


def _member(raw: dict[str, Any]) -> Member:
    return (str(raw.get("key")), str(raw.get("type")), str(raw.get("address")), raw.get("attributes") or {})


def _materialise(entries: list[Entry]) -> list[Resource] | None:
    try:
        return [resource or _resource(raw) for raw, resource in entries]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None


Entry = tuple[dict[str, Any], Resource | None]
"""A resource as JSON (for the cache and comparisons), and as a model when it was just evaluated."""


def _evaluated(
    parsed: list[ParsedFile],
    var_files: Sequence[str],
    cache: ParseCache | None,
    installed: dict[str, dict[str, str]] | None,
) -> tuple[list[Entry], list[Note]]:
    key = cache.evaluation_key(parsed, [*var_files, json.dumps(installed or {})]) if cache is not None else None
    stored = cache.get_evaluation(key) if cache is not None and key is not None else None
    if stored is not None:
        return [(raw, None) for raw in stored[0]], stored[1]
    resources, notes = terraform.evaluate_files(parsed, tuple(var_files), installed)
    entries: list[Entry] = [(_raw(r), r) for r in resources]
    if cache is not None and key is not None:
        cache.put_evaluation(key, [raw for raw, _ in entries], notes)
    return entries, notes


def _raw(resource: Resource) -> dict[str, Any]:
    """What ``model_dump(mode="json")`` gives for an evaluated Terraform resource, at a fraction of the cost."""
    if resource.origin not in ("hcl", "forgotten") or resource.plan_before is not None:
        return resource.model_dump(mode="json")
    location = resource.location
    return {
        "target": resource.target.value,
        "type": resource.type,
        "address": resource.address,
        "key": resource.key,
        "attributes": resource.attributes,
        "location": {"path": location.path, "start_line": location.start_line, "end_line": location.end_line},
        "suppressions": [m.model_dump(mode="json") for m in resource.suppressions],
        "origin": resource.origin,
        "inputs": [[i.name, i.path, i.line, i.digest, list(i.attrs)] for i in resource.inputs],
        "moved_from": list(resource.moved_from),
        "block_digest": resource.block_digest,
        "plan_before": None,
        "plan_change": None,
    }


def _resource(raw: dict[str, Any]) -> Resource:
    """A cached evaluated resource, rebuilt without re-validation (a thousand of them cost 0.3 s validated).

    Only Terraform evaluation output is stored this way; a malformed entry raises and counts as a miss.
    """
    if raw["origin"] not in ("hcl", "forgotten") or raw.get("plan_before") is not None:
        return Resource.model_validate(raw)
    location = raw["location"]
    return Resource.model_construct(
        target=Target(raw["target"]),
        type=str(raw["type"]),
        address=str(raw["address"]),
        key=str(raw["key"]),
        attributes=dict(raw["attributes"]),
        location=Location.model_construct(
            path=str(location["path"]), start_line=int(location["start_line"]), end_line=int(location["end_line"])
        ),
        suppressions=tuple(Suppression.model_validate(m) for m in raw["suppressions"]),
        origin=str(raw["origin"]),
        inputs=tuple(InputSite(str(i[0]), str(i[1]), int(i[2]), str(i[3]), tuple(i[4])) for i in raw["inputs"]),
        moved_from=tuple(str(k) for k in raw["moved_from"]),
        block_digest=str(raw["block_digest"]),
        plan_before=None,
        plan_change=None,
    )


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
