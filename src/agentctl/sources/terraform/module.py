"""A Terraform module directory as Terraform sees it: its files merged, overrides applied.

Files are read in name order; ``override.tf`` and ``*_override.tf`` (and
their ``.tf.json`` forms) are applied afterwards, attribute by attribute, to
the block with the same address (a nested block type in the override replaces
all blocks of that type), as Terraform merges them.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from agentctl.sources.terraform.hcl import HclError, Node, parse_template


@dataclass
class Block:
    kind: str
    labels: list[str]
    body: Node
    path: str
    start: int
    end: int

    def attr(self, name: str) -> Node | None:
        for item in self.body:
            if item[0] == "a" and item[1] == name:
                return list(item)
        return None


@dataclass
class Module:
    """Everything one directory declares, by kind and name."""

    directory: str
    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, tuple[Node, str]] = field(default_factory=dict)
    """name -> (attribute item, path)."""
    outputs: dict[str, Block] = field(default_factory=dict)
    resources: dict[str, Block] = field(default_factory=dict)
    """``type.name`` or ``data.type.name`` -> block."""
    modules: dict[str, Block] = field(default_factory=dict)
    refactors: list[Block] = field(default_factory=list)
    """``moved`` and ``removed`` blocks: renames, and resources that leave the state without being destroyed."""


def is_override(path: str) -> bool:
    name = posixpath.basename(path)
    stem = name.removesuffix(".json").removesuffix(".tf")
    return stem == "override" or stem.endswith("_override")


def is_tfvars(path: str) -> bool:
    return path.endswith((".tfvars", ".tfvars.json"))


def build(directory: str, files: list[tuple[str, Node]]) -> Module:
    """Merge the parsed bodies of one directory's ``.tf``/``.tf.json`` files."""
    module = Module(directory)
    ordered = sorted(files, key=lambda f: (is_override(f[0]), f[0]))
    for path, body in ordered:
        override = is_override(path)
        for item in body:
            if item[0] != "b":
                continue
            _, kind, labels, inner, start, end = item
            block = Block(kind, labels, inner, path, start, end)
            if kind == "locals":
                for attr in inner:
                    if attr[0] == "a":
                        module.locals[attr[1]] = (attr, path)
                continue
            if kind in ("moved", "removed"):
                module.refactors.append(block)
                continue
            table, key = _table(module, kind, labels)
            if table is None:
                continue
            if override and key in table:
                table[key] = _merge(table[key], block)
            elif key not in table or not override:
                table.setdefault(key, block)
    return module


def _table(module: Module, kind: str, labels: list[str]) -> tuple[dict[str, Block] | None, str]:
    if kind == "resource" and len(labels) == 2:
        return module.resources, f"{labels[0]}.{labels[1]}"
    if kind == "data" and len(labels) == 2:
        return module.resources, f"data.{labels[0]}.{labels[1]}"
    if kind == "variable" and len(labels) == 1:
        return module.variables, labels[0]
    if kind == "output" and len(labels) == 1:
        return module.outputs, labels[0]
    if kind == "module" and len(labels) == 1:
        return module.modules, labels[0]
    return None, ""


def _merge(base: Block, override: Block) -> Block:
    names = {item[1] for item in override.body if item[0] == "a"}
    kinds = {item[1] for item in override.body if item[0] == "b"}
    kept = [
        item
        for item in base.body
        if not (item[0] == "a" and item[1] in names) and not (item[0] == "b" and item[1] in kinds)
    ]
    return Block(base.kind, base.labels, kept + list(override.body), base.path, base.start, base.end)


# -- Terraform's JSON syntax ------------------------------------------------

_BLOCK_KINDS = frozenset({"lifecycle", "dynamic", "provisioner", "connection", "content"})


