"""``agentctl init``: scaffolds once, is idempotent, never clobbers a user's file."""

from __future__ import annotations

from agentctl.scaffold.init import template
from tests.conftest import REPO_ROOT, GitRepo


def test_init_scaffolds_and_prints_snippets(repo: GitRepo, agentctl) -> None:
    result = agentctl("init", cwd=repo.root)
    assert result.code == 0, result.stderr
    assert (repo.root / "policies" / "team.yaml").read_text() == template("starter-policy.yaml")
    assert ".agentctl/" in (repo.root / ".gitignore").read_text().splitlines()
    for marker in ("repo: https://github.com/agentctl/agentctl", "uses: agentctl/agentctl@v0", "agentctl-check:"):
        assert marker in result.stdout
    assert not (repo.root / ".github").exists()  # printed, not written
    # the starter policy is valid and used by check
    check = agentctl("check", "--format", "json", cwd=repo.root)
    assert check.code == 0, check.stderr


def test_init_is_idempotent_and_never_overwrites_without_force(repo: GitRepo, agentctl) -> None:
    (repo.root / ".gitignore").write_text("node_modules/")
    assert agentctl("init", "--write", cwd=repo.root).code == 0
    assert (repo.root / ".gitignore").read_text() == "node_modules/\n# agentctl's run store and caches\n.agentctl/\n"
    written = {p: (repo.root / p).read_text() for p in (".github/workflows/agentctl.yml", ".gitlab/agentctl.yml")}

    second = agentctl("init", "--write", cwd=repo.root)
    assert "created" not in second.stderr and "updated" not in second.stderr
    assert (repo.root / ".gitignore").read_text().count(".agentctl/") == 1

    (repo.root / "policies" / "team.yaml").write_text("# mine\n")
    (repo.root / ".pre-commit-config.yaml").write_text("repos: []\n")
    third = agentctl("init", "--write", cwd=repo.root)
    assert third.code == 0
    assert (repo.root / "policies" / "team.yaml").read_text() == "# mine\n"
    assert (repo.root / ".pre-commit-config.yaml").read_text() == "repos: []\n"
    assert "--force" in third.stderr
    for path, text in written.items():
        assert (repo.root / path).read_text() == text

    forced = agentctl("init", "--write", "--force", cwd=repo.root)
    assert "overwritten policies/team.yaml" in forced.stderr
    assert (repo.root / ".pre-commit-config.yaml").read_text() == template("pre-commit-config.yaml")


def test_existing_policies_are_left_alone(repo: GitRepo, agentctl) -> None:
    (repo.root / "policies").mkdir()
    (repo.root / "policies" / "ours.yaml").write_text("# existing\n")
    result = agentctl("init", cwd=repo.root)
    assert "already has policy files" in result.stderr
    assert not (repo.root / "policies" / "team.yaml").exists()


def test_repository_copies_match_the_scaffold_templates() -> None:
    assert (REPO_ROOT / "templates" / "gitlab-ci.yml").read_text() == template("gitlab-ci.yml")
    assert (REPO_ROOT / "examples" / "github-workflow.yml").read_text() == template("github-workflow.yml")
