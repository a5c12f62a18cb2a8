"""Kubernetes manifests (multi-document YAML) into resources.

YAML that is not a plain manifest (Helm templates, Kustomize files, CI
configuration) is skipped with a note rather than reported as broken.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentctl.model.common import Location, Target
from agentctl.model.resource import Note, Resource
from agentctl.sources import suppressions
from agentctl.sources.interface import ParsedFile, ParseIssue
from agentctl.sources.yamldoc import YamlDocument, YamlError, load_documents

_NOT_MANIFESTS = {
    "kustomization.yaml": "Kustomize file",
    "kustomization.yml": "Kustomize file",
    ".gitlab-ci.yml": "GitLab CI configuration",
    ".pre-commit-config.yaml": "pre-commit configuration",
    "chart.yaml": "Helm chart metadata",
    "values.yaml": "Helm values",
}


def parse(path: str, text: str) -> ParsedFile:
    result = ParsedFile(path)
    name = path.rsplit("/", 1)[-1].lower()
    if name in _NOT_MANIFESTS:
        result.notes.append(Note(path=path, message=f"{_NOT_MANIFESTS[name]}, not a manifest; skipped"))
        return result
    if "/.github/workflows/" in f"/{path}":
        result.notes.append(Note(path=path, message="GitHub workflow, not a manifest; skipped"))
        return result
    if path.lower().endswith(".json"):
        return _parse_json(path, text, result)
    if is_templated(text):
        result.notes.append(
            Note(
                path=path,
                message="templated YAML ({{ … }} placeholders, e.g. Helm), not a plain manifest; "
                "skipped (check the rendered output)",
            )
        )
        return result
    try:
        documents = load_documents(text, go_bools=True)  # as kubectl reads it
    except YamlError as exc:
        documents = _good_documents(path, text, exc, result)

    lines = text.splitlines()
    skipped = 0
    for document in documents:
        value = document.value
        if value is None:
            continue
        objects = _objects(value)
        if not objects:
            skipped += 1
            continue
        for obj in objects:
            _add(result, path, obj, document.start_line, document.end_line, lines)
    if skipped and not result.resources:
        result.notes.append(Note(path=path, message="YAML without Kubernetes objects (no apiVersion/kind); skipped"))
    return result


def _good_documents(path: str, text: str, error: YamlError, result: ParsedFile) -> list[YamlDocument]:
    """After a YAML error: the documents that do parse on their own, and one issue per bad one."""
    starts = [0] + [m.start() + 1 for m in re.finditer(r"\n(?=---[ \t]*(?:#.*)?(?:\n|$))", text)]
    if len(starts) == 1:
        result.issues.append(ParseIssue(path, error.line, error.message))
        return []
    good: list[YamlDocument] = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        offset = text.count("\n", 0, start)
        try:
            chunk = load_documents(text[start:end], go_bools=True)
        except YamlError as exc:
            result.issues.append(ParseIssue(path, exc.line + offset, exc.message))
            continue
        for document in chunk:
            document.start_line += offset
            document.end_line += offset
            good.append(document)
    return good


def looks_like_manifest_json(text: str) -> bool:
    """Cheap test: a JSON file whose start names an apiVersion and a kind."""
    head = text[:4096]
    return '"apiVersion"' in head and '"kind"' in head


def _parse_json(path: str, text: str, result: ParsedFile) -> ParsedFile:
    try:
        value = json.loads(text)
    except RecursionError:
        result.issues.append(ParseIssue(path, 1, "JSON nesting too deep to parse"))
        return result
    except json.JSONDecodeError as exc:
        result.issues.append(ParseIssue(path, exc.lineno, f"invalid JSON manifest: {exc.msg}"))
        return result
    lines = text.splitlines()
    objects = _objects(value)
    if not objects:
        result.notes.append(Note(path=path, message="JSON without Kubernetes objects (no apiVersion/kind); skipped"))
    end = max(len(lines), 1)
    for obj in objects:
        start = _json_line(text, obj) if len(objects) > 1 else 1
        _add(result, path, obj, start, end if len(objects) == 1 else start, lines)
    return result


def _json_line(text: str, obj: dict[str, Any]) -> int:
    name = obj.get("metadata", {}).get("name") if isinstance(obj.get("metadata"), dict) else None
    if not isinstance(name, str):
        return 1
    found = re.search(r'"name"\s*:\s*' + re.escape(json.dumps(name)), text)
    return text.count("\n", 0, found.start()) + 1 if found else 1


_BLOCK_SCALAR = re.compile(r"""(?:^|[:\-]\s|^\s*-\s*)[|>][0-9+-]*\s*(?:#.*)?$""")
_QUOTED = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^']|'')*'""")


def is_templated(text: str) -> bool:
    """Whether ``text`` has template syntax (``{{ … }}``) where YAML would read it as structure.

    Placeholders inside comments, quoted strings and block scalars (``|`` / ``>``)
    are data, not templating: a plain manifest may carry an alerting template or
    a Go-template annotation and must still be checked.
    """
    if "{{" not in text:
        return False
    block_indent: int | None = None
    for raw in text.splitlines():
        stripped = raw.lstrip(" ")
        indent = len(raw) - len(stripped)
        if block_indent is not None:
            if not stripped.strip() or indent > block_indent:
                continue
            block_indent = None
        if stripped.startswith("#"):
            continue
        bare = _QUOTED.sub('""', raw)
        hash_at = re.search(r"(^|\s)#", bare)
        if hash_at:
            bare = bare[: hash_at.start()]
        if "{{" in bare:
            return True
        if _BLOCK_SCALAR.search(bare.rstrip()):
            block_indent = indent
    return False


_WORKLOAD_TEMPLATE = {
    "Pod": ("spec",),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
}


def malformed(obj: dict[str, Any]) -> str | None:
    """Why a workload object cannot be what its kind says (``spec`` a list, …), or None."""
    route = _WORKLOAD_TEMPLATE.get(str(obj.get("kind")))
    if route is None:
        spec = obj.get("spec")
        return None if spec is None or isinstance(spec, dict) else f"spec is a {_kind_of(spec)}, not a mapping"
    node: Any = obj
    where = ""
    for part in route:
        node = node.get(part) if isinstance(node, dict) else None
        where = f"{where}.{part}" if where else part
        if node is None:
            return None  # a partial object (a Kustomize patch) is not malformed
        if not isinstance(node, dict):
            return f"{where} is a {_kind_of(node)}, not a mapping"
    for key in ("initContainers", "containers", "ephemeralContainers", "volumes"):
        items = node.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            return f"{where}.{key} is a {_kind_of(items)}, not a list"
        if any(not isinstance(item, dict) for item in items):
            return f"{where}.{key} has an entry that is not a mapping"
    return None


def _kind_of(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), "value"
    )


def _add(result: ParsedFile, path: str, obj: dict[str, Any], start: int, end: int, lines: list[str]) -> None:
    resource = _resource(path, obj, start, end, lines)
    problem = malformed(obj)
    if problem is not None:
        result.issues.append(
            ParseIssue(path, start, f"{resource.address}: malformed {resource.type}: {problem}", "k8s-malformed-object")
        )
    result.resources.append(resource)


def _objects(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict) or not isinstance(value.get("kind"), str) or "apiVersion" not in value:
        return []
    if value["kind"].endswith("List") and isinstance(value.get("items"), list):
        return [item for item in value["items"] if _objects(item)]
    if value["kind"] == "Kustomization":
        return []
    return [value]


def _resource(path: str, obj: dict[str, Any], start: int, end: int, lines: list[str]) -> Resource:
    kind = obj["kind"]
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(metadata, dict)
    name = str(metadata.get("name") or metadata.get("generateName") or "<unnamed>")
    namespace = str(metadata.get("namespace") or "")
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    address = f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"
    return Resource(
        target=Target.KUBERNETES,
        type=kind,
        address=address,
        key=f"k8s:{group}:{kind}:{namespace}:{name}",
        attributes=obj,
        location=Location(path=path, start_line=start, end_line=end),
        suppressions=suppressions.find(lines, start, end),
        origin="yaml",
    )


def manifest_objects(value: Any) -> list[dict[str, Any]]:
    """The Kubernetes objects in one YAML document's value (for callers that read YAML themselves)."""
    return _objects(value)


def manifest_resource(path: str, obj: dict[str, Any], start: int, end: int, lines: list[str]) -> Resource:
    """One Kubernetes object as a resource (for callers that read YAML themselves)."""
    return _resource(path, obj, start, end, lines)