def from_json(text: str) -> tuple[Node, list[tuple[int, str]]]:
    """A ``.tf.json`` (or ``.tfvars.json``) file as the same body shape HCL gives."""
    try:
        data = json.loads(text, object_pairs_hook=_unique)
    except _DuplicateKey as exc:
        return [], [(1, f"duplicate key {exc} (Terraform reads every copy; one object per key is required)")]
    except ValueError as exc:
        return [], [(getattr(exc, "lineno", 1), f"invalid JSON: {exc}")]
    except RecursionError:
        return [], [(1, "JSON nested too deeply to read")]
    if not isinstance(data, dict):
        return [], [(1, "a Terraform JSON file must hold an object")]
    lines = _LineFinder(text)
    body: Node = []
    for kind, content in data.items():
        if kind == "//":
            continue
        depth = {"resource": 2, "data": 2, "variable": 1, "output": 1, "module": 1, "provider": 1}.get(kind)
        if kind == "locals":
            for entry in content if isinstance(content, list) else [content]:
                if isinstance(entry, dict):
                    line = lines.find(next(iter(entry), ""))
                    body.append(["b", "locals", [], _json_body(entry, lines), line, line])
        elif depth is not None and isinstance(content, (dict, list)):
            for entry in content if isinstance(content, list) else [content]:  # Terraform takes a list of objects
                if not isinstance(entry, dict):
                    return [], [(lines.find(kind), f"{kind}: expected an object or a list of objects")]
                _labelled(body, kind, [], entry, depth, lines)
        elif kind in ("terraform",):
            continue
        else:
            body.append(["a", kind, _json_value(content), lines.find(kind)])
    return body, []


class _DuplicateKey(ValueError):
    """An object repeats a key: Python keeps the last copy, Terraform's JSON reader keeps them all."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out and key != "//":
            raise _DuplicateKey(json.dumps(key))
        out[key] = value
    return out


def _labelled(body: Node, kind: str, labels: list[str], content: Any, depth: int, lines: _LineFinder) -> None:
    for label, inner in content.items():
        if depth > 1 and isinstance(inner, (dict, list)):
            for entry in inner if isinstance(inner, list) else [inner]:
                if isinstance(entry, dict):
                    _labelled(body, kind, [*labels, label], entry, depth - 1, lines)
            continue
        for one in inner if isinstance(inner, list) else [inner]:
            if isinstance(one, dict):
                line = lines.find(label)
                body.append(["b", kind, [*labels, label], _json_body(one, lines), line, lines.end_of(line)])


def _json_body(content: dict[str, Any], lines: _LineFinder) -> Node:
    body: Node = []
    for key, value in content.items():
        if key == "//":
            continue
        line = lines.find(key)
        blocks = value if isinstance(value, list) and value and all(isinstance(v, dict) for v in value) else None
        if key in _BLOCK_KINDS and isinstance(value, dict):
            blocks = [value]
        if blocks is not None:
            for block in blocks:
                if key == "dynamic":
                    for name, dyn in block.items():
                        if isinstance(dyn, dict):
                            body.append(["b", "dynamic", [name], _json_body(dyn, lines), line, line])
                else:
                    body.append(["b", key, [], _json_body(block, lines), line, line])
        else:
            body.append(["a", key, _json_value(value), line])
    return body


def _json_value(value: Any) -> Node:
    if isinstance(value, str):
        if "${" not in value and "%{" not in value:
            return ["lit", value]
        try:
            return parse_template(value)
        except HclError:
            return ["lit", value]
    if isinstance(value, list):
        return ["tuple", [_json_value(v) for v in value]]
    if isinstance(value, dict):
        return ["object", [[["lit", k], _json_value(v)] for k, v in value.items()]]
    return ["lit", value]


class _LineFinder:
    """Approximate lines for JSON keys: the next occurrence of ``"key":`` in the text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def find(self, key: str) -> int:
        match = re.compile(r'"' + re.escape(json.dumps(key)[1:-1]) + r'"\s*:').search(self.text, self.pos)
        if match is None:
            return self.text.count("\n", 0, self.pos) + 1
        self.pos = match.end()
        return self.text.count("\n", 0, match.start()) + 1

    def end_of(self, line: int) -> int:
        return max(line, self.text.count("\n", 0, self.pos) + 1)
