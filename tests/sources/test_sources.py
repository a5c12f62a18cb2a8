"""Sources normalise HCL, plan JSON and Kubernetes YAML into one model, with lines."""

from __future__ import annotations

import json
from pathlib import Path

from agentctl.model.common import ChangeKind, Target
from agentctl.sources import kubernetes, plan, terraform
from agentctl.sources.files import FileKind, SourceFile
from agentctl.sources.loader import ParseCache, parse_all
from agentctl.sources.yamldoc import load_documents


def test_hcl_blocks_become_lists_and_lines_are_kept() -> None:
    parsed = terraform.parse(
        "mod/main.tf",
        'variable "x" {}\n\nresource "aws_security_group" "web" {\n  ingress {\n    from_port = 22\n  }\n}\n'
        'data "aws_iam_policy_document" "d" {\n}\nmodule "vpc" {\n  source = "./vpc"\n}\n',
    )
    assert not parsed.issues
    sg, doc, mod = parsed.resources
    assert (sg.address, sg.location.start_line, sg.location.end_line) == ("aws_security_group.web", 3, 7)
    assert sg.attributes == {"ingress": [{"from_port": 22}]}
    assert sg.key == "tf:mod:aws_security_group.web"
    assert doc.address == "data.aws_iam_policy_document.d"
    assert (mod.type, mod.address, mod.attributes["source"]) == ("module", "module.vpc", "./vpc")


def test_plan_entries_carry_before_after_and_action(corpus: Path) -> None:
    parsed = plan.parse("p.json", (corpus / "terraform-plans" / "updates.json").read_text())
    assert not parsed.issues and parsed.resources
    updates = [r for r in parsed.resources if r.plan_change is ChangeKind.UPDATE]
    assert updates and all(r.plan_before is not None for r in updates)
    first = updates[0]
    assert first.attributes != first.plan_before
    assert first.location.start_line > 1


def test_plan_corpus_parses_without_issues(corpus: Path) -> None:
    for name in ("aws-55-creates.json", "nested-modules.json", "after-unknown.json", "iam-policies.json"):
        parsed = plan.parse(name, (corpus / "terraform-plans" / name).read_text())
        assert not parsed.issues, name
        assert parsed.resources, name
    nested = plan.parse("n.json", (corpus / "terraform-plans" / "nested-modules.json").read_text())
    assert any(r.address.startswith("module.") for r in nested.resources)


def test_plan_delete_keeps_the_old_values() -> None:
    text = json.dumps(
        {
            "format_version": "1.2",
            "resource_changes": [
                {
                    "address": "aws_s3_bucket.old",
                    "type": "aws_s3_bucket",
                    "change": {"actions": ["delete"], "before": {"bucket": "b"}, "after": None},
                }
            ],
        },
        indent=2,
    )
    [resource] = plan.parse("p.json", text).resources
    assert resource.plan_change is ChangeKind.DELETE
    assert resource.attributes == {"bucket": "b"}
    assert resource.location.start_line == 5  # the line of its "address"


def test_kubernetes_documents_have_their_own_lines() -> None:
    text = (
        "# header\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n  namespace: ns\n"
    )
    parsed = kubernetes.parse("k.yaml", text)
    service, pod = parsed.resources
    assert (service.address, service.location.start_line) == ("Service/a", 2)
    assert (pod.address, pod.location.start_line, pod.location.end_line) == ("Pod/ns/b", 7, 11)
    assert pod.target is Target.KUBERNETES


def test_non_manifests_are_skipped_with_a_note() -> None:
    assert kubernetes.parse("charts/x/templates/d.yaml", "kind: {{ .Values.k }}\n").notes
    assert kubernetes.parse("kustomization.yaml", "resources: [a.yaml]\n").notes
    assert kubernetes.parse(".gitlab-ci.yml", "test:\n  script: [make]\n").notes
    note = kubernetes.parse("ci/config.yml", "jobs:\n  a: 1\n").notes[0]
    assert "no apiVersion/kind" in note.message


