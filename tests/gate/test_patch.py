"""Codex patches are read and applied with Codex's own semantics; what does not apply is denied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentctl.gate import patch
from agentctl.gate.decide import Gatekeeper, load_book

MAIN_TF = """variable "size" {
  default = 2
}

resource "aws_instance" "web" {
  ami           = "ami-1"
  instance_type = "m6i.large"
}

resource "aws_instance" "worker" {
  ami           = "ami-1"
  instance_type = "m6i.large"
}
"""


def applied(original: str, text: str) -> str:
    [hunk] = patch.parse(text)
    return patch.apply(original, hunk.chunks, hunk.path)


def test_at_at_anchor_selects_the_block_after_it() -> None:
    text = (
        "*** Begin Patch\n*** Update File: main.tf\n"
        '@@ resource "aws_instance" "worker" {\n'
        '-  instance_type = "m6i.large"\n+  instance_type = "p4d.24xlarge"\n*** End Patch'
    )
    result = applied(MAIN_TF, text)
    assert result.count("p4d.24xlarge") == 1
    assert result.index("p4d.24xlarge") > result.index('"worker"')


def test_def_anchor_and_several_chunks() -> None:
    source = "def foo():\n    return 1\n\ndef bar():\n    return 1\n"
    text = "*** Begin Patch\n*** Update File: a.py\n@@ def bar():\n-    return 1\n+    return 2\n*** End Patch\n"
    assert applied(source, text) == "def foo():\n    return 1\n\ndef bar():\n    return 2\n"


def test_headers_are_whitespace_tolerant() -> None:
    text = (
        "  *** Begin Patch  \n  *** Update File: main.tf\n"
        '@@\n-  ami           = "ami-1"\n+  ami = "ami-2"\n *** End Patch \n'
    )
    [hunk] = patch.parse(text)
    assert hunk.action == "update" and hunk.path == "main.tf"
    assert 'ami = "ami-2"' in patch.apply(MAIN_TF, hunk.chunks, hunk.path)


def test_end_of_file_anchors_at_the_end() -> None:
    source = "x = 1\ny = 2\nx = 1\n"
    text = "*** Begin Patch\n*** Update File: f\n@@\n-x = 1\n+x = 9\n*** End of File\n*** End Patch"
    assert applied(source, text) == "x = 1\ny = 2\nx = 9\n"


def test_unicode_punctuation_is_folded_when_seeking() -> None:
    source = "# the \u201cweb\u201d tier \u2014 keep it small\nsize = 2\n"
    text = (
        "*** Begin Patch\n*** Update File: f\n"
        '@@\n-# the "web" tier - keep it small\n-size = 2\n+size = 60\n*** End Patch'
    )
    assert applied(source, text) == "size = 60\n"


def test_whitespace_levels_of_seek_sequence() -> None:
    lines = ["  a  ", "b\t"]
    assert patch.seek(lines, ["  a", "b"], 0, False) == 0  # trailing whitespace ignored
    assert patch.seek(lines, ["a", "b"], 0, False) == 0  # surrounding whitespace ignored
    assert patch.seek(lines, ["c"], 0, False) is None


def test_pure_addition_appends_and_result_ends_with_newline() -> None:
    text = "*** Begin Patch\n*** Update File: f\n@@\n+z = 3\n*** End Patch"
    assert applied("x = 1", text) == "x = 1\nz = 3\n"


def test_heredoc_wrapper_and_move() -> None:
    text = "<<'EOF'\n*** Begin Patch\n*** Update File: a.tf\n*** Move to: b.tf\n@@\n-x\n+y\n*** End Patch\nEOF"
    [hunk] = patch.parse(text)
    assert hunk.move_to == "b.tf" and hunk.chunks[0].old == ["x"]


@pytest.mark.parametrize(
    "text",
    [
        "*** Update File: f\n@@\n-x\n+y\n*** End Patch",  # no Begin Patch
        "*** Begin Patch\n*** Update File: f\n@@\n-x\n+y\n",  # no End Patch
        "*** Begin Patch\n*** Frobnicate File: f\n*** End Patch",
        "*** Begin Patch\n*** Update File: f\n*** End Patch",  # empty update
        "*** Begin Patch\n*** Update File: f\n@@\n-x\n+y\n@@\n?z\n*** End Patch",
    ],
)
def test_malformed_patches_raise(text: str) -> None:
    with pytest.raises(patch.PatchError):
        for hunk in patch.parse(text):
            if hunk.action == "update":
                patch.apply("x\n", hunk.chunks, hunk.path)


def test_shell_heredoc_is_found() -> None:
    body = "*** Begin Patch\n*** Add File: a.tf\n+x\n*** End Patch"
    assert patch.from_shell(f"apply_patch <<'EOF'\n{body}\nEOF\n") == ([(body, None)], False)
    assert patch.from_shell(f'cd envs/dev && apply_patch <<"PATCH"\n{body}\nPATCH') == ([(body, "envs/dev")], False)
    assert patch.from_shell(["apply_patch", body]) == ([(body, None)], False)
    assert patch.from_shell(["bash", "-lc", f"apply_patch <<EOF\n{body}\nEOF"]) == ([(body, None)], False)
    two = f"apply_patch <<'A'\n{body}\nA\napply_patch <<'B'\n{body}\nB\n"
    assert patch.from_shell(two) == ([(body, None), (body, None)], False)
    assert patch.from_shell("grep -r apply_patch docs/") == ([], False)  # a mention is not a run


@pytest.mark.parametrize(
    "command",
    [
        "apply_patch < change.patch",
        "cat p | apply_patch",
        'apply_patch "$(cat p)"',
        "/usr/local/bin/apply_patch",
        ["apply_patch"],
    ],
)
def test_an_apply_patch_whose_patch_is_unseen_is_flagged(command: str | list[str]) -> None:
    assert patch.from_shell(command)[1] is True


# ---------------------------------------------------------------- through the gate


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "envs" / "dev").mkdir(parents=True)
    (tmp_path / "envs" / "dev" / "main.tf").write_text(MAIN_TF)
    return tmp_path


def decide(root: Path, tool: str, tool_input: dict[str, Any]) -> Any:
    keeper = Gatekeeper(root, load_book(root, []))
    return keeper.decide({"tool_name": tool, "tool_input": tool_input, "cwd": str(root)}, "codex")


GPU_ANCHOR = (
    "*** Begin Patch\n*** Update File: envs/dev/main.tf\n"
    '@@ resource "aws_instance" "worker" {\n'
    '-  instance_type = "m6i.large"\n+  instance_type = "p4d.24xlarge"\n*** End Patch\n'
)

GPU_EOF = (
    "*** Begin Patch\n*** Update File: envs/dev/main.tf\n@@\n"
    '-  instance_type = "m6i.large"\n-}\n+  instance_type = "p4d.24xlarge"\n+}\n*** End of File\n*** End Patch\n'
)


@pytest.mark.parametrize(
    ("text", "decision", "needle"),
    [
        (GPU_ANCHOR, "deny", "aws_instance.worker"),
        (GPU_ANCHOR.replace("p4d.24xlarge", "m6i.xlarge"), "allow", ""),
        (" " + GPU_ANCHOR.replace("*** Update", "   *** Update"), "deny", "gpu-instance-outside-production"),
        (GPU_EOF, "deny", "aws_instance.worker"),
        (
            GPU_ANCHOR.replace('"aws_instance" "worker"', "\u201caws_instance\u201d \u201cworker\u201d"),
            "deny",
            "gpu-instance-outside",
        ),
        (GPU_ANCHOR.replace("m6i.large", "t3.nano"), "deny", "cannot be applied exactly"),  # does not apply
        (GPU_ANCHOR.replace("*** End Patch\n", ""), "deny", "End Patch"),
        (GPU_ANCHOR.replace("envs/dev/main.tf", "envs/dev/missing.tf"), "deny", "no such file"),
    ],
    ids=[
        "anchor-gpu",
        "anchor-cpu",
        "leading-space-headers",
        "eof-marker",
        "curly-anchor",
        "no-match",
        "no-end",
        "missing",
    ],
)
def test_codex_patch_through_the_gate(repo: Path, text: str, decision: str, needle: str) -> None:
    result = decide(repo, "apply_patch", {"command": text})
    assert result.decision == decision, result.reason
    assert needle in result.reason


def test_heredoc_through_exec_command_is_judged_as_the_patch(repo: Path) -> None:
    gpu = decide(repo, "exec_command", {"cmd": f"apply_patch <<'EOF'\n{GPU_ANCHOR}EOF\n"})
    assert gpu.decision == "deny" and "gpu-instance-outside-production" in gpu.reason
    in_dir = GPU_ANCHOR.replace("envs/dev/main.tf", "main.tf")
    assert (
        decide(repo, "exec_command", {"cmd": f"cd envs/dev && apply_patch <<'EOF'\n{in_dir}EOF\n"}).decision == "deny"
    )
    cpu = GPU_ANCHOR.replace("p4d.24xlarge", "m6i.xlarge")
    assert decide(repo, "shell", {"command": ["bash", "-lc", f"apply_patch <<'EOF'\n{cpu}EOF\n"]}).decision == "allow"
    protected = "*** Begin Patch\n*** Add File: policies/allow.yaml\n+rules: []\n*** End Patch\n"
    denied = decide(repo, "exec_command", {"cmd": f"apply_patch <<'EOF'\n{protected}EOF\n"})
    assert denied.decision == "deny" and "tool-write-protected-path" in denied.reason
    unseen = decide(repo, "exec_command", {"cmd": "cat change.patch | apply_patch"})
    assert unseen.decision == "deny" and "cannot see" in unseen.reason
    harmless = "apply_patch <<'A'\n*** Begin Patch\n*** Add File: notes.md\n+hello\n*** End Patch\nA\n"
    second = decide(repo, "exec_command", {"cmd": f"{harmless}apply_patch <<'B'\n{GPU_ANCHOR}B\n"})
    assert second.decision == "deny" and "gpu-instance-outside-production" in second.reason
    assert decide(repo, "exec_command", {"cmd": "grep -rn apply_patch docs/"}).decision == "allow"


def test_sequential_hunks_on_one_file_compose(repo: Path) -> None:
    text = (
        "*** Begin Patch\n*** Update File: envs/dev/main.tf\n@@\n-  default = 2\n+  default = 3\n"
        '*** Update File: envs/dev/main.tf\n@@ resource "aws_instance" "web" {\n'
        '-  instance_type = "m6i.large"\n+  instance_type = "g5.xlarge"\n*** End Patch\n'
    )
    result = decide(repo, "apply_patch", {"command": text})
    assert result.decision == "deny" and "aws_instance.web" in result.reason
