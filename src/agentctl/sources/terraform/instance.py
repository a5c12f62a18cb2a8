"""One instantiation of a Terraform module: its variables, locals, outputs and resources.

Values are computed lazily and memoised, with the input sites they came from
(see ``evaluate.Tree.collect``), so a resource knows which variables, tfvars
entries, module arguments and locals its attributes depend on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from agentctl.model.common import Location, Target
from agentctl.model.resource import InputSite, Note, Resource
from agentctl.sources.terraform.evaluate import (
    MAX_DEPTH,
    MAX_INSTANCES,
    MAX_RESOURCES,
    Site,
    Tree,
    bind,
    export,
    safe,
    suffix,
)
from agentctl.sources.terraform.expr import Namespace, conform
from agentctl.sources.terraform.functions import Unknown
from agentctl.sources.terraform.hcl import Node
from agentctl.sources.terraform.module import Block, Module
from agentctl.sources.terraform.render import render


class Instance:
    """One instantiation of a module: its variables, locals and outputs, evaluated lazily."""

    def __init__(
        self,
        tree: Tree,
        module: Module,
        prefix: str,
        root: str,
        inputs: dict[str, tuple[Site, Callable[[], Any]]],
        depth: int,
    ) -> None:
        self.tree, self.module, self.prefix, self.root, self.inputs, self.depth = (
            tree,
            module,
            prefix,
            root,
            inputs,
            depth,
        )
        self._cache: dict[str, tuple[Any, set[Site]]] = {}
        self._busy: set[str] = set()
        self._children: dict[str, Any] = {}
        self.call_path = ""
        """``eks.node_group``: the module call path, as ``.terraform/modules/modules.json`` keys it."""
        self.env: dict[str, Any] = {
            "var": Namespace("var", self.var),
            "local": Namespace("local", self.local),
            "module": Namespace("module", self.module_ref),
            "path": {"module": module.directory or ".", "root": root or ".", "cwd": "."},
            "terraform": {"workspace": "default"},
        }

    def _memo(self, key: str, compute: Callable[[], Any]) -> Any:
        if key in self._cache:
            value, sites = self._cache[key]
            self.tree.record(sites)
            return value
        if key in self._busy:
            return Unknown(key)
        self._busy.add(key)
        try:
            value, sites = self.tree.collect(compute)
        finally:
            self._busy.discard(key)
        self._cache[key] = (value, sites)
        return value

    def var(self, name: str) -> Any:
        block = self.module.variables.get(name)
        type_item = block.attr("type") if block is not None else None
        value = self._var(name)
        if type_item is None:
            return value
        return self._memo(f"typed.{name}", lambda: conform(type_item[2], value))

    def _var(self, name: str) -> Any:
        def compute() -> Any:
            if name in self.inputs:
                site, thunk = self.inputs[name]
                self.tree.record([site])
                value = thunk()
                if value is not None:
                    return value
            block = self.module.variables.get(name)
            if block is None:
                return Unknown(f"var.{name}")
            default = block.attr("default")
            if default is not None:
                default = self.tree.definition(f"var.{name}", block.path, default)
            if default is None:
                return Unknown(f"var.{name}")
            self.tree.record([(f"var.{name}", block.path, default[3], self.tree.digest(default))])
            return safe(default[2], {})

        return self._memo(f"var.{name}", compute)

    def local(self, name: str) -> Any:
        def compute() -> Any:
            found = self.module.locals.get(name)
            if found is None:
                return Unknown(f"local.{name}")
            item, path = found
            replaced = self.tree.definition(f"local.{name}", path, item)
            if replaced is None:
                return Unknown(f"local.{name}")
            item = replaced
            self.tree.record([(f"local.{name}", path, item[3], self.tree.digest(item))])
            return safe(item[2], self.env)

        return self._memo(f"local.{name}", compute)

    def module_ref(self, name: str) -> Any:
        instances = self.child(name)
        if instances is None:
            return Unknown(f"module.{name}")
        if len(instances) == 1 and instances[0][0] is None:
            return Namespace(f"module.{name}", instances[0][1].output)
        return {str(key): Namespace(f"module.{name}", child.output) for key, child in instances}

    def output(self, name: str) -> Any:
        def compute() -> Any:
            block = self.module.outputs.get(name)
            value = block.attr("value") if block is not None else None
            return safe(value[2], self.env) if value is not None else Unknown(f"{self.prefix}{name}")

        return self._memo(f"output.{name}", compute)

    def child(self, name: str) -> list[tuple[Any, Instance]] | None:
        if name in self._children:
            return self._children[name]  # type: ignore[no-any-return]
        block = self.module.modules.get(name, None)
        target = self.tree.children(self.module.directory).get(name)
        call_path = f"{self.call_path}.{name}".lstrip(".")
        if target is None:
            target = self.tree.installed.get(self.root, {}).get(call_path)
            target = target if target in self.tree.modules else None
        if block is None or target is None or self.depth >= MAX_DEPTH:
            self._children[name] = None
            return None
        made: list[tuple[Any, Instance]] = []
        self._children[name] = made
        for key, extra in self.expand(block):
            env = {**self.env, **extra}
            inputs: dict[str, tuple[Site, Callable[[], Any]]] = {}
            for item in block.body:
                if item[0] == "a" and item[1] not in ("source", "version", "count", "for_each", "providers"):
                    node = self.tree.definition(f"module.{name}.{item[1]}", block.path, item)
                    if node is not None:
                        site = (f"module.{name}.{item[1]}", block.path, node[3], self.tree.digest(node))
                        inputs[item[1]] = (site, bind(node[2], env))
            prefix = f"{self.prefix}module.{name}{suffix(key)}."
            child = Instance(self.tree, self.tree.modules[target], prefix, self.root, inputs, self.depth + 1)
            child.call_path = call_path
            made.append((key, child))
        return made

    def expand(self, block: Block) -> list[tuple[Any, dict[str, Any]]]:
        """``(instance key or None, extra scope)`` for each instance of a counted/iterated block."""
        count, for_each = block.attr("count"), block.attr("for_each")
        if count is not None:
            value = safe(count[2], self.env)
            if isinstance(value, Unknown) or not isinstance(value, (int, float)) or isinstance(value, bool):
                return [("?", {"count": {"index": Unknown("count.index")}})]
            total = int(value)
            if total > MAX_INSTANCES:
                self.tree.notes.append(Note(path=block.path, message=f"count {total} capped at {MAX_INSTANCES}"))
            return [(i, {"count": {"index": i}}) for i in range(min(total, MAX_INSTANCES))]
        if for_each is not None:
            value = safe(for_each[2], self.env)
            if isinstance(value, dict):
                pairs = [(k, value[k]) for k in sorted(value)]
            elif isinstance(value, list) and not any(isinstance(v, Unknown) for v in value):
                pairs = [(v, v) for v in value]
            else:
                return [("?", {"each": {"key": Unknown("each.key"), "value": Unknown("each.value")}})]
            return [(k, {"each": {"key": k, "value": v}}) for k, v in pairs[:MAX_INSTANCES]]
        return [(None, {})]

    # -- resources -------------------------------------------------------
    def emit(self) -> None:
        for block in self.module.refactors:
            source, target = block.attr("from"), block.attr("to")
            if source is None:
                continue
            origin = f"tf:{self.root}:{self.prefix}{render(source[2])}"
            if block.kind == "moved" and target is not None:
                self.tree.moves.append((origin, f"tf:{self.root}:{self.prefix}{render(target[2])}"))
            elif block.kind == "removed" and not _destroys(block):
                self.tree.forgotten.append((origin, block.path, block.start))
        focus = self.tree.focus
        wanted = focus.get(self.module.directory, set()) if focus is not None else None
        for address, block in self.module.resources.items():
            if wanted is not None and address not in wanted:
                continue
            expansion, sites = self.tree.collect(functools.partial(self.expand, block))
            for key, extra in expansion:
                if len(self.tree.resources) >= MAX_RESOURCES:
                    return
                self.tree.resources.append(self.resource(address, block, key, {**self.env, **extra}, sites))
        for name in self.module.modules:
            instances = self.child(name)
            if instances is None:
                if focus is None:  # a focused evaluation instantiates resource blocks only
                    self._opaque_module(name, self.module.modules[name])
                continue
            for _key, child in instances:
                child.emit()

    def resource(self, address: str, block: Block, key: Any, env: dict[str, Any], expansion: set[Site]) -> Resource:
        full = f"{self.prefix}{address}{suffix(key)}"
        by_attr: dict[str, set[Site]] = {"count" if block.attr("count") else "for_each": set(expansion)}
        attributes = self.body(block.body, env, by_attr)
        sites: dict[Site, set[str]] = {}
        for attr, found in by_attr.items():
            for site in found:
                sites.setdefault(site, set()).add(attr)
        rtype = block.labels[0]
        # Every field is built here with its declared type: construct without re-validating (a fifth of the cost).
        return Resource.model_construct(
            target=Target.TERRAFORM,
            type=rtype,
            address=full,
            key=f"tf:{self.root}:{full}",
            attributes=attributes,
            location=Location.model_construct(path=block.path, start_line=block.start, end_line=block.end),
            suppressions=self.tree.suppressions.get((block.path, block.start), ()),
            origin="hcl",
            inputs=tuple(InputSite._make((*s, tuple(sorted(a)))) for s, a in sorted(sites.items())),
            moved_from=(),
            block_digest=self.tree.digest(block.body),
            plan_before=None,
            plan_change=None,
        )

    def body(self, body: Node, env: dict[str, Any], by_attr: dict[str, set[Site]] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in body:
            name = item[1]
            if by_attr is not None and name == "for_each":
                continue

            def one(item: Node = item) -> None:
                if item[0] == "a":
                    out[item[1]] = export(safe(item[2], env))
                elif item[1] == "dynamic" and item[2]:
                    self.dynamic(item, env, out)
                else:
                    inner = self.body(item[3], env)
                    out.setdefault(item[1], []).append({item[2][-1]: inner} if item[2] else inner)

            if by_attr is None:
                one()
            else:
                _, sites = self.tree.collect(one)
                key = item[2][0] if item[1] == "dynamic" and item[2] else name
                by_attr.setdefault(key, set()).update(sites)
        return out

    def dynamic(self, item: Node, env: dict[str, Any], out: dict[str, Any]) -> None:
        name = item[2][0]
        spec = {i[1]: i for i in item[3] if i[0] == "a"}
        content = next((i for i in item[3] if i[0] == "b" and i[1] == "content"), None)
        if "for_each" not in spec or content is None:
            return
        iterator = spec["iterator"][2][1] if "iterator" in spec and spec["iterator"][2][0] == "ref" else name
        collection = safe(spec["for_each"][2], env)
        if isinstance(collection, dict):
            pairs: list[tuple[Any, Any]] = [(k, collection[k]) for k in sorted(collection)]
        elif isinstance(collection, list):
            pairs = list(enumerate(collection))
        elif collection is None:
            pairs = []
        else:
            pairs = [(Unknown(f"{iterator}.key"), Unknown(f"{iterator}.value"))]
        blocks = out.setdefault(name, [])
        for key, value in pairs[:MAX_INSTANCES]:
            blocks.append(self.body(content[3], {**env, iterator: {"key": key, "value": value}}))
        if not blocks:
            del out[name]

    def _opaque_module(self, name: str, block: Block) -> None:
        """A module whose source is not here (registry, git): its call, evaluated, for rules that judge calls."""
        for key, extra in self.expand(block):
            full = f"{self.prefix}module.{name}{suffix(key)}"
            by_attr: dict[str, set[Site]] = {}
            self.tree.resources.append(
                Resource(
                    target=Target.TERRAFORM,
                    type="module",
                    address=full,
                    key=f"tf:{self.root}:{full}",
                    attributes=self.body(block.body, {**self.env, **extra}, by_attr),
                    location=Location(path=block.path, start_line=block.start, end_line=block.end),
                    suppressions=self.tree.suppressions.get((block.path, block.start), ()),
                    block_digest=self.tree.digest(block.body),
                )
            )


def _destroys(block: Block) -> bool:
    """A ``removed`` block destroys the resource unless its lifecycle says ``destroy = false``."""
    for item in block.body:
        if item[0] == "b" and item[1] == "lifecycle":
            for attr in item[3]:
                if attr[0] == "a" and attr[1] == "destroy" and attr[2] == ["lit", False]:
                    return False
    return True
