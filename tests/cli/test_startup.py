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


def _run_check_in_process(tmp_path, env: dict[str, str]) -> list[str]:
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "from agentctl.cli.main import main\n"
        "code = main(['check', '--no-cache', '-q', sys.argv[1]])\n"
        "import pydantic.plugin._loader as plugins\n"
        "print(code, os.environ.get('PYDANTIC_DISABLE_PLUGINS'), plugins._plugins is None)\n"
    )
    (tmp_path / "a.tf").write_text('resource "aws_s3_bucket_acl" "a" {\n  acl = "private"\n}\n')
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        env={**env, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.stdout.splitlines()[-1].split()


def test_check_skips_the_pydantic_plugin_lookup_and_leaves_the_environment_as_it_was(tmp_path) -> None:
    import os

    base = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    assert _run_check_in_process(tmp_path, base) == ["0", "None", "True"]  # never looked up, nothing left set
    own = {**base, "PYDANTIC_DISABLE_PLUGINS": "logfire"}
    assert _run_check_in_process(tmp_path, own) == ["0", "logfire", "True"]


def _record_runs(root, count: int) -> None:
    import time

    from agentctl.store.sqlite import RunRecord, Store

    store = Store(root / ".agentctl" / "agentctl.db", "")
    for n in range(count):
        run_id = f"r-{n}"
        store.create_run(RunRecord(id=run_id, agent="claude", status="running", started_at=time.time()))
        store.update_run(run_id, sandbox="bwrap", status="completed", ended_at=time.time(), verdict="passed")
        store.update_run(run_id, findings=[], changed_paths=["src/app.py"] if n % 2 else ["docs/x.md"])
    store.close()


def test_trust_answers_without_the_cli_framework_and_as_typer_does(agentctl, repo, tmp_path) -> None:
    """``agentctl trust [--format F] [--all-repos]`` skips building Typer; its output is the same."""
    import subprocess
    import sys

    repo.write(".gitignore", ".agentctl/\n")
    repo.write("agentctl.yaml", "trust:\n  min_runs: 2\n  scopes:\n    - name: src\n      paths: ['src/**']\n")
    repo.commit("init")
    _record_runs(repo.root, 5)
    env = {"HOME": str(tmp_path), "AGENTCTL_STORE": "", "CI": "", "AGENTCTL_RUN_ID": ""}
    db = str(repo.root / ".agentctl" / "agentctl.db")
    for args in (["trust"], ["trust", "--format", "json", "--all-repos"], ["trust", "-f", "markdown"]):
        fast = agentctl(*args, cwd=repo.root, env=env)
        typer_path = agentctl("--store", db, *args, cwd=repo.root, env=env)  # a root option: through Typer
        assert fast.code == typer_path.code == 0, fast.stderr + typer_path.stderr
        assert fast.stdout == typer_path.stdout and fast.stderr == typer_path.stderr
    assert "claude   src                  2/2 clean" in agentctl("trust", cwd=repo.root, env=env).stdout
    wrong = agentctl("trust", "--format", "yaml", cwd=repo.root, env=env)
    assert wrong.code == 2 and "unknown format 'yaml'" in wrong.stderr
    assert agentctl("trust", "--frmat", "json", cwd=repo.root, env=env).code == 2  # Typer's own usage error
    code = (
        "import sys\n"
        "from agentctl.cli.main import main\n"
        "code = main(['trust'])\n"
        "import pydantic.plugin._loader as plugins\n"
        "print(code, 'typer' in sys.modules, plugins._plugins is None)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=repo.root,
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert proc.stdout.splitlines()[-1].split() == ["0", "False", "True"], proc.stderr
