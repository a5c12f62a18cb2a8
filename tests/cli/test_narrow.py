"""Only the command being run is built; the rest of the CLI behaves as before."""

from __future__ import annotations

from agentctl.cli.app import app
from agentctl.cli.narrow import narrowed


def test_only_an_exact_command_name_narrows_the_app() -> None:
    only = narrowed(app, ["check", "--diff", "HEAD"])
    assert [c.name for c in only.registered_commands] == ["check"] and only.registered_groups == []
    assert [g.name for g in narrowed(app, ["runs", "list"]).registered_groups] == ["runs"]
    for args in ([], ["-h"], ["--store", "x.db", "check"], ["chek"]):
        assert narrowed(app, args) is app
    assert len(app.registered_commands) > 1  # the app itself is never changed


def test_help_typos_and_root_options_still_see_every_command(agentctl, tmp_path) -> None:
    top = agentctl("-h")
    assert top.code == 0 and all(name in top.stdout for name in ("check", "runs", "store", "trust"))
    typo = agentctl("chek")
    assert typo.code == 2 and "No such command 'chek'" in typo.stderr
    group = agentctl("runs", "-h")
    assert group.code == 0 and "list" in group.stdout
    with_option = agentctl("--store", str(tmp_path / "s.db"), "check", "--no-cache", str(tmp_path), cwd=tmp_path)
    assert with_option.code == 0, with_option.stderr
