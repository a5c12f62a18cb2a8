"""Terraform sources: ``.tf``, ``.tf.json`` and ``.tfvars`` files into resources.

Parsing (``hcl``, and ``module.from_json`` for Terraform's JSON syntax) is per
file and cacheable; it yields each file's syntax tree. Evaluation
(``evaluate``) needs every file of a configuration at once and turns the trees
into :class:`Resource` values at their module-instantiated addresses.
"""

from __future__ import annotations

from typing import Any

from agentctl.model.resource import InputSite, Note, Resource, Suppression
from agentctl.sources import suppressions
from agentctl.sources.interface import ParsedFile, ParseIssue
from agentctl.sources.terraform import hcl
from agentctl.sources.terraform.evaluate import TfFile, Tree
from agentctl.sources.terraform.module import from_json


def parse_only(path: str, text: str) -> ParsedFile:
    """One file's syntax tree (in ``ParsedFile.terraform``); malformed blocks become issues, the rest is kept."""
    text = text.replace("\r\n", "\n")
    if path.endswith(".json"):
        body, errors = from_json(text)
        label = "invalid Terraform JSON"
    else:
        body, errors = hcl.parse(text)
        label = "invalid HCL"
    result = ParsedFile(path)
    result.issues.extend(ParseIssue(path, line, f"{label}: {message}") for line, message in errors)
    lines = text.splitlines()
    found: list[list[Any]] = []
    for item in body:
        if item[0] == "b":
            marks = suppressions.find(lines, item[4], item[5])
            if marks:
                found.append([item[4], [m.model_dump(mode="json") for m in marks]])
    result.terraform = {"body": body, "suppressions": found}
    return result


def tf_file(parsed: ParsedFile) -> TfFile | None:
    payload = parsed.terraform
    if not isinstance(payload, dict):
        return None
    if "body" not in payload and "load" in payload:
        payload.update(payload.pop("load")())  # read from the cache only now that it is needed
    marks = {int(line): tuple(Suppression.model_validate(m) for m in items) for line, items in payload["suppressions"]}
    return TfFile(parsed.path, payload["body"], marks)


def evaluate_files(
    parsed: list[ParsedFile],
    var_files: list[str] | tuple[str, ...] = (),
    installed: dict[str, dict[str, str]] | None = None,
    focus: dict[str, set[str]] | None = None,
) -> tuple[list[Resource], list[Note]]:
    """Evaluate every Terraform configuration among ``parsed`` (see :func:`attach` to give files their resources).

    ``focus`` (module directory -> local addresses) instantiates only those blocks (see ``focus.focus``).
    """
    files = [f for f in (tf_file(p) for p in parsed) if f is not None]
    if not files:
        return [], []
    tree = Tree(files, var_files, installed=installed, focus=focus)
    return tree.run(), tree.notes


def attach(parsed: list[ParsedFile], resources: list[Resource], notes: list[Note]) -> None:
    """Give each Terraform file the resources declared in it (at their instantiated addresses)."""
    by_path = {p.path: p for p in parsed if p.terraform is not None}
    for file in by_path.values():
        file.resources = [r for r in file.resources if r.origin != "hcl"]
    for resource in resources:
        target = by_path.get(resource.location.path)
        if target is not None:
            target.resources.append(resource)
    if notes and by_path:
        next(iter(by_path.values())).notes.extend(notes)
    for file in by_path.values():
        file.resources.sort(key=lambda r: (r.location.start_line, r.address))


def parse(path: str, text: str) -> ParsedFile:
    """Parse one file and evaluate it on its own (a preview: variables from defaults only)."""
    parsed = parse_only(path, text)
    attach([parsed], *evaluate_files([parsed]))
    return parsed


class WhatIf:
    """HEAD's resources as they would be with one edited input put back as it was at BASE."""

    def __init__(self, base: list[ParsedFile], head: list[ParsedFile], var_files: tuple[str, ...] = ()) -> None:
        self._base_parsed, self._head_parsed = base, head
        self._base: list[TfFile] = []
        self._head: list[TfFile] = []
        self._var_files = var_files
        self._base_nodes: dict[tuple[str, str], Any] | None = None
        self._runs: dict[tuple[str, str], dict[str, Resource]] = {}

    def __call__(self, site: InputSite) -> dict[str, Resource]:
        if self._base_nodes is None:  # only now: most changes never need a what-if
            self._base = [f for f in (tf_file(p) for p in self._base_parsed) if f is not None]
            self._head = [f for f in (tf_file(p) for p in self._head_parsed) if f is not None]
            tree = Tree(self._base, self._var_files)
            tree.run()
            self._base_nodes = tree.site_nodes
        key = (site.name, site.path)
        if key not in self._runs:
            tree = Tree(self._head, self._var_files, overrides={key: self._base_nodes.get(key)})
            self._runs[key] = {r.key: r for r in tree.run()}
        return self._runs[key]
