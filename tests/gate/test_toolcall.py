"""Normalising hook payloads: resolved paths, the content a write would leave, IaC previews."""

from __future__ import annotations

from pathlib import Path

from agentctl.gate.decide import Gatekeeper, load_book
from agentctl.gate.toolcall import normalise

PATCH_UPDATE = """*** Begin Patch
*** Update File: envs/dev/main.tf
@@
 resource "aws_instance" "web" {
-  instance_type = "m6i.large"
+  instance_type = "g5.12xlarge"
 }
*** End Patch
"""


def test_dotdot_and_symlinks_are_resolved(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "sub" / "link").symlink_to(outside)
    sneaky = normalise(
        {"tool_name": "Write", "tool_input": {"file_path": "sub/../sub/link/x.tf", "content": ""}, "cwd": str(root)},
        "claude",
        root,
    )
    assert sneaky.outside_repo and sneaky.paths == [str(outside / "x.tf")]
    inside = normalise(
        {"tool_name": "Read", "tool_input": {"file_path": str(root / "sub" / ".." / "a.txt")}}, "claude", root
    )
    assert inside.paths == ["a.txt"] and not inside.outside_repo


def test_edit_and_patch_build_the_new_content(tmp_path: Path) -> None:
    (tmp_path / "envs" / "dev").mkdir(parents=True)
    target = tmp_path / "envs" / "dev" / "main.tf"
    target.write_text('resource "aws_instance" "web" {\n  instance_type = "m6i.large"\n}\n')
    edit = normalise(
        {
            "tool_name": "Edit",
            "tool_input": {"file_path": str(target), "old_string": "m6i.large", "new_string": "p5.48xlarge"},
        },
        "claude",
        tmp_path,
    )
    assert edit.writes[0].content is not None and "p5.48xlarge" in edit.writes[0].content
    patch = normalise(
        {"tool_name": "apply_patch", "tool_input": {"command": PATCH_UPDATE}, "cwd": str(tmp_path)}, "codex", tmp_path
    )
    assert patch.paths == ["envs/dev/main.tf"]
    assert patch.writes[0].content == 'resource "aws_instance" "web" {\n  instance_type = "g5.12xlarge"\n}\n'


def test_iac_preview_judges_the_change_not_the_snapshot(tmp_path: Path) -> None:
    (tmp_path / "envs" / "dev").mkdir(parents=True)
    target = tmp_path / "envs" / "dev" / "asg.tf"
    target.write_text('resource "aws_autoscaling_group" "w" {\n  max_size = 4\n  desired_capacity = 2\n}\n')
    keeper = Gatekeeper(tmp_path, load_book(tmp_path, []))
    tripled = keeper.decide(
        {
            "tool_name": "Edit",
            "tool_input": {
                "file_path": str(target),
                "old_string": "desired_capacity = 2",
                "new_string": "desired_capacity = 6",
            },
        },
        "claude",
    )
    assert tripled.decision == "deny"
    assert [f.rule_id for f in tripled.findings] == ["scale-jump"]
    small = keeper.decide(
        {
            "tool_name": "Edit",
            "tool_input": {
                "file_path": str(target),
                "old_string": "desired_capacity = 2",
                "new_string": "desired_capacity = 3",
            },
        },
        "claude",
    )
    assert small.decision == "allow"
