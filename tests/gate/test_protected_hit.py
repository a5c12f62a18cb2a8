"""The protected-path test by set lookups agrees with the plain comparison against every root.

``protected_hit`` looks up the path's own prefixes in sets built once per set of
roots (a long script checks hundreds of paths against ~75 roots); these tests
hold it to the straightforward definition for every root, each of its parents
and children, near misses, and deletes of directories holding a root.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agentctl.gate import effects


def _reference(path: Path, roots: effects.Roots, deleting: bool) -> bool:
    text = str(path)
    inside = text.rstrip("/") + "/"
    return any(
        text == other or text.startswith(other + "/") or (deleting and other.startswith(inside))
        for other in roots.texts
    )


def _candidates(roots: effects.Roots) -> set[str]:
    out = {"/", "//", "//etc", "/tmp/a", "relative/x"}
    for text in roots.texts:
        parts = text.split("/")
        for i in range(len(parts) + 1):
            head = "/".join(parts[:i]) or "/"
            out |= {head, head + "/x", head + "x", head.rstrip("/") + "/.git", head[:-1] or "/"}
    return out


@pytest.mark.parametrize("deleting", [False, True])
def test_protected_hit_is_the_plain_comparison_with_every_root(tmp_path: Path, deleting: bool) -> None:
    roots = effects.protected_roots(tmp_path / "repo", tmp_path / "repo" / "sub")
    assert len(roots.texts) > 50
    hits = 0
    for text in sorted(_candidates(roots)):
        path = Path(text)
        expected = _reference(path, roots, deleting)
        assert effects.protected_hit(path, roots, deleting) is expected, text
        assert effects.protected_hit(path, list(roots), deleting) is expected, text  # a plain list of roots
        hits += expected
    assert hits > 50  # both outcomes are exercised


def test_protected_roots_follow_codex_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEX_HOME", raising=False)
    before = effects.protected_roots(tmp_path)
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    after = effects.protected_roots(tmp_path)
    assert str(tmp_path / "codex") in after.texts and str(tmp_path / "codex") not in before.texts
    assert effects.protected_hit(tmp_path / "codex" / "config.toml", after, False)
    assert not effects.protected_hit(tmp_path / "codex" / "config.toml", before, False)
