"""Tripwires: which tool uses count as bypasses, and which changes to the protected set are tamper.

Events are shaped as the real CLIs report them (see tests/agents for the live runs).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from agentctl.model.run import AgentEvent, EventKind
from agentctl.runner.tripwire import BypassWatch, ProtectWatch, watch_list
from tests.conftest import GitRepo


def claude_end(tool_id: str, ok: bool = True, output: str = "ok") -> AgentEvent:
    return AgentEvent(EventKind.TOOL_END, 0.0, raw_type="user/tool_result", tool_id=tool_id, ok=ok, tool_output=output)


def codex_item(kind: str, item_type: str, item_id: str, name: str) -> AgentEvent:
    event_kind = EventKind.TOOL_START if kind == "started" else EventKind.TOOL_END
    return AgentEvent(event_kind, 0.0, raw_type=f"item.{kind}/{item_type}", tool_id=item_id, tool_name=name)


def test_claude_result_without_decision_is_a_bypass_after_the_grace() -> None:
    watch = BypassWatch("claude", grace=3.0)
    watch.event(AgentEvent(EventKind.TOOL_START, 0.0, tool_id="toolu_1", tool_name="Bash"), now=10.0)
    watch.event(claude_end("toolu_1"), now=10.0)
    assert watch.due(12.0) is None  # the decision line may still be on its way
    breach = watch.due(13.5)
    assert breach is not None and breach.status == "gate_bypassed"
    assert breach.tool_name == "Bash" and breach.tool_id == "toolu_1" and "Bash" in breach.message


def test_claude_decision_arriving_after_the_result_is_fine() -> None:
    watch = BypassWatch("claude")
    watch.event(claude_end("toolu_1"), now=10.0)
    watch.decision("toolu_1", "Bash", "deny", now=10.5)
    assert watch.due(100.0) is None and watch.due(100.0, final=True) is None


def test_claude_results_for_tools_it_never_ran_need_no_decision() -> None:
    watch = BypassWatch("claude")
    watch.event(claude_end("toolu_1", False, "<tool_use_error>InputValidationError: …</tool_use_error>"), 0.0)
    watch.event(claude_end("toolu_2", False, "The user doesn't want to proceed with this tool use."), 0.0)
    assert watch.due(100.0, final=True) is None
    # a failing command did run: its error result still needs a decision
    watch.event(claude_end("toolu_3", False, "Exit code 1\n<tool_use_error>"), 0.0)
    assert watch.due(100.0, final=True) is not None


def test_codex_items_consume_one_allowed_decision_of_their_class() -> None:
    watch = BypassWatch("codex")
    watch.decision("call_1", "Bash", "allow", 0.0)
    watch.decision("call_2", "apply_patch", "allow", 0.0)
    watch.event(codex_item("started", "command_execution", "item_1", "exec_command"), 0.0)
    watch.event(codex_item("completed", "command_execution", "item_1", "exec_command"), 0.0)  # same item
    watch.event(codex_item("started", "file_change", "item_2", "apply_patch"), 0.0)
    watch.event(codex_item("completed", "web_search", "item_3", "web_search"), 0.0)  # runs at the provider
    assert watch.due(100.0, final=True) is None
    # a denied decision covers nothing: Codex reports no item for a call its hook denied
    watch.decision("call_3", "Bash", "deny", 0.0)
    watch.event(codex_item("started", "command_execution", "item_4", "exec_command"), 50.0)
    breach = watch.due(100.0)
    assert breach is not None and breach.tool_id == "item_4" and breach.tool_name == "exec_command"


def test_codex_decision_racing_behind_its_item_resolves_it() -> None:
    watch = BypassWatch("codex")
    watch.event(codex_item("started", "mcp_tool_call", "item_1", "mcp:docs/search"), 0.0)
    watch.decision("call_1", "mcp__docs__search", "allow", 0.5)
    assert watch.due(100.0, final=True) is None


def watch_for(root: Path, home: Path) -> ProtectWatch:
    return ProtectWatch(*watch_list(root, [root / "policies"], {"HOME": str(home)}, root / ".agentctl" / "agentctl.db"))


def setup(tmp_path: Path) -> tuple[Path, Path]:
    root, home = tmp_path / "repo", tmp_path / "home"
    (root / "policies").mkdir(parents=True)
    (root / "policies" / "base.yaml").write_text("rules: [a]\n")
    (root / ".agentctl").mkdir()
    (root / ".agentctl" / "agentctl.db").write_bytes(b"x")
    (home / ".claude" / "projects").mkdir(parents=True)
    (home / ".claude" / "settings.json").write_text("{}")
    (home / ".claude.json").write_text(json.dumps({"numStartups": 1, "projects": {}}))
    return root, home


def test_a_policy_rewrite_is_seen_even_with_size_and_mtime_restored(tmp_path: Path) -> None:
    root, home = setup(tmp_path)
    watch = watch_for(root, home)
    policy = root / "policies" / "base.yaml"
    info = policy.stat()
    policy.write_text("rules: [b]\n")  # same size
    os.utime(policy, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert watch.changed() == [str(policy)]


def test_agentctl_and_the_agents_own_state_are_not_tamper(tmp_path: Path) -> None:
    root, home = setup(tmp_path)
    watch = watch_for(root, home)
    (root / ".agentctl" / "agentctl.db").write_bytes(b"more rows")
    (root / ".agentctl" / "agentctl.db-wal").write_bytes(b"wal")
    (home / ".claude" / "projects" / "session.jsonl").write_text("{}\n")
    (home / ".claude.json").write_text(json.dumps({"numStartups": 2, "projects": {"/r": {"allowedTools": []}}}))
    assert watch.changed() == []
    assert watch.changed(final=True) == []


def test_agent_configuration_changes_are_tamper(tmp_path: Path) -> None:
    root, home = setup(tmp_path)
    watch = watch_for(root, home)
    (home / ".claude" / "settings.json").write_text(json.dumps({"disableAllHooks": True}))
    assert watch.changed() == [str(home / ".claude" / "settings.json")]
    watch = watch_for(root, home)
    grants = {"numStartups": 3, "projects": {"/r": {"mcpServers": {"evil": {"command": "sh"}}}}}
    (home / ".claude.json").write_text(json.dumps(grants))
    assert watch.changed() == [str(home / ".claude.json")]
    watch = watch_for(root, home)
    (root / ".claude").mkdir()
    (root / ".claude" / "settings.local.json").write_text("{}")
    assert str(root / ".claude" / "settings.local.json") in watch.changed()


def test_the_store_key_agentctl_creates_mid_run_is_watched_from_then_on(tmp_path: Path) -> None:
    root, home = setup(tmp_path)
    watch = watch_for(root, home)
    key = root / ".agentctl" / "store.key"
    key.write_text("ab" * 32)  # the store's first write of the run
    assert watch.changed() == []
    key.write_text("cd" * 32)
    assert watch.changed() == [str(key)]


def test_nested_repositories_and_repointed_git_plumbing_are_tamper(repo: GitRepo) -> None:
    """A nested repository's config runs in the user's next `git status`; commondir re-points git itself."""
    import subprocess

    from agentctl.runner.tripwire import GitWatch

    repo.write("README.md", "x\n")
    repo.commit("init")
    root = repo.root
    (root / "existing").mkdir()
    subprocess.run(["git", "init", "-q", str(root / "existing")], check=True)
    watch = GitWatch(root)
    (root / "notes.md").write_text("ordinary work\n")
    subprocess.run(["git", "-C", str(root), "add", "notes.md"], check=True)
    assert watch.changed() == []  # ordinary work, and a nested repository that was there before
    subprocess.run(["git", "init", "-q", str(root / "sub")], check=True)
    (root / "sub" / "a.txt").write_text("a\n")
    assert watch.changed() == ["sub (a nested git repository)"]
    (root / ".git" / "commondir").write_text("/tmp/elsewhere\n")
    assert str(root / ".git" / "commondir") in watch.changed()
