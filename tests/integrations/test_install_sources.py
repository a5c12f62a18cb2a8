"""Every documented way into CI installs agentctl from this project, at one tag scheme.

The PyPI project called ``agentctl`` belongs to someone else: a template, snippet or
doc that pip-installs that bare name installs a stranger's code. Ours is
``agentctl-cli``, or this repository's source at a release tag. Releases are tagged
``v0.x.y`` (the newest in CHANGELOG.md), with the moving major tag ``v0``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT

SHIPPED = [
    "action.yml",
    ".pre-commit-hooks.yaml",
    "README.md",
    "CHANGELOG.md",
    "AGENTS.md",
    "templates",
    "examples",
    "docs",
    ".github",
    ".ci",
    "src/agentctl/scaffold/templates",
]
PINNED = re.compile(r"(?<![\w/.-])agentctl(\[[^\]]*\])?\s*(===|==|>=|<=|~=|!=)")


def shipped_files() -> list[Path]:
    out: list[Path] = []
    for entry in SHIPPED:
        path = REPO_ROOT / entry
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            out += [p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix in (".yml", ".yaml", ".md", "")]
    return out


def bare_installs(text: str) -> list[str]:
    """Lines that would pip-install the bare name ``agentctl`` (optionally pinned) from an index."""
    bad = []
    for line in text.splitlines():
        if PINNED.search(line):
            bad.append(line.strip())
            continue
        match = re.search(r"\bpip3?\s+install\b(.*)", line) or re.search(r"\bpip\s+install\b(.*)", line)
        if not match:
            continue
        try:
            tokens = shlex.split(match.group(1).split("&&")[0], comments=True)
        except ValueError:
            tokens = match.group(1).split()
        if any(re.fullmatch(r"agentctl(\[[^\]]*\])?", token) for token in tokens):
            bad.append(line.strip())
    return bad


def yaml_values(node: object) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                found.append((str(key), value))
            else:
                found += yaml_values(value)
    elif isinstance(node, list):
        for item in node:
            found += yaml_values(item)
    return found


def test_the_scanner_catches_the_old_mistakes() -> None:
    assert bare_installs('python3 -m pip install --quiet "agentctl==$INPUT_VERSION"')
    assert bare_installs("pip install agentctl")
    assert bare_installs("  - pip install -q agentctl[otel] && agentctl check")
    assert not bare_installs('pip install "${AGENTCTL_INSTALL:-git+https://github.com/agentctl/agentctl@v0.1.0}"')
    assert not bare_installs("pip install agentctl-cli==0.1.0")
    assert not bare_installs('python3 -m pip install "$ACTION_PATH"')


def test_nothing_installs_the_bare_name_from_an_index() -> None:
    files = shipped_files()
    assert len(files) > 10
    offenders = {str(p.relative_to(REPO_ROOT)): bare_installs(p.read_text(errors="replace")) for p in files}
    assert {k: v for k, v in offenders.items() if v} == {}
    for path in [REPO_ROOT / "action.yml", *sorted((REPO_ROOT / "templates").glob("*.yml"))]:
        for document in yaml.safe_load_all(path.read_text()):
            for key, value in yaml_values(document):
                if key != "default" and not key.startswith("AGENTCTL_"):
                    continue  # an install spec is an input's default or one of our variables
                assert value.strip() not in ("agentctl", "agentctl==", "agentctl>="), (path.name, key)


def test_the_action_input_version_maps_numbers_to_our_distribution() -> None:
    action = (REPO_ROOT / "action.yml").read_text()
    assert 'spec="agentctl-cli==$INPUT_VERSION"' in action
    assert 'spec="$ACTION_PATH"' in action


def newest_release() -> str:
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, flags=re.MULTILINE)
    assert versions, "CHANGELOG.md has no release section"
    return versions[0]


def test_one_tag_scheme_everywhere() -> None:
    version = newest_release()
    major = version.split(".")[0]
    refs: list[tuple[str, str]] = []
    for path in shipped_files():
        text = path.read_text(errors="replace")
        name = str(path.relative_to(REPO_ROOT))
        refs += [(name, m) for m in re.findall(r"agentctl/agentctl@(v[\w.]+)", text)]
        refs += [(name, m) for m in re.findall(r"agentctl/agentctl/(v[\w.]+)/templates", text)]
        refs += [(name, m) for m in re.findall(r"agentctl-check@(v[\w.]+)", text)]
        refs += [(name, m) for m in re.findall(r"^\s*rev:\s*(\S+)", text, flags=re.MULTILINE)]
        refs += [(name, "v" + m) for m in re.findall(r'AGENTCTL_VERSION:\s*"([^"]+)"', text)]
    component = next(yaml.safe_load_all((REPO_ROOT / "templates" / "agentctl-check.yml").read_text()))
    default = component["spec"]["inputs"]["version"]["default"]
    refs.append(("templates/agentctl-check.yml inputs.version", f"v{default}"))
    assert len(refs) >= 8, refs
    wrong = [(name, ref) for name, ref in refs if ref not in (f"v{version}", f"v{major}")]
    assert wrong == [], f"every pinned ref is v{version} (or the moving v{major}): {wrong}"
    uses = [ref for _, ref in refs if ref == f"v{major}"]
    assert uses, "the example workflow follows the moving major tag"


def test_release_workflow_builds_publishes_and_moves_the_major_tag() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "release.yml").read_text())
    trigger = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on:` as true
    assert trigger == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}  # never the moving v0 it pushes itself
    jobs = workflow["jobs"]
    build_steps = " ".join(str(s.get("run", "")) for s in jobs["build"]["steps"])
    assert "python -m build" in build_steps and ".tar.gz" in build_steps and ".whl" in build_steps
    assert jobs["build"]["steps"][0]["with"]["fetch-depth"] == 0  # setuptools-scm needs the tag
    assert jobs["publish"]["permissions"] == {"id-token": "write"}
    assert any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for s in jobs["publish"]["steps"])
    assert not any("password" in str(s.get("with", {})) for s in jobs["publish"]["steps"])  # trusted publishing
    # the pure wheel and the sdist, plus platform wheels with the gate's shell walk compiled, each tested
    built = next(s for s in jobs["build"]["steps"] if "python -m build" in str(s.get("run", "")))
    assert built["env"]["AGENTCTL_COMPILE"] == "0"
    compiled = jobs["compiled-wheels"]
    wheels = next(s for s in compiled["steps"] if s.get("uses", "").startswith("pypa/cibuildwheel@"))
    assert wheels["env"]["CIBW_ENVIRONMENT"] == "AGENTCTL_COMPILE=1"
    assert "s.COMPILED" in wheels["env"]["CIBW_TEST_COMMAND"] and "agentctl gate" in wheels["env"]["CIBW_TEST_COMMAND"]
    assert compiled["steps"][0]["with"]["fetch-depth"] == 0
    assert set(jobs["publish"]["needs"]) == {"build", "compiled-wheels"}
    for job in ("publish", "github-release"):
        fetched = next(s for s in jobs[job]["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
        assert fetched["with"] == {"path": "dist/", "merge-multiple": True}, job  # every artifact, not only dist


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_release_steps_move_v0_and_take_the_notes_from_the_changelog(tmp_path: Path) -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "release.yml").read_text())
    steps = {s.get("name"): s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]}
    version = newest_release()

    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True, capture_output=True)
    (work / "CHANGELOG.md").write_text((REPO_ROOT / "CHANGELOG.md").read_text())
    git = ["git", "-c", "user.name=R", "-c", "user.email=r@example.com"]
    for message in ("first", "second"):
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", message], cwd=work, check=True)
        if message == "first":
            subprocess.run(["git", "add", "-A"], cwd=work, check=True)
            subprocess.run([*git, "commit", "-q", "-m", "changelog"], cwd=work, check=True)
            subprocess.run(["git", "tag", "v0"], cwd=work, check=True)
            subprocess.run(["git", "push", "-q", "origin", "HEAD:refs/heads/main", "v0"], cwd=work, check=True)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, check=True, capture_output=True, text=True).stdout
    env = {"GITHUB_REF_NAME": f"v{version}", "GITHUB_SHA": sha.strip()}

    assert run_step(steps["The changelog has this release"], work, env).returncode == 0
    missing = run_step(steps["The changelog has this release"], work, {**env, "GITHUB_REF_NAME": "v9.9.9"})
    assert missing.returncode == 1 and "no '## [9.9.9]' section" in missing.stdout

    moved = run_step(steps["Move the major tag"], work, env)
    assert moved.returncode == 0, moved.stderr
    remote_v0 = subprocess.run(["git", "rev-parse", "v0"], cwd=origin, capture_output=True, text=True).stdout
    assert remote_v0.strip() == sha.strip()

    notes = "\n".join(steps["Create the GitHub release with its changelog section"].splitlines()[:2])  # not gh
    made = run_step(notes, work, env)
    assert made.returncode == 0, made.stderr
    text = (work / "notes.md").read_text()
    assert text.strip(), "the release notes are the version's changelog section"
    assert "## [" not in text and "Unreleased" not in text


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    first_block = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2, commands  # install + examples; test deps + full suite
    assert "pytest -v" in commands[1]  # progress, one line per test
    assert "npm ci --prefix tests/integrations/gitlab" in commands[1]
    ci = [line for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == commands[1]
    assert "Python ≥ 3.11" in readme and "Node.js" in readme and "git" in readme
