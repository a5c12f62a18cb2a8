"""Kubernetes manifests: JSON files, the templating decision, malformed objects.

Unit tests call the parser; the end-to-end ones drive the installed ``agentctl``
against a real git repository.
"""

from __future__ import annotations

import json

from agentctl.sources import kubernetes
from tests.conftest import GitRepo

PRIVILEGED_JSON = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "debug", "namespace": "shop"},
    "spec": {"containers": [{"name": "shell", "image": "busybox:1.36", "securityContext": {"privileged": True}}]},
}

DEPLOYMENT_WITH_TEMPLATE_STRINGS = """\
# Helm users write {{ .Values.x }}; this file is a plain manifest.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    note: "rendered by {{ .Release.Name }}"
    other: '{{ literal }}'
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27.0
          args:
            - |
              {{ define "alert" }}{{ .Labels.x }}{{ end }}
          securityContext:
            privileged: true
"""

HELM_TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicas }}
"""

HELM_CONTROL = """\
{{- if .Values.enabled }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: x
{{- end }}
"""


def test_json_pod_is_read() -> None:
    parsed = kubernetes.parse("k8s/pod.json", json.dumps(PRIVILEGED_JSON, indent=2))
    assert [r.address for r in parsed.resources] == ["Pod/shop/debug"]
    assert parsed.resources[0].attributes["spec"]["containers"][0]["securityContext"]["privileged"] is True
    assert not parsed.issues and not parsed.notes


def test_json_list_yields_each_item_with_its_line() -> None:
    second = dict(PRIVILEGED_JSON, metadata={"name": "other"})
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": [PRIVILEGED_JSON, second]}, indent=2)
    parsed = kubernetes.parse("k8s/list.json", text)
    assert [r.address for r in parsed.resources] == ["Pod/shop/debug", "Pod/other"]
    other_line = next(i for i, line in enumerate(text.splitlines(), 1) if '"other"' in line)
    assert parsed.resources[1].location.start_line == other_line


def test_json_that_is_not_a_manifest_is_a_note_and_bad_json_an_issue() -> None:
    assert not kubernetes.looks_like_manifest_json('{"name": "package", "version": "1"}')
    parsed = kubernetes.parse("k8s/bad.json", '{"apiVersion": "v1", "kind": "Pod",\n  "spec": }')
    assert parsed.issues and parsed.issues[0].line == 2


def test_placeholders_in_strings_comments_and_block_scalars_are_not_templating() -> None:
    assert not kubernetes.is_templated(DEPLOYMENT_WITH_TEMPLATE_STRINGS)
    parsed = kubernetes.parse("k8s/web.yaml", DEPLOYMENT_WITH_TEMPLATE_STRINGS)
    assert [r.address for r in parsed.resources] == ["Deployment/web"]


def test_real_template_syntax_is_skipped_with_a_note() -> None:
    for text in (HELM_TEMPLATE, HELM_CONTROL):
        assert kubernetes.is_templated(text)
        parsed = kubernetes.parse("chart/templates/x.yaml", text)
        assert not parsed.resources
        assert "templated" in parsed.notes[0].message


def test_malformed_objects_are_reported_and_good_ones_kept() -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: listy}
spec:
  - containers: []
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: {name: web, image: nginx}
---
apiVersion: v1
kind: Pod
metadata: {name: fine}
spec:
  containers: [{name: a, image: nginx:1.27.0}]
"""
    parsed = kubernetes.parse("k8s/mixed.yaml", text)
    assert {r.address for r in parsed.resources} == {"Pod/listy", "Deployment/web", "Pod/fine"}
    issues = {(i.rule_id, i.line): i.message for i in parsed.issues}
    assert set(issues) == {("k8s-malformed-object", 1), ("k8s-malformed-object", 7)}
    assert "spec is a list" in issues[("k8s-malformed-object", 1)]
    assert "spec.template.spec.containers is a mapping, not a list" in issues[("k8s-malformed-object", 7)]


def test_a_partial_patch_is_not_malformed() -> None:
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n"
    assert not kubernetes.parse("overlays/prod/replicas.yaml", patch).issues


def test_check_judges_a_json_manifest_and_reports_malformed_objects(repo: GitRepo, agentctl) -> None:
    repo.write("README.md", "x\n")
    repo.commit("base")
    repo.write("k8s/pod.json", json.dumps(PRIVILEGED_JSON, indent=2))
    repo.write("k8s/broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  - x\n")
    repo.write("package.json", '{"name": "web", "version": "1.0.0"}')
    repo.commit("agent")
    result = agentctl("check", "--diff", "HEAD~1", "--format", "json", cwd=repo.root)
    assert result.code == 1, result.stderr
    found = {(f["rule_id"], f["path"]) for f in json.loads(result.stdout)["findings"]}
    assert ("k8s-privileged-container", "k8s/pod.json") in found
    assert ("k8s-malformed-object", "k8s/broken.yaml") in found
    assert not any(path == "package.json" for _, path in found)


def test_table_output_counts_skipped_files_and_says_how_to_list_them(repo: GitRepo, agentctl) -> None:
    repo.write("chart/templates/web.yaml", HELM_TEMPLATE)
    repo.write("k8s/kustomization.yaml", "resources: []\n")
    repo.write("k8s/web.yaml", DEPLOYMENT_WITH_TEMPLATE_STRINGS)
    result = agentctl("check", "--format", "table", cwd=repo.root)
    assert result.code == 1, result.stderr
    assert "k8s-privileged-container" in result.stdout  # the Deployment with {{ }} in strings is judged
    summary = [line for line in result.stdout.splitlines() if "skipped" in line]
    assert summary and summary[0].startswith("2 files skipped"), result.stdout
    assert "--format json" in summary[0]
    notes = json.loads(agentctl("check", "--format", "json", cwd=repo.root).stdout)["notes"]
    assert {"chart/templates/web.yaml", "k8s/kustomization.yaml"} <= {n["path"] for n in notes}


def test_one_broken_document_keeps_the_files_good_documents() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: good}\nspec:\n  containers: [{name: a, image: x}]\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: bad\nspec: ]\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: also-good}\nspec:\n  containers: [{name: a, image: x}]\n"
    )
    parsed = kubernetes.parse("k8s/pods.yaml", text)
    assert [r.address for r in parsed.resources] == ["Pod/good", "Pod/also-good"]
    assert parsed.resources[1].location.start_line == 12
    assert len(parsed.issues) == 1 and 7 <= parsed.issues[0].line <= 10
