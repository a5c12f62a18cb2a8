"""Rules see only the commands they can be affected by, and decide exactly as over all of them.

The gate hands each tool rule a CEL context whose ``tool.commands`` holds only
the commands the rule could match (:mod:`agentctl.engine.cel_prune`). These
tests are the oracle for "provably the same": every case of ``cases.yaml`` and
``attack_cases.yaml``, one by one and joined into long scripts, is evaluated
by every built-in tool rule and by user rules written to hit the corners
(errors inside ``exists``, ``filter(…)[0]``, shadowed names, ``size``,
``exists_one``), once over every command and once over the pruned list: the
condition's value or error and the rendered message must be identical.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentctl.engine import cel, cel_parse, cel_prune
from agentctl.engine.evaluate import render_message
from agentctl.gate.decide import Gatekeeper, _sources, load_book
from agentctl.gate.toolcall import normalise
from tests.gate.test_cases import CASES, REPO_FILES, payloads

ATTACKS: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "attack_cases.yaml").read_text()) or []

CORNER_RULES = [
    # (condition, message)
    ('tool.commands.exists(c, c.name == "echo" && 1 / size(c.via) == 1)', "div {tool.command}"),
    (
        'tool.commands.exists(c, arg(c.argv, 3) == "x" || c.name == "rm")',
        "{tool.commands.filter(c, c.name == 'rm').map(c, c.argv)}",
    ),
    ('tool.commands.filter(c, c.name == "cat").size() > 1', "{tool.commands.filter(c, c.name == 'cat')[1].argv}"),
    (
        'tool.commands.filter(c, !c.opaque && c.name in ["rm", "cp"])[0].argv[0] == "rm"',
        "{tool.commands.filter(c, c.writes.exists(w, w == '.env'))[0].reason}",
    ),
    ("size(tool.commands) > 30", "{size(tool.commands)}"),
    ('tool.commands.exists_one(c, c.name == "terraform")', "one"),
    ('tool.commands.exists(tool, tool.name == "git" && tool.argv.exists(a, a == "push"))', "shadow"),
    ('tool.commands.map(c, c.name).exists(n, n == "kubectl")', "{tool.commands.map(c, c.reason)}"),
    ('tool.commands.exists(c, c.via.exists(v, v == "sudo") || c.code_from.exists(n, n == "curl"))', "via"),
    ('tool.commands.exists(c, c.name == "helm" ? arg(c.argv, 0) == "uninstall" : c.argv[9] == "x")', "ternary"),
    ('tool.commands.exists(c, c.opaque) && tool.commands.filter(c, c.opaque)[0].name != "eval"', "{tool.reads}"),
    ('tool.commands.exists(c, c.nope == "x" || c.name == "sed")', "missing field"),
    ("tool.commands.exists(c, c.name == 'g\\x69t')", "escaped string: not analysed"),
    ('get(tool, "commands", []).size() > 0 && tool.commands.exists(c, c.name == "ls")', "tool whole"),
    ('tool.commands.exists(c, has_flag(c.argv, "-f") && size(flag(c.argv, "-f")) > 0 && c.name in ["rm", "cp"])', "f"),
    ('tool.commands.exists(c, arg(c.argv, -1).endsWith(".tf") || c.name.contains("git") || size(c.argv) > 6)', "x"),
    ('tool.commands.exists(c, args(c.argv).exists(a, a.startsWith("--") && a.size() < 5))', "{tool.command}"),
]

USER_POLICY = {
    "apiVersion": "agentctl/v1",
    "kind": "PolicySet",
    "metadata": {"name": "corners"},
    "rules": [
        {
            "id": f"corner-{index}",
            "title": "corner case",
            "severity": "high",
            "action": "deny",
            "target": "tool",
            "condition": condition,
            "message": message,
        }
        for index, (condition, message) in enumerate(CORNER_RULES)
    ],
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prune-cases")
    for rel, text in REPO_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "user-policies").mkdir()
    (root / "user-policies" / "corners.yaml").write_text(yaml.safe_dump(USER_POLICY, sort_keys=False))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


@pytest.fixture(scope="module")
def keeper(repo: Path) -> Gatekeeper:
    return Gatekeeper(repo, load_book(repo, [repo / "user-policies"]))


def _outcome(program: Any, context: Any) -> tuple[str, Any]:
    try:
        return ("value", program.execute(context))
    except Exception as exc:  # the error text is part of what must not change
        return ("error", str(exc))


def _compare(keeper: Gatekeeper, payload: dict[str, Any], agent: str) -> int:
    """Evaluate every tool rule over all commands and over the pruned ones; return how many commands were dropped."""
    call = normalise(payload, agent, keeper.root, keeper.allow_tools)
    variables: dict[str, Any] = {"tool": call.as_cel(), "path": call.paths[0] if call.paths else ""}
    full = cel.context(variables)
    contexts = cel_prune.ToolContexts(variables, cel.context)
    dropped = 0
    for rule in keeper.tool_rules:
        pruned = contexts.for_rule(_sources(rule))
        where = f"{rule.rule.id} on {str(payload['tool_input'])[:200]!r}"
        assert _outcome(rule.program, pruned) == _outcome(rule.program, full), where
        assert render_message(rule, pruned) == render_message(rule, full), where
        dropped += len(variables["tool"]["commands"]) - len(pruned.variables["tool"]["commands"])
    return dropped


def _shell_texts() -> list[str]:
    return [str(c["sh"]) for c in [*CASES, *ATTACKS] if "sh" in c]


def test_every_case_alone_decides_the_same_over_pruned_commands(
    keeper: Gatekeeper, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cel_prune, "PRUNE_FROM", 0)  # prune even one-command calls
    dropped = 0
    for case in [*CASES, *ATTACKS]:
        for agent, payload in payloads(case, repo):
            dropped += _compare(keeper, payload, agent)
    assert dropped > 1000  # the pruning really happened, so the equality above means something


@pytest.mark.parametrize("size", [7, 40])
def test_long_scripts_of_many_cases_decide_the_same_over_pruned_commands(
    size: int, keeper: Gatekeeper, repo: Path
) -> None:
    texts = _shell_texts()
    dropped = 0
    for start in range(0, len(texts), size):
        script = "\n".join(texts[start : start + size])
        for agent, payload in payloads({"sh": script}, repo):
            dropped += _compare(keeper, payload, agent)
    assert dropped > 1000


def test_a_long_script_hands_each_builtin_rule_only_the_commands_it_can_match(keeper: Gatekeeper, repo: Path) -> None:
    lines = ["echo step", "ls -la src", "grep -rn TODO src", "tee -a $LOG", "terraform plan", "kubectl get pods"]
    script = "\n".join([*lines * 50, "terraform apply", "kubectl delete ns x"])
    call = normalise({"tool_name": "Bash", "tool_input": {"command": script}, "cwd": str(repo)}, "claude", repo)
    variables: dict[str, Any] = {"tool": call.as_cel(), "path": ""}
    contexts = cel_prune.ToolContexts(variables, cel.context)
    seen = {
        r.rule.id: [" ".join(c["argv"]) for c in contexts.for_rule(_sources(r)).variables["tool"]["commands"]]
        for r in keeper.tool_rules
        if r.rule.id.startswith("tool-")
    }
    assert seen["tool-terraform-apply-destroy"] == ["terraform apply"]  # ``plan`` is decided by arg(): not a match
    assert seen["tool-kubectl-mutation-non-local"] == ["kubectl delete ns x"]
    assert seen["tool-read-secret-file"] == [] and seen["tool-helm-uninstall"] == []
    assert seen["tool-opaque-command"] == ["tee -a $LOG"]  # the first opaque one: all the message names
    decision = keeper.decide({"tool_name": "Bash", "tool_input": {"command": script}, "cwd": str(repo)}, "claude")
    rules = {f.rule_id for f in decision.findings}
    assert {"tool-terraform-apply-destroy", "tool-kubectl-mutation-non-local", "tool-opaque-command"} <= rules
    assert "tee writes to a path only known at run time" in decision.reason


@pytest.mark.parametrize(
    "source",
    [
        "size(tool.commands) > 3",
        "tool.commands.exists_one(c, c.opaque)",
        "tool.commands.all(c, !c.opaque)",
        'get(tool, "commands", []) == []',
        "tool.commands[0].opaque",
        "has(tool.commands)",
        "tool.commands.exists(c, c.name == 'a\\'b')",
        'tool.commands.exists(c, c.name == r"x")',
        'tool.commands.exists(c, c.name == """x""")',
        "tool.commands.exists(c, c.name == Msg{a: 1}.a)",
    ],
)
def test_rules_outside_the_analysed_subset_see_every_command(source: str) -> None:
    cel.compile_expression(source)  # valid CEL: only the analysis declines it
    assert cel_prune.pruner((source,)) is None


def test_the_analysis_is_three_valued() -> None:
    body = cel_prune._compile(cel_parse.parse('c.name in ["rm", "cp"] && c.argv[1].matches("^-r")'))
    assert body({"c": {"name": "ls", "argv": ["ls"]}}) is False
    assert body({"c": {"name": "rm", "argv": ["rm"]}}) is cel_parse.UNKNOWN
    either = cel_prune._compile(cel_parse.parse('c.opaque || c.argv.exists(a, a == "-rf")'))
    assert either({"c": {"opaque": False, "argv": ["rm", "-rf"]}}) is True
    assert either({"c": {"opaque": False, "argv": ["rm", "-r"]}}) is False
    assert either({"c": {"opaque": "x", "argv": []}}) is cel_parse.UNKNOWN  # not a bool: CEL would error
