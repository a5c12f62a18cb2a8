"""What a runner reads from the repository decides what it runs: project files, globs, directories of scripts.

cases.yaml replays single commands against one fixture repository; these tests
build repositories of their own (a package.json, a justfile, a tox.ini, a
conftest.py, many scripts) and check the gate judges the runner by the file's
content, for the task asked for. Nothing is executed: the gate only judges.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agentctl.gate.decide import Gatekeeper, load_book

PROJECT = {
    "package.json": '{"scripts": {"test": "jest", "predeploy": "npm run build", "deploy": "terraform apply"}}\n',
    "justfile": "build:\n    echo building\n\ndeploy: build\n    terraform apply -auto-approve\n",
    "tox.ini": "[tox]\nenvlist = py\n\n[testenv]\ncommands = pytest {posargs}\n\n"
    "[testenv:deploy]\ncommands = terraform apply\n",
    "tests/conftest.py": "import subprocess\nsubprocess.run(['kubectl', 'delete', 'ns', 'prod'])\n",
    "tests/test_app.py": "def test_app():\n    assert True\n",
    "lib/conftest.py": "import pytest\n",
    "lib/test_lib.py": "def test_lib():\n    assert True\n",
    "Makefile": "test:\n\tpytest -q\n",
    "tool/__init__.py": "import os\nos.system('terraform destroy')\n",
    "tool/__main__.py": "print('hi')\n",
    "tool/cli.py": "print('cli')\n",
    "quiet/__main__.py": "print('hi')\n",
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for rel, text in PROJECT.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for index in range(40):  # more scripts than a glob in a script position is followed into
        (root / "many" / f"s{index:02}.sh").parent.mkdir(exist_ok=True)
        (root / "many" / f"s{index:02}.sh").write_text("echo step\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def judge(root: Path, command: str) -> tuple[str, list[str]]:
    keeper = Gatekeeper(root, load_book(root, []))
    decision = keeper.decide({"tool_name": "Bash", "tool_input": {"command": command}, "cwd": str(root)}, "claude")
    return decision.decision, sorted({f.rule_id for f in decision.findings})


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("npm run deploy", "tool-terraform-apply-destroy"),
        ("yarn deploy", "tool-terraform-apply-destroy"),
        ("just deploy", "tool-terraform-apply-destroy"),
        ("tox -e deploy", "tool-terraform-apply-destroy"),
        ("pytest tests/", "tool-kubectl-mutation-non-local"),  # tests/conftest.py is imported
        ("pytest", "tool-kubectl-mutation-non-local"),  # collecting the repository finds tests/conftest.py
        ("cd tests && python3 -m pytest", "tool-kubectl-mutation-non-local"),
        ("pytest tests/test_app.py::test_app", "tool-kubectl-mutation-non-local"),  # its directory's conftest.py
        ("make test", "tool-kubectl-mutation-non-local"),  # the recipe runs pytest
        ("tox", "tool-kubectl-mutation-non-local"),  # the envlist is py: pytest, not deploy's commands
        ("pytest tests/test_app.py --noconftest", "tool-kubectl-mutation-non-local"),  # fail closed: still judged
        ("python3 -m tool", "tool-terraform-apply-destroy"),  # the package's __init__.py runs before __main__
        ("python3 -m tool.cli", "tool-terraform-apply-destroy"),
        ("python3 -c 'from tool import cli'", "tool-terraform-apply-destroy"),
        ("python3 -m quiet", None),
        ("pytest lib/", None),
        ("pytest lib/test_lib.py -q", None),
        ("npm test", None),
        ("npm run build", None),
        ("just build", None),
        ("just", None),  # the first recipe
    ],
)
def test_a_runner_is_judged_by_the_task_it_runs(project: Path, command: str, rule: str | None) -> None:
    decision, rules = judge(project, command)
    if rule is None:
        assert decision == "allow", rules
    else:
        assert decision == "deny" and rule in rules, (decision, rules)


def test_a_glob_matching_more_scripts_than_agentctl_follows_is_opaque(project: Path) -> None:
    assert judge(project, "bash many/*.sh") == ("deny", ["tool-opaque-command"])
    assert judge(project, "bash many/s0*.sh") == ("allow", [])  # ten harmless scripts


def test_run_parts_of_a_directory_too_large_to_list_is_opaque(project: Path) -> None:
    assert judge(project, "run-parts many") == ("deny", ["tool-opaque-command"])


REAL_JUSTFILE = """set dotenv-load := true
set positional-arguments
version := `git describe --tags`
python := "python3"
alias t := test

# run the tests
[group('dev')]
test *args:
    {{ python }} -m pytest {{args}}

build target="release": (clean target)
    cargo build --profile {{target}}

clean target:
    rm -rf target/{{target}}

@lint:
    ruff check .

deploy env: build
    terraform -chdir=envs/{{env}} apply

[script('python3')]
report:
    print(1)
"""


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("just test -q", None),
        ("just t", None),  # an alias
        ("just build", None),
        ("just lint", None),
        ("just deploy prod", "tool-terraform-apply-destroy"),
        ("just report", "tool-opaque-command"),  # a script recipe run by python3
        ("just nope", "tool-opaque-command"),
    ],
)
def test_a_real_justfile_is_read_recipe_by_recipe(tmp_path: Path, command: str, rule: str | None) -> None:
    (tmp_path / "justfile").write_text(REAL_JUSTFILE)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    decision, rules = judge(tmp_path, command)
    assert (decision, rules) == (("allow", []) if rule is None else ("deny", [rule]))


def test_a_justfile_whose_shell_is_not_sh_is_opaque(tmp_path: Path) -> None:
    (tmp_path / "justfile").write_text('set shell := ["python3", "-c"]\nbuild:\n    print(1)\n')
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert judge(tmp_path, "just build") == ("deny", ["tool-opaque-command"])


def test_a_package_json_that_does_not_parse_is_opaque(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"scripts": {"test": "jest",}\n')
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert judge(tmp_path, "npm test") == ("deny", ["tool-opaque-command"])
    assert judge(tmp_path, "npm publish --dry-run") == ("allow", [])  # not a script: package.json is not read
