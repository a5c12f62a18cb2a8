"""The protected set and its fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentctl import protect


def test_protected_set_covers_policies_store_config_hooks_ci_and_installation(tmp_path: Path) -> None:
    root, home = tmp_path / "repo", tmp_path / "home"
    team = tmp_path / "team-policies"
    found = protect.protected_set(
        root, [team], home=home, codex_home=str(tmp_path / "codex"), extra_paths=["infra/keys"]
    )
    read_only = set(found.read_only)
    for path in (
        root / "policies",
        team,
        root / ".agentctl",
        root / "agentctl.yaml",
        root / ".git/hooks",
        root / ".git/config",
        root / ".github/workflows",
        root / ".gitlab-ci.yml",
        root / ".gitlab",
        root / ".github/actions",
        root / ".circleci",
        root / "Jenkinsfile",
        root / ".husky",
        root / ".envrc",
        root / ".claude",
        root / ".mcp.json",
        home / ".claude",
        home / ".codex",
        tmp_path / "codex",
        root / "infra/keys",
    ):
        assert path in read_only, path
    assert found.installation and set(found.installation) <= read_only
    assert not set(found.installation) & set(found.watched)
    assert root / protect.STORE_KEY in found.hidden
    assert home / ".aws" in found.hidden and home / ".kube" in found.hidden
    assert "AWS_SECRET_ACCESS_KEY" in found.hidden_env and "KUBECONFIG" in found.hidden_env


def test_allow_credentials_opts_in_per_kind_and_rejects_unknown_kinds(tmp_path: Path) -> None:
    found = protect.protected_set(tmp_path, [], home=tmp_path / "h", allow_credentials=["kube"])
    assert tmp_path / "h" / ".kube" not in found.hidden
    assert "KUBECONFIG" not in found.hidden_env and "VAULT_TOKEN" in found.hidden_env
    with pytest.raises(ValueError, match="unknown credential kind"):
        protect.protected_set(tmp_path, [], allow_credentials=["awss"])


def test_fingerprint_sees_content_changes_even_with_the_mtime_restored(tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    rule = policies / "a.yaml"
    rule.write_text("rules: []\n")
    before = protect.fingerprint([policies, tmp_path / "missing"])
    stat = rule.stat()
    rule.write_text("rules: [x]\n")
    import os

    os.utime(rule, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = protect.fingerprint([policies, tmp_path / "missing"])
    assert protect.changed(before, after) == [str(rule)]
    (tmp_path / "missing").write_text("new")
    assert str(tmp_path / "missing") in protect.changed(before, protect.fingerprint([policies, tmp_path / "missing"]))


def test_empty_placeholders_are_not_changes_but_anything_inside_them_is(tmp_path: Path) -> None:
    watched = [tmp_path / ".github" / "workflows", tmp_path / ".claude"]
    before = protect.fingerprint(watched)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)  # a concurrent run's mount point
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.local.json").touch()
    assert protect.changed(before, protect.fingerprint(watched)) == []
    (tmp_path / ".claude" / "settings.local.json").write_text('{"disableAllHooks": true}')
    (tmp_path / ".github" / "workflows" / "x.yml").write_text("on: push\n")
    found = protect.changed(before, protect.fingerprint(watched))
    assert str(tmp_path / ".claude" / "settings.local.json") in found
    assert str(tmp_path / ".github" / "workflows" / "x.yml") in found