def test_yaml_line_index_and_merge_keys() -> None:
    [doc] = load_documents("base: &b {x: 1}\nitem:\n  <<: *b\n  y: 2\n")
    assert doc.value["item"] == {"x": 1, "y": 2}
    assert doc.line_of(("item", "y")) == 4
    assert doc.line_of(("item", "missing")) == 2


def test_parse_cache_returns_identical_results_and_survives_corruption(tmp_path: Path) -> None:
    from agentctl.sources.evaluation import evaluate_terraform

    source = SourceFile("main.tf", FileKind.TERRAFORM, b'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n')
    cache = ParseCache(tmp_path)

    def resources() -> list[object]:
        parsed = parse_all([source], cache)
        evaluate_terraform(parsed, (), cache)
        return list(parsed[0].resources)

    cold = resources()
    assert cold and len(list(tmp_path.glob("*.tree.json"))) == 1 and len(list(tmp_path.glob("eval-*.json"))) == 1
    assert resources() == cold
    for entry in tmp_path.glob("*.json"):
        entry.write_text("{not json")
    assert resources() == cold


def test_every_corpus_file_parses_into_the_blocks_python_hcl2_sees(corpus: Path) -> None:
    """python-hcl2 as an oracle: the same top-level blocks, with the same labels and lines."""
    import hcl2

    from agentctl.sources.terraform import hcl

    for path in sorted(corpus.rglob("*.tf")):
        text = path.read_text()
        body, errors = hcl.parse(text)
        assert not errors, (path, errors)
        ours = sorted((i[1], tuple(i[2]), i[4]) for i in body if i[0] == "b")
        theirs = []
        for kind, entries in hcl2.loads(text, with_meta=True).items():  # type: ignore[attr-defined]
            for entry in entries:
                if kind == "locals":
                    theirs.append((kind, (), entry["__start_line__"]))
                    continue
                depth = {"resource": 2, "data": 2, "variable": 1, "output": 1, "module": 1, "provider": 1}.get(kind, 0)
                theirs.extend(_labelled(kind, entry, depth, ()))
        assert ours == sorted(theirs), path


def _labelled(kind: str, entry: dict, depth: int, labels: tuple[str, ...]) -> list[tuple[str, tuple[str, ...], int]]:
    if depth == 0:
        return [(kind, labels, entry["__start_line__"])]
    return [r for label, inner in entry.items() for r in _labelled(kind, inner, depth - 1, (*labels, label))]


def test_a_heredoc_holding_block_like_lines_stays_one_string() -> None:
    policy = '}\nresource "looks" "like_a_block" {\n'
    filler = "".join(f'resource "null_resource" "n{i}" {{\n  triggers = {{ a = "{i}" }}\n}}\n\n' for i in range(200))
    text = filler + f'resource "aws_iam_policy" "p" {{\n  policy = <<EOF\n{policy}EOF\n}}\n'
    parsed = terraform.parse("main.tf", text)
    assert not parsed.issues
    [iam] = [r for r in parsed.resources if r.type == "aws_iam_policy"]
    assert "like_a_block" in iam.attributes["policy"]
    assert not [r for r in parsed.resources if r.type == "looks"]
    assert iam.location.start_line == text.splitlines().index('resource "aws_iam_policy" "p" {') + 1


def test_repeated_and_quoted_scalars_resolve_as_the_safe_loader_does() -> None:
    """Plain scalars are resolved once per document and reused; quoted ones are strings, as with yaml.safe_load."""
    import yaml

    text = (
        "a: [yes, 'yes', \"yes\", yes, 12, '12', 12, ~, null, '~', on, 'on', 1.5, !!str 7, 0x1f, '0x1f', 0x1f]\n"
        "b: [{name: x, paths: ['x/**']}, {name: y, paths: [\"y/**\"]}, {name: 'no', paths: [no]}]\n"
    )
    [doc] = load_documents(text)
    assert doc.value == yaml.safe_load(text)
    assert doc.value["a"][:4] == [True, "yes", "yes", True] and doc.value["b"][2] == {"name": "no", "paths": [False]}
