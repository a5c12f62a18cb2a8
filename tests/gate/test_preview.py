"""The IaC preview fails closed: what the gate cannot build or parse is denied, what it parses is judged.

One table of cases, each a repository state, a hook payload and the expected
decision (and rule or reason). Driven in-process through the Gatekeeper; the
last tests drive a few through the installed ``agentctl gate`` binary.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentctl.gate.decide import Decision, Gatekeeper, load_book
from tests.conftest import agentctl_binary

GPU = '  instance_type = "p4d.24xlarge"\n'
CPU = '  instance_type = "m6i.large"\n'


def instance(name: str, body: str = CPU, extra: str = "") -> str:
    return f'resource "aws_instance" "{name}" {{\n  ami = "ami-1"\n{body}{extra}}}\n'


PRIVILEGED_POD = """apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27
      securityContext:
        privileged: true
      resources:
        limits: {cpu: "1", memory: 1Gi}
"""

HELM_PRIVILEGED = """{{- if .Values.enabled }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-web
  labels:
    {{- include "chart.labels" . | nindent 4 }}
spec:
  containers:
    - name: web
      image: "{{ .Values.image }}"
      securityContext:
        privileged: true
{{- end }}
"""


def write(path: str, content: str) -> dict[str, Any]:
    return {"tool_name": "Write", "tool_input": {"file_path": path, "content": content}}


def edit(path: str, old: str, new: str, replace_all: bool = False) -> dict[str, Any]:
    return {
        "tool_name": "Edit",
        "tool_input": {"file_path": path, "old_string": old, "new_string": new, "replace_all": replace_all},
    }


def codex_patch(text: str) -> dict[str, Any]:
    return {"tool_name": "apply_patch", "tool_input": {"command": text}}


@dataclass
class Case:
    id: str
    payload: dict[str, Any]
    decision: str
    rule: str | None = None
    """A rule id that must be among the findings (``None``: no requirement)."""
    reason: str | None = None
    """Text the reason must contain."""
    files: dict[str, str] = field(default_factory=dict)


CASES = [
    # --- Terraform the gate cannot read (yet) is denied, never waved through
    Case(
        "tf-json-gpu",
        write(
            "envs/dev/gpu.tf.json",
            json.dumps({"resource": {"aws_instance": {"t": {"ami": "ami-1", "instance_type": "p4d.24xlarge"}}}}),
        ),
        "deny",
    ),
    Case("tf-json-invalid", write("envs/dev/x.tf.json", '{"resource": {"aws_instance": '), "deny"),
    Case("tf-crlf-gpu", write("envs/dev/crlf.tf", instance("t", GPU).replace("\n", "\r\n")), "deny"),
    Case("tf-nul-in-comment-gpu", write("envs/dev/nul.tf", "# a\0b\n" + instance("t", GPU)), "deny"),
    Case(
        "tf-multiline-parens-gpu",
        write("envs/dev/paren.tf", instance("t", GPU, "  count = (\n    1 +\n    2\n  )\n")),
        "deny",
    ),
    Case(
        "tf-garbage",
        write("envs/dev/bad.tf", 'resource "aws_instance" "t" {\n  instance_type = \n'),
        "deny",
        reason="fail closed",
    ),
    Case("tf-cpu-allowed", write("envs/dev/ok.tf", instance("t")), "allow"),
    Case("tofu-gpu", write("envs/dev/main.tofu", instance("t", GPU)), "deny", rule="gpu-instance-outside-production"),
    Case(
        "tofu-json-gpu", write("envs/dev/main.tofu.json", json.dumps({"resource": {"aws_instance": {"t": {}}}})), "deny"
    ),
    Case(
        "write-content-not-text",
        {"tool_name": "Write", "tool_input": {"file_path": "envs/dev/main.tf", "content": 42}},
        "deny",
        reason="cannot be computed",
        files={"envs/dev/main.tf": instance("web")},
    ),
    # --- overrides are merged into the module, as Terraform does
    Case(
        "override-makes-gpu",
        write("envs/dev/main_override.tf", 'resource "aws_instance" "web" {\n' + GPU + "}\n"),
        "deny",
        rule="gpu-instance-outside-production",
        files={"envs/dev/main.tf": instance("web")},
    ),
    Case(
        "override-keeps-cpu",
        edit("envs/dev/main.tf", CPU, GPU),
        "allow",
        files={
            "envs/dev/main.tf": instance("web"),
            "envs/dev/override.tf": 'resource "aws_instance" "web" {\n' + CPU + "}\n",
        },
    ),
    Case(
        "override-scale-jump",
        write("envs/dev/asg_override.tf", 'resource "aws_autoscaling_group" "w" {\n  desired_capacity = 6\n}\n'),
        "deny",
        rule="scale-jump",
        files={
            "envs/dev/asg.tf": 'resource "aws_autoscaling_group" "w" {\n  max_size = 8\n  desired_capacity = 2\n}\n'
        },
    ),
    # --- a rename that also triples a count
    Case(
        "move-and-triple-in-one-patch",
        codex_patch(
            "*** Begin Patch\n*** Delete File: envs/dev/a.tf\n*** Add File: envs/dev/b.tf\n"
            + "".join(f"+{line}\n" for line in instance("x", CPU, "  count = 3\n").splitlines())
            + "*** End Patch\n"
        ),
        "deny",
        rule="scale-jump",
        files={"envs/dev/a.tf": instance("x", CPU, "  count = 1\n")},
    ),
    Case(
        "move-to-and-triple",
        codex_patch(
            "*** Begin Patch\n*** Update File: envs/dev/a.tf\n*** Move to: envs/dev/b.tf\n"
            "@@\n-  count = 1\n+  count = 3\n*** End Patch\n"
        ),
        "deny",
        rule="scale-jump",
        files={"envs/dev/a.tf": instance("x", CPU, "  count = 1\n")},
    ),
    Case(
        "new-file-beside-the-old-one-tripled",
        write("envs/dev/b.tf", instance("x", CPU, "  count = 3\n")),
        "deny",
        rule="scale-jump",
        files={"envs/dev/a.tf": instance("x", CPU, "  count = 1\n")},
    ),
    Case(
        "pure-move-allowed",
        codex_patch(
            "*** Begin Patch\n*** Update File: envs/dev/a.tf\n*** Move to: envs/dev/b.tf\n"
            '@@\n-  ami = "ami-1"\n+  ami = "ami-1"\n*** End Patch\n'
        ),
        "allow",
        files={"envs/dev/a.tf": instance("x", CPU, "  count = 1\n")},
    ),
    # --- Kubernetes: never skipped for a `{{` in a comment or the file's name
    Case(
        "k8s-braces-in-comment",
        write("k8s/pod.yaml", "# rendered from {{ chart }}\n" + PRIVILEGED_POD),
        "deny",
        rule="k8s-privileged-container",
    ),
    Case("k8s-values-yaml-manifest", write("k8s/values.yaml", PRIVILEGED_POD), "deny", rule="k8s-privileged-container"),
    Case("helm-values-allowed", write("chart/values.yaml", "image: nginx\nreplicas: 2\n"), "allow"),
    Case(
        "helm-template-judged",
        write("chart/templates/pod.yaml", HELM_PRIVILEGED),
        "deny",
        rule="k8s-privileged-container",
    ),
    Case(
        "helm-template-unreadable",
        write(
            "chart/templates/x.yaml", "apiVersion: v1\nkind: Pod\n{{ range .Values.x }}\n- a: [\n{{ end }}\n  b: {\n"
        ),
        "deny",
        reason="cannot be read",
    ),
    Case("yaml-invalid", write("k8s/broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: [\n"), "deny"),
    Case(
        "cloudformation-tags-allowed",
        write(
            "cfn/stack.yaml",
            "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Ref Name\n",
        ),
        "allow",
    ),
    Case(
        "mkdocs-python-tag-allowed",
        write(
            "mkdocs.yml",
            "markdown_extensions:\n  - pymdownx.emoji:\n"
            "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n",
        ),
        "allow",
    ),
    Case(
        "helm-template-not-a-manifest",
        write("chart/templates/NOTES.txt.yaml", "{{ range .x }}\n- [\n{{ end }}\n"),
        "allow",
    ),
    Case("plain-json-allowed", write("package.json", '{"name": "x"}'), "allow"),
    Case(
        "k8s-json-manifest",
        write("k8s/pod.json", json.dumps(yaml.safe_load(PRIVILEGED_POD))),
        "deny",
        rule="k8s-privileged-container",
    ),
    # --- Claude's Edit, as Claude applies it
    Case(
        "edit-curly-old-string-gpu",
        edit("envs/dev/main.tf", "instance_type = \u201cm6i.large\u201d", 'instance_type = "p4d.24xlarge"'),
        "deny",
        rule="gpu-instance-outside-production",
        files={"envs/dev/main.tf": instance("web")},
    ),
    Case(
        "edit-curly-old-string-cpu",
        edit("envs/dev/main.tf", "instance_type = \u201cm6i.large\u201d", 'instance_type = "m6i.xlarge"'),
        "allow",
        files={"envs/dev/main.tf": instance("web")},
    ),
    Case(
        "edit-not-found-iac",
        edit("envs/dev/main.tf", "instance_type = nothing-like-this", GPU),
        "deny",
        reason="not found",
        files={"envs/dev/main.tf": instance("web")},
    ),
    Case("edit-not-found-other", edit("notes.md", "absent", "x"), "allow", files={"notes.md": "hello\n"}),
    Case(
        "edit-ambiguous-iac",
        edit("envs/dev/main.tf", CPU, GPU),
        "deny",
        reason="more than once",
        files={"envs/dev/main.tf": instance("a") + instance("b")},
    ),
    Case(
        "edit-replace-all-gpu",
        edit("envs/dev/main.tf", CPU, GPU, replace_all=True),
        "deny",
        rule="gpu-instance-outside-production",
        files={"envs/dev/main.tf": instance("a") + instance("b")},
    ),
    Case(
        "edit-crlf-file",
        edit("envs/dev/main.tf", "m6i.large", "p4d.24xlarge"),
        "deny",
        files={"envs/dev/main.tf": instance("web").replace("\n", "\r\n")},
    ),
]


def gatekeeper(root: Path) -> Gatekeeper:
    return Gatekeeper(root, load_book(root, []))


def run_case(root: Path, case: Case) -> Decision:
    for rel, text in case.files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode())
    payload = json.loads(json.dumps(case.payload))
    tool_input = payload["tool_input"]
    if "file_path" in tool_input:
        tool_input["file_path"] = str(root / tool_input["file_path"])
    payload["cwd"] = str(root)
    return gatekeeper(root).decide(payload, "codex" if payload["tool_name"] == "apply_patch" else "claude")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_preview_case(tmp_path: Path, case: Case) -> None:
    decision = run_case(tmp_path, case)
    assert decision.decision == case.decision, decision.reason
    if case.rule:
        assert case.rule in {f.rule_id for f in decision.findings}, decision.reason
    if case.reason:
        assert case.reason in decision.reason


def test_a_deny_for_an_unreadable_file_names_the_file_and_line(tmp_path: Path) -> None:
    decision = run_case(tmp_path, next(c for c in CASES if c.id == "tf-garbage"))
    assert "envs/dev/bad.tf:" in decision.reason and "fail closed" in decision.reason


def test_a_fail_closed_deny_still_names_the_rules_that_object(tmp_path: Path) -> None:
    decision = run_case(tmp_path, Case("broken-policy", write("policies/x.yaml", "apiVersion: v1\nkind: [\n"), "deny"))
    assert decision.decision == "deny"
    assert "fail closed" in decision.reason and "tool-write-protected-path" in decision.reason


def big_file(blocks: int) -> str:
    return "".join(
        instance(f"web{i}", CPU, f'  tags = {{\n    Name = "web-{i}"\n    Team = "platform"\n  }}\n') + "\n"
        for i in range(blocks)
    )


def test_large_file_judges_the_changed_block(tmp_path: Path) -> None:
    text = big_file(2000)
    assert len(text) > 250_000
    target = tmp_path / "envs" / "dev" / "big.tf"
    target.parent.mkdir(parents=True)
    target.write_text(text)
    keeper = gatekeeper(tmp_path)
    gpu = text.replace('"web1234" {\n  ami = "ami-1"\n' + CPU, '"web1234" {\n  ami = "ami-1"\n' + GPU)
    denied = keeper.decide(write(str(target), gpu), "claude")
    assert denied.decision == "deny"
    [finding] = [f for f in denied.findings if f.rule_id == "gpu-instance-outside-production"]
    assert "aws_instance.web1234" in finding.message
    assert finding.location.start_line == text[: text.index('"web1234"')].count("\n") + 1
    renamed = text.replace('"web7" {', '"web7b" {')  # a create and a delete, both judged
    assert keeper.decide(write(str(target), renamed), "claude").decision == "allow"
    broken = text.replace('"web99" {\n  ami = "ami-1"\n', '"web99" {\n  ami = \n')
    assert keeper.decide(write(str(target), broken), "claude").decision == "deny"
    # a change outside resource blocks (locals, variables) is judged on the whole file
    with_locals = "locals {\n  t = 1\n}\n\n" + gpu
    target.write_text("locals {\n  t = 0\n}\n\n" + text)
    assert keeper.decide(write(str(target), with_locals), "claude").decision == "deny"


def gate_binary(root: Path, payload: dict[str, Any], *args: str) -> dict[str, Any]:
    payload = {**payload, "cwd": str(root), "hook_event_name": "PreToolUse"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTCTL_GATE")}
    env["AGENTCTL_GATE_SERVER"] = "off"
    proc = subprocess.run(
        [agentctl_binary(), "gate", *args],
        input=json.dumps(payload),
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["hookSpecificOutput"] if proc.stdout.strip() else {}


def test_binary_denies_an_unreadable_tf_json_gpu_write(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    body = json.dumps({"resource": {"aws_instance": {"t": {"instance_type": "g5.12xlarge"}}}})
    answer = gate_binary(tmp_path, write(str(tmp_path / "envs/dev/gpu.tf.json"), body))
    assert answer["permissionDecision"] == "deny"


def test_binary_judges_a_curly_quote_edit_on_the_real_content(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    target = tmp_path / "envs" / "dev" / "main.tf"
    target.parent.mkdir(parents=True)
    target.write_text(instance("web"))
    payload = edit(str(target), "instance_type = \u201cm6i.large\u201d", 'instance_type = "g5.12xlarge"')
    answer = gate_binary(tmp_path, payload)
    assert answer["permissionDecision"] == "deny"
    assert "gpu-instance-outside-production" in answer["permissionDecisionReason"]


def test_claude_quote_normalisation_both_ways() -> None:
    from agentctl.gate.edit import EditError, after

    curly_file = "msg = \u201chello\u201d\nnote = \u2018it\u2019s\u2019\n"
    # straight quotes in old_string match curly ones in the file; new_string takes the file's style
    assert after("Edit", {"old_string": 'msg = "hello"', "new_string": 'msg = "bye"'}, curly_file).startswith(
        "msg = \u201cbye\u201d\n"
    )
    assert after("Edit", {"old_string": "it's'", "new_string": "'tis'"}, curly_file).endswith("\u2018tis\u2019\n")
    # curly quotes in old_string match straight ones; the file's straight style stays
    assert after("Edit", {"old_string": "a = \u201cx\u201d", "new_string": 'a = "y"'}, 'a = "x"\n') == 'a = "y"\n'
    # deleting a line takes its newline; CRLF is read as LF
    assert after("Edit", {"old_string": "b = 2", "new_string": ""}, "a = 1\r\nb = 2\r\nc = 3\r\n") == "a = 1\nc = 3\n"
    with pytest.raises(EditError):
        after("Edit", {"old_string": "zzz", "new_string": "y"}, "a\n")


def test_a_rule_about_neighbouring_resources_is_left_to_the_full_check(tmp_path: Path) -> None:
    """The preview sees one write, not the configuration: "no public access block" would be a guess."""
    bucket = 'resource "aws_s3_bucket" "logs" {\n  bucket = "acme-logs"\n}\n'
    decision = gatekeeper(tmp_path).decide_raw(json.dumps(write(str(tmp_path / "s3.tf"), bucket)), "claude")
    assert "aws-s3-no-public-access-block" not in {f.rule_id for f in decision.findings}
