"""A Terraform write judged in its module's context: variables, tfvars, locals and module calls resolved.

Judged file by file, ``instance_type = var.type`` is an unknown; Terraform
resolves it from a ``variable`` default in a sibling file, ``terraform.tfvars``,
``*.auto.tfvars``, a ``locals`` block elsewhere in the directory or a module
argument. So a write that changes such an input, or a resource that reads
one, is judged by evaluating the whole module directory (and the local modules
it calls, recursively) before and after the write, with the same evaluator
``agentctl check`` uses.

Parses are cached by content hash; the module is only evaluated when the write
can change what an input resolves to, so the fast path for large files
(``gate/blocks.py``) keeps its speed.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from agentctl.gate import tffocus
from agentctl.model.resource import Resource
from agentctl.sources import files, gitcli
from agentctl.sources.interface import ParsedFile
from agentctl.sources.terraform import evaluate_files, parse_only
from agentctl.sources.terraform.functions import FILE_READER

TERRAFORM_SUFFIXES = (".tf", ".tf.json", ".tofu", ".tofu.json")
TFVARS_SUFFIXES = (".tfvars", ".tfvars.json")
MAX_READ_BYTES = 1024 * 1024
"""Largest file ``file()`` is given (or scanned for ``file()`` calls) in a preview."""
MAX_MODULES = 32
MAX_EVALUATIONS = 16
"""Module evaluations kept for reuse (each a module's resources, as frozen values)."""
"""Local module directories followed from one written module (deeper trees are judged as far as this)."""

_REFERENCE = re.compile(r"\$\{[^}]*(?:\b(?:var|local|module)\.|\b(?:template)?file\()")
_INPUT_BLOCK = re.compile(r"^\s*(?:variable|locals|module)\b", re.MULTILINE)
_SOURCE = re.compile(r"""^[ \t]*source[ \t]*=[ \t]*"(\.\.?/[^"]*)"[ \t]*$""", re.MULTILINE)
"""A local module source (blanks, not ``\\s``: a ``\\s*`` that may cross lines made this quadratic on big files)."""
_JSON_SOURCE = re.compile(r'"source"\s*:\s*"(\.\.?/[^"]*)"')


def is_tfvars(path: str) -> bool:
    return path.endswith(TFVARS_SUFFIXES)


def auto_loaded(path: str) -> bool:
    """A variable file Terraform reads without being told to."""
    name = posixpath.basename(path)
    return name in ("terraform.tfvars", "terraform.tfvars.json") or name.endswith((".auto.tfvars", ".auto.tfvars.json"))


def module_file(path: str) -> bool:
    return path.endswith(TERRAFORM_SUFFIXES) or (is_tfvars(path) and auto_loaded(path))


def reads_inputs(resources: list[Resource]) -> bool:
    """Whether any resource has an attribute left unknown because it reads a variable, local or module."""
    return any(_unresolved(r.attributes) for r in resources)


def _unresolved(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value and bool(_REFERENCE.search(value))
    if isinstance(value, dict):
        return any(_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return any(_unresolved(v) for v in value)
    return False


def changes_inputs(before: str | None, after: str | None) -> bool:
    """Whether a Terraform file's ``variable``/``locals``/``module`` blocks may differ (cheap, conservative)."""
    old = _input_text(before)
    new = _input_text(after)
    return old != new


def _input_text(text: str | None) -> list[str]:
    """The text of the file from each input block's opening line to the next top-level block."""
    if not text:
        return []
    text = text.replace("\r\n", "\n")
    if text.lstrip().startswith("{"):  # JSON syntax: compare the input sections wholesale
        return [text] if re.search(r'"(?:variable|locals|module)"\s*:', text) else []
    out: list[str] = []
    lines = text.split("\n")
    current: list[str] | None = None
    for line in lines:
        top = line[:1] not in ("", " ", "\t", "}", "#", "/")
        if top:
            if current is not None:
                out.append("\n".join(current))
            current = [line] if _INPUT_BLOCK.match(line) else None
        elif current is not None:
            current.append(line)
    if current is not None:
        out.append("\n".join(current))
    return out


class ModuleEvaluator:
    """Evaluates module directories as Terraform would, with the written files' content swapped in."""

    def __init__(self, root: Path, max_entries: int = 512) -> None:
        self.root = root
        self.max_entries = max_entries
        self._parsed: OrderedDict[str, ParsedFile] = OrderedDict()
        self._clean_texts: OrderedDict[str, None] = OrderedDict()
        self._evaluated: OrderedDict[str, tuple[tuple[Resource, ...], dict[str, str | None]]] = OrderedDict()
        """Evaluations by the content of every file they read: a write's "before" is often an earlier "after"."""
        """Content keys of Terraform files known to parse without an issue."""
        self._lock = threading.Lock()

    def parse(self, path: str, text: str) -> ParsedFile:
        key = _key(path, text)
        with self._lock:
            hit = self._parsed.get(key)
            if hit is not None:
                self._parsed.move_to_end(key)
                return hit
        parsed = parse_only(path, text)
        with self._lock:
            self._parsed[key] = parsed
            while len(self._parsed) > self.max_entries:
                self._parsed.popitem(last=False)
        return parsed

    def focused(
        self, directory: str, writes: dict[str, tuple[str | None, str | None]]
    ) -> tuple[list[Resource], list[Resource]] | None:
        """Before and after resources of the blocks the writes (path → (before, after)) change, in context.

        ``None`` when the writes must be judged by evaluating the whole module (see ``gate/tffocus.py``).
        When an answer is given, the written files as they would be parse cleanly.
        """
        reduced: dict[str, tffocus.Reduced] = {}
        for path, (before, after) in writes.items():
            found = tffocus.reduce(path, before, after)
            if found is None or before is None or not self._clean(path, before):
                return None
            reduced[path] = found
        for path, found in reduced.items():
            for text, openers in ((found.before, found.openers[0]), (found.after, found.openers[1])):
                parsed = self.parse(path, text)
                body = parsed.terraform.get("body") if isinstance(parsed.terraform, dict) else None
                if parsed.issues or not isinstance(body, list) or not tffocus.matches(body, openers):
                    return None
        for path, (_, after) in writes.items():
            self._mark_clean(path, after or "")
        focus = {directory: set().union(*(r.addresses for r in reduced.values()))}
        old_side, _ = self.resources(directory, {p: r.before for p, r in reduced.items()}, focus)
        new_side, _ = self.resources(directory, {p: r.after for p, r in reduced.items()}, focus)
        return old_side, new_side

    def _clean(self, path: str, text: str) -> bool:
        """Whether the file parses without an issue (known from an earlier write, or parsed whole once)."""
        key = _key(path, text)
        with self._lock:
            if key in self._clean_texts:
                return True
        if self.parse(path, text).issues:
            return False
        self._mark_clean(path, text)
        return True

    def _mark_clean(self, path: str, text: str) -> None:
        with self._lock:
            self._clean_texts[_key(path, text)] = None
            while len(self._clean_texts) > 4 * self.max_entries:
                self._clean_texts.popitem(last=False)

    def resources(
        self, directory: str, written: dict[str, str | None], focus: dict[str, set[str]] | None = None
    ) -> tuple[list[Resource], list[str]]:
        """The module's resources (``written``: repository path → content, ``None`` deleted) and parse problems.

        ``focus`` (module directory → local addresses): instantiate only those blocks.
        """
        texts: dict[str, str] = {}
        queue: list[str] = [directory, *self._callers(directory)]
        seen: set[str] = set()
        while queue and len(seen) < MAX_MODULES:
            folder = queue.pop()
            if folder in seen:
                continue
            seen.add(folder)
            texts.update(self._folder(folder, written))
            for path, text in list(texts.items()):
                if posixpath.dirname(path) == folder:
                    queue += [t for t in (_join(folder, s) for s in _local_sources(path, text)) if t is not None]
        parsed = [self.parse(p, t) for p, t in sorted(texts.items())]
        problems = [f"{i.path}:{i.line}: {i.message}" for p in parsed for i in p.issues]
        # a variable file the agent writes that Terraform does not load by itself is judged as if passed with -var-file
        var_files = [p for p in written if is_tfvars(p) and not auto_loaded(p) and p in texts]
        key = _key(directory, json.dumps([sorted(_key(p, t) for p, t in texts.items()), var_files, _sorted(focus)]))
        with self._lock:
            hit = self._evaluated.get(key)
        if hit is not None and all(self._read(path, written) == text for path, text in hit[1].items()):
            return list(hit[0]), problems  # the same texts (and files read) evaluate the same: reused across calls
        reads: dict[str, str | None] = {}

        def read(path: str) -> str | None:  # file() sees the writes too; what it read keys the reuse
            reads[path] = self._read(path, written)
            return reads[path]

        token = FILE_READER.set(read)
        try:
            resources, _ = evaluate_files([_fresh(p) for p in parsed], var_files, focus=focus)
        finally:
            FILE_READER.reset(token)
        with self._lock:
            self._evaluated[key] = (tuple(resources), reads)
            while len(self._evaluated) > MAX_EVALUATIONS:
                self._evaluated.popitem(last=False)
        return resources, problems

    def _read(self, path: str, written: dict[str, str | None]) -> str | None:
        if path in written:
            return written[path]
        target = self.root / path
        try:
            if not _inside(target, self.root) or not target.is_file() or target.stat().st_size > MAX_READ_BYTES:
                return None
            return target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def file_readers(self, path: str) -> list[str]:
        """Module directories (the written file's own and its parents') whose Terraform ``file()`` reads ``path``."""
        name = posixpath.basename(path)
        folder = posixpath.dirname(path)
        out: list[str] = []
        while True:
            base = self.root / folder if folder else self.root
            try:
                entries = [e for e in base.iterdir() if e.name.endswith(TERRAFORM_SUFFIXES) and e.is_file()]
            except OSError:
                entries = []
            for entry in entries:
                try:
                    if entry.stat().st_size > MAX_READ_BYTES:
                        continue
                    text = entry.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                if "file(" in text and name in text:
                    out.append(folder)
                    break
            if not folder:
                return out
            folder = posixpath.dirname(folder)

    def _callers(self, directory: str) -> list[str]:
        """The directories that call ``directory`` as a local module, directly or through others.

        A module's variables come from its callers' arguments: evaluated from its callers, the module's
        resources get the values Terraform gives them (evaluated alone, they would be unknowns).
        """
        calls: dict[str, set[str]] = {}
        for path in _terraform_listing(self.root):
            folder = posixpath.dirname(path)
            try:
                target = self.root / path
                if target.stat().st_size > files.MAX_FILE_BYTES or (
                    target.is_symlink() and not _inside(target, self.root)
                ):
                    continue
                text = target.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if "source" in text:
                for source in _local_sources(path, text):
                    child = _join(folder, source)
                    if child is not None and child != folder:
                        calls.setdefault(child, set()).add(folder)
        found: list[str] = []
        pending = [directory]
        while pending and len(found) < MAX_MODULES:
            for caller in sorted(calls.get(pending.pop(), ())):
                if caller not in found and caller != directory:
                    found.append(caller)
                    pending.append(caller)
        return found

    def _folder(self, folder: str, written: dict[str, str | None]) -> dict[str, str]:
        out: dict[str, str] = {}
        base = self.root / folder if folder else self.root
        try:
            entries = sorted(base.iterdir())
        except OSError:
            entries = []
        for entry in entries:
            rel = f"{folder}/{entry.name}" if folder else entry.name
            if rel in written or not _wanted(entry.name):
                continue
            if entry.is_symlink() and not _inside(entry, self.root):
                continue  # a symlink out of the repository is never followed
            try:
                if entry.is_file() and entry.stat().st_size <= files.MAX_FILE_BYTES:
                    out[rel] = entry.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
        for path, text in written.items():
            if text is not None and posixpath.dirname(path) == folder and (_wanted(path) or is_tfvars(path)):
                out[path] = text
        return out


def _sorted(focus: dict[str, set[str]] | None) -> list[tuple[str, list[str]]] | None:
    return None if focus is None else sorted((d, sorted(a)) for d, a in focus.items())


def _key(path: str, text: str) -> str:
    return hashlib.sha256(f"{path}\0".encode() + text.encode("utf-8", "surrogatepass")).hexdigest()


def _wanted(name: str) -> bool:
    """Terraform files and the variable files Terraform loads by itself (only a root's are used)."""
    return name.endswith(TERRAFORM_SUFFIXES) or (is_tfvars(name) and auto_loaded(name))


_LISTED = ("*.tf", "*.tf.json", "*.tofu", "*.tofu.json")


def _terraform_listing(root: Path) -> list[str]:
    """The repository's Terraform files, tracked or not (ignored ones left out), by repository path."""
    listed = gitcli.names(root, ["ls-files", "-z", "-c", "-o", "--exclude-standard", "--", *_LISTED])
    paths = sorted(set(listed or []))
    return [p for p in paths if not any(part in files.SKIP_DIRS for part in p.split("/")[:-1])]


def _inside(entry: Path, root: Path) -> bool:
    try:
        return entry.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def _local_sources(path: str, text: str) -> list[str]:
    if is_tfvars(path) or "source" not in text:
        return []
    pattern = _JSON_SOURCE if path.endswith(".json") else _SOURCE
    return pattern.findall(text)


def _join(folder: str, source: str) -> str | None:
    target = posixpath.normpath(posixpath.join(folder, source.split("?", 1)[0].split("//", 1)[0]))
    if target.startswith(".."):
        return None
    return "" if target == "." else target


def _fresh(parsed: ParsedFile) -> ParsedFile:
    """A copy evaluation may fill without touching the cached parse."""
    terraform = dict(parsed.terraform) if isinstance(parsed.terraform, dict) else parsed.terraform
    return ParsedFile(parsed.path, list(parsed.resources), list(parsed.notes), list(parsed.issues), terraform)
