"""Kubernetes manifests (multi-document YAML) into resources.

YAML that is not a plain manifest (Helm templates, Kustomize files, CI
configuration) is skipped with a note rather than reported as broken.
"""

from __future__ import annotations

from typing import Any

from agentctl.model.common import Location, Target
from agentctl.model.resource import Note, Resource
from agentctl.sources import suppressions
from agentctl.sources.interface import ParsedFile, ParseIssue
from agentctl.sources.yamldoc import YamlError, load_documents

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
    if "{{" in text and "}}" in text:
        result.notes.append(
            Note(
                path=path,
                message="templated YAML ({{ … }} placeholders, e.g. Helm), not a plain manifest; "
                "skipped (check the rendered output)",
            )
        )
        return result
    try:
        documents = load_documents(text)
    except YamlError as exc:
        result.issues.append(ParseIssue(path, exc.line, exc.message))
        return result

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
            result.resources.append(_resource(path, obj, document.start_line, document.end_line, lines))
    if skipped and not result.resources:
        result.notes.append(Note(path=path, message="YAML without Kubernetes objects (no apiVersion/kind); skipped"))
    return result


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
