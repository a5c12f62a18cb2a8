"""Every built-in rule, against a fixture that must fail it and one that must pass it.

Fixtures live in ``tests/fixtures/rules/<rule-id>/``: ``fail.<ext>`` and
``pass.<ext>``; a ``*.before.<ext>`` file makes the case a git diff (BASE has
the before file; an absent after file means the change deleted it), and
``path.txt`` names where the file lives in the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agentctl.pipeline.check import CheckOptions, run_check
from agentctl.policy.loader import build, builtin_files
from tests.conftest import REPO_ROOT, GitRepo

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "rules"
BUILTIN_IDS = sorted(r.rule.id for r in build(builtin_files()).rules)


def run_hook_case(rule_dir: Path, case: str, root: Path) -> set[str]:
    """A tool rule: the fixture is a PreToolUse hook payload; ``{root}`` is the repository."""
    from agentctl.gate.decide import Gatekeeper, load_book

    root.mkdir(parents=True, exist_ok=True)
    text = (rule_dir / f"{case}.hook.json").read_text().replace("{root}", str(root))
    decision = Gatekeeper(root, load_book(root, [])).decide_raw(text, "claude")
    errors = [f.message for f in decision.findings if f.rule_id == "rule-error"]
    assert not errors, errors
    return {f.rule_id for f in decision.findings}


def run_case(rule_dir: Path, case: str, root: Path) -> set[str]:
    if (rule_dir / f"{case}.hook.json").exists():
        return run_hook_case(rule_dir, case, root)
    [after] = [p for p in rule_dir.iterdir() if p.name.startswith(f"{case}.") and ".before." not in p.name] or [None]
    before = next((p for p in rule_dir.iterdir() if p.name.startswith(f"{case}.before.")), None)
    ext = (after or before).suffix  # type: ignore[union-attr]
    target = (rule_dir / "path.txt").read_text().strip() if (rule_dir / "path.txt").exists() else f"main{ext}"
    repo = GitRepo(root)
    if before is not None:
        repo.write(target, before.read_text())
        repo.commit("base")
        if after is None:
            repo.remove(target)
        else:
            repo.write(target, after.read_text())
        options = CheckOptions(diff="HEAD", cwd=root, cache_dir=None)
    else:
        assert after is not None
        repo.write(target, after.read_text())
        options = CheckOptions(paths=[root], cwd=root, cache_dir=None)
    result = run_check(options)
    errors = [f.message for f in result.findings if f.rule_id in ("rule-error", "parse-error")]
    assert not errors, errors
    return {f.rule_id for f in result.findings if f.active}


def test_at_least_thirty_builtin_rules() -> None:
    assert len(BUILTIN_IDS) >= 30


def test_every_builtin_rule_has_both_fixtures() -> None:
    fixtures = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
    assert fixtures == BUILTIN_IDS


@pytest.mark.parametrize("rule_id", BUILTIN_IDS)
def test_rule_fires_on_its_fail_fixture(rule_id: str, tmp_path: Path) -> None:
    assert rule_id in run_case(FIXTURES / rule_id, "fail", tmp_path)


@pytest.mark.parametrize("rule_id", BUILTIN_IDS)
def test_rule_stays_quiet_on_its_pass_fixture(rule_id: str, tmp_path: Path) -> None:
    assert rule_id not in run_case(FIXTURES / rule_id, "pass", tmp_path)


def test_every_builtin_rule_compiles() -> None:
    """The built-in pack is compiled lazily at run time (only rules a change reaches): compile all here."""
    for compiled in build(builtin_files()).rules:
        assert compiled.program is not None and compiled.variables, compiled.rule.id


def test_every_rule_documents_title_and_remediation() -> None:
    for compiled in build(builtin_files()).rules:
        assert compiled.rule.title and compiled.rule.remediation, compiled.rule.id


def test_repository_policies_mirror_the_builtin_pack() -> None:
    shipped = {f.source.removeprefix("builtin:"): f.text for f in builtin_files()}
    mirrored = {p.name: p.read_text() for p in (REPO_ROOT / "policies").glob("*.yaml")}
    assert mirrored == shipped


def test_rules_doc_is_generated_from_the_rule_metadata(agentctl, tmp_path: Path) -> None:
    result = agentctl("rules", "--format", "markdown", cwd=tmp_path)
    assert result.code == 0
    assert result.stdout == (REPO_ROOT / "docs" / "rules.md").read_text(), "regenerate docs/rules.md"
