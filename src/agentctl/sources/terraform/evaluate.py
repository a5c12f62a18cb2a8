"""Evaluate Terraform configurations statically, the way ``terraform plan`` would see them.

Directories are grouped into modules; a directory no other directory calls is
a root. Each root is instantiated with its variables (defaults,
``terraform.tfvars``, ``*.auto.tfvars``, configured var files), its locals,
and its local module calls, recursively, with ``count``/``for_each``
expanded into instance addresses (``module.eks.aws_eks_node_group.this["gpu"]``)
and ``dynamic`` blocks expanded. What only apply time knows stays unknown and
reaches rules as the ``"${expression}"`` text (see :func:`is_unknown`).

Every resource records the inputs (variables, tfvars entries, module
arguments, locals) its attributes depend on, with file, line and a digest of
their text, so a change made only through an input can be shown where it was
made.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agentctl.model.common import Location, Target
from agentctl.model.resource import Note, Resource, Suppression
from agentctl.sources.terraform.expr import Namespace, evaluate
from agentctl.sources.terraform.functions import EvalError, Unknown
from agentctl.sources.terraform.hcl import Node
from agentctl.sources.terraform.module import build, is_tfvars
from agentctl.sources.terraform.render import render

MAX_DEPTH = 12
MAX_INSTANCES = 1000
MAX_RESOURCES = 50_000

Site = tuple[str, str, int, str]
"""(name, path, line, digest of the defining text)."""


@dataclass
class TfFile:
    """One parsed Terraform file: its body and the suppressions of each top-level block."""

    path: str
    body: Node
    suppressions: dict[int, tuple[Suppression, ...]] = field(default_factory=dict)


def digest(node: Any) -> str:
    return hashlib.sha1(json.dumps(node, separators=(",", ":")).encode(), usedforsecurity=False).hexdigest()[:16]


def export(value: Any) -> Any:
    """Unknowns become their ``"${…}"`` text, as rules have always seen unevaluated expressions."""
    if isinstance(value, Unknown):
        return "${" + value.text + "}"
    if isinstance(value, Namespace):
        return "${" + value.label + "}"
    if isinstance(value, dict):
        return {k: export(v) for k, v in value.items()}
    if isinstance(value, list):
        return [export(v) for v in value]
    return value


class Tree:
    """All modules of one scan, and what evaluating them produced."""

    def __init__(
        self,
        files: Iterable[TfFile],
        var_files: Iterable[str] = (),
        overrides: dict[tuple[str, str], Node | None] | None = None,
        installed: dict[str, dict[str, str]] | None = None,
        focus: dict[str, set[str]] | None = None,
    ) -> None:
        by_dir: dict[str, list[tuple[str, Node]]] = {}
        self.tfvars: dict[str, list[TfFile]] = {}
        self.suppressions: dict[tuple[str, int], tuple[Suppression, ...]] = {}
        for tf in files:
            directory = posixpath.dirname(tf.path)
            if is_tfvars(tf.path):
                self.tfvars.setdefault(directory, []).append(tf)
            else:
                by_dir.setdefault(directory, []).append((tf.path, tf.body))
            for line, found in tf.suppressions.items():
                self.suppressions[(tf.path, line)] = found
        self.modules = {d: build(d, fs) for d, fs in by_dir.items()}
        self.var_files = list(var_files)
        self.resources: list[Resource] = []
        self.notes: list[Note] = []
        self._collectors: list[set[Site]] = []
        self.overrides = overrides or {}
        """(site name, path) -> the definition to use instead (None: as if absent), for what-if runs."""
        self.site_nodes: dict[tuple[str, str], Node] = {}
        self._digests: dict[int, tuple[Node, str]] = {}
        self.moves: list[tuple[str, str]] = []
        """(old key, new key) from ``moved`` blocks; a key may be a prefix (a whole module)."""
        self.forgotten: list[tuple[str, str, int]] = []
        """Keys (or prefixes) that ``removed { lifecycle { destroy = false } }`` takes out of the state."""
        self.installed = installed or {}
        """Per root directory: module call path (``eks.node_group``) -> directory ``terraform init`` put it in."""
        self.focus = focus
        """Module directory -> the resource/data blocks to instantiate (None: all, and opaque module calls)."""

    def roots(self) -> list[str]:
        called = {child for d in self.modules for child in self.children(d).values() if child != d}
        return sorted(d for d in self.modules if d not in called and ".terraform/" not in f"{d}/")

    def children(self, directory: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, block in self.modules[directory].modules.items():
            item = block.attr("source")
            source = item[2][1] if item is not None and item[2][0] == "lit" else None
            if isinstance(source, str) and source.startswith(("./", "../")):
                target = posixpath.normpath(posixpath.join(directory, source))
                target = "" if target == "." else target
                if target in self.modules:
                    out[name] = target
        return out

    def run(self) -> list[Resource]:
        from agentctl.sources.terraform.instance import Instance

        for root in self.roots():
            Instance(self, self.modules[root], "", root, self.root_inputs(root), 0).emit()
        if self.moves:
            targets: dict[str, tuple[int, str]] = {}
            for index, (old, new) in enumerate(self.moves):
                targets.setdefault(new, (index, old))
            self.resources = [self._refactored(r, targets) for r in self.resources]
        for key, path, line in self.forgotten:  # markers for pairing: not a resource, never judged
            address = key.split(":", 2)[2]
            self.resources.append(
                Resource(
                    target=Target.TERRAFORM,
                    type=address.split(".")[0],
                    address=address,
                    key=key,
                    attributes={},
                    location=Location(path=path, start_line=line, end_line=line),
                    origin="forgotten",
                )
            )
        return self.resources

    def _refactored(self, resource: Resource, targets: dict[str, tuple[int, str]]) -> Resource:
        """Record the keys a resource had before ``moved`` blocks renamed it, and the keys ``removed`` forgets.

        ``targets``: each move's new key (or prefix) -> (its position among the moves, the old key).
        """
        previous: list[str] = []
        key = resource.key
        for _ in range(len(self.moves)):
            step = _moved_from(key, targets)
            if step is None or step in previous:
                break
            previous.append(step)
            key = step
        if not previous:
            return resource
        return resource.model_copy(update={"moved_from": tuple(previous)})

    def digest(self, node: Node) -> str:
        """:func:`digest`, once per node (blocks are instantiated many times)."""
        found = self._digests.get(id(node))
        if found is None or found[0] is not node:
            found = (node, digest(node))
            self._digests[id(node)] = found
        return found[1]

    def definition(self, name: str, path: str, node: Node) -> Node | None:
        """The defining node of an input site (or its what-if replacement; None when absent there)."""
        self.site_nodes[(name, path)] = node
        return self.overrides.get((name, path), node) if self.overrides else node

    # -- provenance ------------------------------------------------------
    def record(self, sites: Iterable[Site]) -> None:
        if self._collectors:
            self._collectors[-1].update(sites)

    def collect(self, function: Callable[[], Any]) -> tuple[Any, set[Site]]:
        self._collectors.append(set())
        try:
            value = function()
        finally:
            sites = self._collectors.pop()
        self.record(sites)
        return value, sites

    def root_inputs(self, root: str) -> dict[str, tuple[Site, Callable[[], Any]]]:
        files = sorted(self.tfvars.get(root, []), key=lambda f: _tfvars_order(f.path))
        files += [f for d, fs in self.tfvars.items() for f in fs if f.path in self.var_files and _under(d, root)]
        files = [f for f in files if _auto_loaded(f.path) or f.path in self.var_files]
        inputs: dict[str, tuple[Site, Callable[[], Any]]] = {}
        for tf in files:
            for item in tf.body:
                if item[0] != "a":
                    continue
                node = self.definition(f"var.{item[1]}", tf.path, item)
                if node is not None:
                    site = (f"var.{item[1]}", tf.path, item[3], self.digest(node))
                    inputs[item[1]] = (site, _constant(node[2]))
        return inputs


def _under(directory: str, root: str) -> bool:
    return directory != root and (root == "" or directory.startswith(root + "/"))


def _auto_loaded(path: str) -> bool:
    name = posixpath.basename(path)
    return name in ("terraform.tfvars", "terraform.tfvars.json") or name.endswith((".auto.tfvars", ".auto.tfvars.json"))


def _tfvars_order(path: str) -> tuple[int, str]:
    name = posixpath.basename(path)
    return (0 if name.startswith("terraform.tfvars") else 1, name)


def _constant(node: Node) -> Callable[[], Any]:
    return lambda: safe(node, {})


def safe(node: Node, env: dict[str, Any]) -> Any:
    try:
        return evaluate(node, env)
    except EvalError:
        return Unknown(render(node))
    except RecursionError:
        return Unknown("(too deeply nested)")


def _moved_from(key: str, targets: dict[str, tuple[int, str]]) -> str | None:
    """The key before the first move (in declaration order) whose new key is ``key`` or a prefix of it."""
    best: tuple[int, str] | None = None
    for end in [i for i, char in enumerate(key) if char in ".["] + [len(key)]:
        found = targets.get(key[:end])
        if found is not None and (best is None or found[0] < best[0]):
            best = (found[0], found[1] + key[end:])
    return best[1] if best is not None else None


def bind(node: Node, env: dict[str, Any]) -> Callable[[], Any]:
    return lambda: safe(node, env)


def suffix(key: Any) -> str:
    if key is None:
        return ""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"[{key}]"
    if key == "?":
        return "[*]"
    return "[" + json.dumps(str(key)) + "]"
