"""Safe, bounded YAML reading with line numbers.

Builds plain Python values from libyaml's *event* stream with an explicit
stack instead of PyYAML's recursive composer, because:

* the composer recurses per nesting level (100,000 nested ``[`` crash the
  interpreter with a segfault inside libyaml's Cython composer);
* aliases must be budgeted: a billion-laughs document is tiny on disk but
  expands to 10^9 nodes for anyone who walks it;
* policy errors and findings need the line of every mapping key.

Only the YAML safe schema is resolved (no Python tags, ever).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

MAX_DEPTH = 200
"""Deepest nesting accepted; real manifests stay well under 30."""
MAX_NODES = 500_000
"""Nodes a document may expand to, counting every alias use in full."""


class YamlError(Exception):
    """A YAML document could not be read; carries the 1-based line."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class YamlDocument:
    """One document of a YAML stream."""

    value: Any
    start_line: int
    end_line: int
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)
    """Line of each mapping key / sequence item, by its path from the root."""

    def line_of(self, path: tuple[str | int, ...]) -> int:
        """Line of the deepest known prefix of ``path``."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return self.start_line


@dataclass
class _Frame:
    container: dict[Any, Any] | list[Any]
    path: tuple[str | int, ...]
    anchor: str | None
    nodes_at_start: int
    start_line: int
    pending_key: Any = None
    has_key: bool = False
    key_line: int = 0


_GO_BOOLS = {"y": True, "Y": True, "n": False, "N": False}
"""Plain scalars go-yaml v2 (which kubectl and Helm read manifests with) takes as booleans and PyYAML does not."""


class _ScalarResolver:
    """Resolve plain scalars with PyYAML's safe resolver and constructor."""

    def __init__(self, go_bools: bool = False) -> None:
        import yaml  # imported on first use: a check without YAML to read never pays for it

        self.go_bools = go_bools
        self._yaml = yaml
        self._loader: Any = yaml.SafeLoader("")
        self._plain: dict[str, Any] = {}
        """Plain (unquoted, untagged) scalars resolved so far: keys repeat in every item of a list."""

    def value(self, event: yaml.ScalarEvent) -> Any:
        if event.tag is None:
            if event.style in ("'", '"'):
                return event.value  # a quoted scalar without a tag is a string (PyYAML: implicit = (False, True))
            if self.go_bools and not event.style and event.implicit[0] and event.value in _GO_BOOLS:
                return _GO_BOOLS[event.value]  # plain (libyaml's events give style "" for plain scalars)
            if event.style is None and event.implicit[0]:
                found = self._plain.get(event.value, self)
                if found is self:
                    found = self._plain[event.value] = self._resolve(event)
                return found  # immutable: str, int, float, bool, None
        return self._resolve(event)

    def _resolve(self, event: yaml.ScalarEvent) -> Any:
        yaml = self._yaml
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        node = yaml.ScalarNode(tag, event.value, None, None, event.style)
        try:
            value = self._loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            # Unknown tags (``!Ref``, ``!!python/object``) are kept as plain text.
            return event.value
        if isinstance(value, (dt.date, bytes)):
            # Rules and caches see JSON-shaped values only.
            return value.isoformat() if isinstance(value, dt.date) else event.value
        return value


def load_documents(
    text: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES, go_bools: bool = False
) -> list[YamlDocument]:
    """Parse every document in ``text``; raise :class:`YamlError` on bad or hostile input.

    ``go_bools``: read plain ``y``/``n`` as booleans, as kubectl does (Kubernetes manifests).
    """
    import yaml

    loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    resolver = _ScalarResolver(go_bools)
    documents: list[YamlDocument] = []
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int]] = {}
    lines: dict[tuple[str | int, ...], int] = {}
    nodes = 0
    doc_start = 1
    last_line = 1
    root: Any = None

    def attach(value: Any, line: int, subtree_nodes: int) -> None:
        nonlocal root, nodes
        nodes += subtree_nodes
        if nodes > max_nodes:
            raise YamlError(f"document expands to more than {max_nodes:,} nodes (alias bomb?)", line)
        if not stack:
            root = value
            return
        top = stack[-1]
        if isinstance(top.container, list):
            lines[(*top.path, len(top.container))] = line
            top.container.append(value)
        elif not top.has_key:
            if isinstance(value, (dict, list)):
                raise YamlError("complex mapping keys are not supported", line)
            top.pending_key, top.has_key, top.key_line = value, True, line
        else:
            key = top.pending_key
            if key is None or isinstance(key, (str, int, float, bool)):
                lines[(*top.path, _path_key(key))] = top.key_line
            if key == "<<" and isinstance(value, dict):
                for merged_key, merged_value in value.items():
                    top.container.setdefault(merged_key, merged_value)
            else:
                top.container[key] = value
            top.has_key = False

    def child_path() -> tuple[str | int, ...]:
        if not stack:
            return ()
        top = stack[-1]
        if isinstance(top.container, list):
            return (*top.path, len(top.container))
        return (*top.path, _path_key(top.pending_key))

    try:
        for event in yaml.parse(text, Loader=loader):
            line = event.start_mark.line + 1 if event.start_mark else 1
            if isinstance(event, yaml.DocumentStartEvent):
                doc_start, root, nodes, lines, anchors = line, None, 0, {}, {}
                last_line = line
            elif isinstance(event, yaml.DocumentEndEvent):
                documents.append(YamlDocument(root, doc_start, max(last_line, doc_start), lines))
                continue
            if event.end_mark is not None and not isinstance(event, yaml.StreamEndEvent):
                mark = event.end_mark
                last_line = max(last_line, mark.line + (1 if mark.column else 0))
            if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentStartEvent)):
                continue
            if not stack and root is None:
                doc_start = line  # point at the document's content, not at its `---`
            if isinstance(event, yaml.ScalarEvent):
                value = resolver.value(event)
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                attach(value, line, 1)
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    raise YamlError(f"unknown alias *{event.anchor}", line)
                value, size = anchors[event.anchor]
                attach(value, line, size)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if len(stack) >= max_depth:
                    raise YamlError(f"nesting deeper than {max_depth} levels", line)
                container: dict[Any, Any] | list[Any] = [] if isinstance(event, yaml.SequenceStartEvent) else {}
                stack.append(_Frame(container, child_path(), event.anchor, nodes, line))
                nodes += 1
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                frame = stack.pop()
                size = nodes - frame.nodes_at_start
                nodes = frame.nodes_at_start
                if frame.anchor:
                    anchors[frame.anchor] = (frame.container, size)
                attach(frame.container, frame.start_line, size)
    except yaml.MarkedYAMLError as exc:
        where: Any = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        raise YamlError(f"invalid YAML: {problem}", (where.line + 1) if where else 1) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise YamlError(f"nesting deeper than {max_depth} levels") from None
    return documents


def _path_key(key: Any) -> str | int:
    return key if isinstance(key, (str, int)) else str(key)
