"""A Helm chart's values file judged by the pod security settings it sets.

The gate and ``check`` do not render charts (``helm`` is not needed, and a
chart's templates are Go templates). A chart's templates put its values into
manifests (``{{- toYaml .Values.securityContext | nindent 12 }}``), so a values
file that turns on ``privileged`` is as dangerous as a manifest that does. A
values file of a chart (``values*.yaml`` beside a ``Chart.yaml``) is therefore
read as settings: every mapping in it that sets a security key becomes one
synthetic Pod, keyed by the values path of that mapping, and the Kubernetes
rules judge it under their own ids. Being keyed by values path, a diff judges
only what changes: a setting that was already there is the baseline, and a
values file that sets ``privileged: false`` or an image tag yields nothing.
Only the rules on those settings (``RULES``) are kept: a synthetic Pod has no
image, probes or limits, and rules on those would be noise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from agentctl.model.common import Location, Target
from agentctl.model.resource import Resource
from agentctl.sources import suppressions
from agentctl.sources.yamldoc import YamlError, load_documents

RULES = frozenset(
    {
        "k8s-privileged-container",
        "k8s-host-namespaces",
        "k8s-hostpath-volume",
        "k8s-container-runtime-socket",
        "k8s-run-as-root",
        "k8s-privilege-escalation",
        "k8s-dangerous-capabilities",
        "k8s-proc-mount-unmasked",
    }
)
"""The rules a values file is judged by (the settings below)."""

_CONTAINER_KEYS = ("privileged", "allowPrivilegeEscalation", "runAsUser", "runAsNonRoot", "capabilities", "procMount")
_POD_KEYS = ("hostNetwork", "hostPID", "hostIPC")
_NAME = re.compile(r"^values[^/]*\.ya?ml$")


def is_values(path: str, exists: Callable[[str], bool]) -> bool:
    """A chart's values file: ``values*.yaml`` beside a ``Chart.yaml`` (``exists`` answers for repo paths)."""
    directory, _, name = path.rpartition("/")
    return bool(_NAME.match(name)) and exists(f"{directory}/Chart.yaml" if directory else "Chart.yaml")


def resources(path: str, text: str | None) -> list[Resource]:
    """One synthetic Pod per mapping of the values that sets a security key (none when unreadable)."""
    if not text:
        return []
    try:
        documents = load_documents(text, go_bools=True)  # Helm reads values as go-yaml does
    except (YamlError, TypeError, ValueError, RecursionError):
        return []  # not judged here: the preview reports YAML that does not parse
    lines = text.splitlines()
    out: list[Resource] = []
    for document in documents:
        for where, node in _mappings(document.value, ()):
            pod = _pod(where, node)
            if pod is None:
                continue
            line = document.lines.get(where, document.start_line)
            dotted = ".".join(str(p) for p in where) or "(top level)"
            out.append(
                Resource(
                    target=Target.KUBERNETES,
                    type="Pod",
                    address=f"{path} (Helm values {dotted})",
                    key=f"helm-values:{path}:{dotted}",
                    attributes=pod,
                    location=Location(path=path, start_line=line, end_line=line),
                    suppressions=suppressions.find(lines, line, line),
                    origin="yaml",
                )
            )
    return out


def _mappings(value: Any, where: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    found: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [(where, value)]
    while stack and len(found) < 10_000:
        at, node = stack.pop()
        if isinstance(node, dict):
            found.append((at, node))
            stack += [((*at, str(k)), v) for k, v in node.items()]
        elif isinstance(node, list):
            stack += [((*at, i), v) for i, v in enumerate(node)]
    return found


def _pod(where: tuple[str | int, ...], node: dict[str, Any]) -> dict[str, Any] | None:
    """The Pod a mapping's security keys make (safe defaults for what it does not set), or None."""
    context = {k: node[k] for k in _CONTAINER_KEYS if k in node and node[k] is not None}
    host = {k: node[k] for k in _POD_KEYS if node.get(k) is True}
    volume = node.get("hostPath")
    if isinstance(volume, str) and volume.strip():
        volume = {"path": volume}
    volumes = [{"name": "values", "hostPath": volume}] if isinstance(volume, dict) and "path" in volume else []
    if not context and not host and not volumes:
        return None
    name = ".".join(str(p) for p in where) or "values"
    security = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, **context}
    spec: dict[str, Any] = {"containers": [{"name": name, "securityContext": security}], **host}
    if volumes:
        spec["volumes"] = volumes
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}
