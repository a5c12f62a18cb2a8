"""Extra fixtures per defect class: ``fail-<case>.<ext>`` must fire the rule, ``pass-<case>.<ext>`` must not.

They pin the accuracy fixes: provider defaults for missing attributes, IAM
policies in every form with Effect honoured, plural / case-insensitive
attribute spellings, ACL grant blocks, resources that cannot have the defect.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.policy.test_builtin_rules import FIXTURES, run_case

VARIANTS = sorted(
    (p.parent.name, p.name.split(".", 1)[0])
    for p in FIXTURES.glob("*/*")
    if p.name.startswith(("fail-", "pass-")) and ".before." not in p.name
)


def test_there_are_variants() -> None:
    assert len(VARIANTS) >= 15


@pytest.mark.parametrize(("rule_id", "case"), VARIANTS, ids=[f"{r}:{c}" for r, c in VARIANTS])
def test_variant(rule_id: str, case: str, tmp_path: Path) -> None:
    fired = rule_id in run_case(FIXTURES / rule_id, case, tmp_path)
    assert fired == case.startswith("fail-"), f"{rule_id} {'missed' if case.startswith('fail-') else 'fired on'} {case}"
