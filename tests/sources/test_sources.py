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
    source = SourceFile("main.tf", FileKind.TERRAFORM, b'resource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n')
    cache = ParseCache(tmp_path)
    [cold] = parse_all([source], cache)
    entries = list(tmp_path.glob("*.json"))
    assert len(entries) == 1
    [warm] = parse_all([source], cache)
    assert warm.resources == cold.resources
    entries[0].write_text("{not json")
    [again] = parse_all([source], cache)
    assert again.resources == cold.resources


def test_block_by_block_parse_equals_whole_file_parse(corpus: Path) -> None:
    from agentctl.sources.loader import _whole

    split_files = 0
    for path in sorted(corpus.rglob("*.tf")):
        text = path.read_text()
        if len(terraform.chunks(text)) > 1:
            split_files += 1
        whole = _whole("x/main.tf", text)
        chunked = terraform.parse("x/main.tf", text)
        assert chunked.resources == whole.resources, path
        assert chunked.issues == whole.issues, path
    assert split_files >= 5  # the corpus has large files that do get split


def test_a_heredoc_that_breaks_the_block_split_falls_back_to_a_whole_parse() -> None:
    policy = '}\nresource "looks" "like_a_block" {\n'  # heredoc lines that fool the splitter
    filler = "".join(f'resource "null_resource" "n{i}" {{\n  triggers = {{ a = "{i}" }}\n}}\n\n' for i in range(200))
    text = filler + f'resource "aws_iam_policy" "p" {{\n  policy = <<EOF\n{policy}EOF\n}}\n'
    assert len(terraform.chunks(text)) > 1
    parsed = terraform.parse("main.tf", text)
    assert not parsed.issues
    [iam] = [r for r in parsed.resources if r.type == "aws_iam_policy"]
    assert "like_a_block" in iam.attributes["policy"]
    assert not [r for r in parsed.resources if r.type == "looks"]
    assert iam.location.start_line == text.splitlines().index('resource "aws_iam_policy" "p" {') + 1
