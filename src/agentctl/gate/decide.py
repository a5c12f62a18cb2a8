"""Judge one proposed tool call: tool rules, plus the IaC a write would produce.

A Write/Edit/apply_patch aimed at Terraform or a Kubernetes manifest is judged
as the file would be after the call, against the file as it is now, with the
same terraform/kubernetes rules ``agentctl check`` uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentctl.engine import cel
from agentctl.engine.catalog import engine_finding
from agentctl.engine.cel_prune import ToolContexts
from agentctl.engine.evaluate import Evaluator, render_message, rule_finding
from agentctl.gate import links, preview, writes
from agentctl.gate.toolcall import PayloadError, ToolCall, normalise
from agentctl.model.common import Action, Location, Target
from agentctl.model.finding import Finding
from agentctl.policy import loader as policy_loader
from agentctl.policy.loader import CompiledRule, PolicySetFile, RuleBook
from agentctl.sources import files


@dataclass
class Decision:
    decision: str  # "allow" | "deny"
    reason: str
    findings: list[Finding] = field(default_factory=list)
    tool: ToolCall | None = None
    approver: str | None = None

    @property
    def needs_approval_only(self) -> bool:
        """Denied only because a human must approve (no ``deny`` rule fired)."""
        actions = {f.action for f in self.findings if f.active}
        return self.decision == "deny" and Action.REQUIRE_APPROVAL in actions and Action.DENY not in actions

    def approved_by(self, approver: str) -> Decision:
        rules = ", ".join(sorted({f.rule_id for f in self.findings if f.action is Action.REQUIRE_APPROVAL}))
        return Decision("allow", f"approved at the terminal by {approver}: {rules}", self.findings, self.tool, approver)

    def event(self) -> dict[str, Any]:
        """The line the gate server reports to ``agentctl run`` for the record."""
        return {
            "kind": "gate",
            "decision": self.decision,
            "reason": self.reason,
            "tool_name": self.tool.name if self.tool else None,
            "tool_id": self.tool.tool_id if self.tool else None,
            "tool_input": self.tool.input if self.tool else None,
            "paths": self.tool.paths if self.tool else [],
            "approver": self.approver,
            "findings": [
                {"rule_id": f.rule_id, "action": f.action.value, "severity": f.severity.value, "message": f.message}
                for f in self.findings
            ],
        }


def hook_output(decision: Decision) -> bytes:
    """What the hook prints: a PreToolUse deny, or nothing (the agent's own permissions apply)."""
    if decision.decision == "allow":
        return b""
    output = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": decision.reason,
        }
    }
    return (json.dumps(output) + "\n").encode()


def load_book(root: Path, policy_dirs: list[Path], builtin: bool = True) -> RuleBook:
    sources: list[PolicySetFile] = policy_loader.builtin_files() if builtin else []
    for directory in policy_dirs:
        for path in sorted(directory.glob("*.y*ml")):
            sources.append(PolicySetFile(str(path), path.read_text(encoding="utf-8")))
    return policy_loader.build(sources)


class Gatekeeper:
    def __init__(self, root: Path, book: RuleBook, run_id: str | None = None) -> None:
        self.root = root.resolve()
        self.run_id = run_id
        self.tool_rules = [r for r in book.rules if r.rule.target is Target.TOOL]
        self.allow_tools = tuple(book.allow_tools)
        self.evaluator = Evaluator(book)
        self.previewer = preview.Previewer(self.root, self.evaluator)

    def decide_raw(self, raw: str, agent: str) -> Decision:
        try:
            payload = json.loads(raw)
        except ValueError:
            return Decision("deny", "agentctl gate: the hook payload is not valid JSON; denying this tool call")
        return self.decide(payload, agent)

    def decide(self, payload: Any, agent: str) -> Decision:
        try:
            call = normalise(payload, agent, self.root, self.allow_tools)
        except PayloadError as exc:
            return Decision("deny", f"agentctl gate: malformed hook payload ({exc}); denying this tool call")
        problems = writes.refine(call, payload, self.root)
        findings = self._tool_findings(call)
        for extra in writes.shell_patch_calls(call, payload, self.root, problems):
            findings += self._tool_findings(extra)
            call.writes += extra.writes
        problems += links.aliases(call, payload, self.root, writes.patch_paths(call))
        iac = self._iac(call)
        findings += iac.findings
        problems += [p for p in iac.problems if not any(p.split(":", 1)[0] in known for known in problems)]
        active = [f for f in findings if f.active]
        if problems:
            shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
            also = " ".join(
                f"[{f.rule_id}] {f.message}" for f in active if f.action in (Action.DENY, Action.REQUIRE_APPROVAL)
            )
            return Decision(
                "deny",
                f"agentctl gate cannot judge this {call.name} call, so it is denied (fail closed): {shown}. "
                "Make the change so that it applies exactly and the file parses, then retry."
                + (f" Policy also objects: {also}" if also else ""),
                active,
                call,
            )
        blocking = [f for f in active if f.action is Action.DENY]
        approval = [f for f in active if f.action is Action.REQUIRE_APPROVAL]
        if not blocking and not approval:
            warnings = "; ".join(f"[{f.rule_id}] {f.message}" for f in active)
            return Decision("allow", f"allowed with warnings: {warnings}" if warnings else "allowed", active, call)
        parts = [
            f"[{f.rule_id}] {f.message}" + (f" Remediation: {f.remediation}" if f.remediation else "") for f in blocking
        ]
        if approval:
            where = (
                f'agentctl approve {self.run_id} --reason "…"'
                if self.run_id
                else 'agentctl approve <run-id> --reason "…"'
            )
            parts += [f"[{f.rule_id}] {f.message} (requires a human's approval: {where})" for f in approval]
        return Decision("deny", f"agentctl policy denied this {call.name} call: " + " ".join(parts), active, call)

    def _tool_findings(self, call: ToolCall) -> list[Finding]:
        contexts: ToolContexts | None = None
        out: list[Finding] = []
        location = Location(path=call.paths[0] if call.paths else "(tool call)")
        for rule in self.tool_rules:
            if not _matches(rule, call):
                continue
            if contexts is None:
                variables = {"tool": call.as_cel(), "path": call.paths[0] if call.paths else ""}
                contexts = ToolContexts(variables, cel.context)
            context = contexts.for_rule(_sources(rule))
            try:
                verdict = rule.program.execute(context)
            except Exception as exc:  # a broken rule is a finding, never a crash of the gate
                out.append(engine_finding("rule-error", f"rule {rule.rule.id} failed on {call.name}: {exc}", location))
                continue
            if verdict is True:
                out.append(rule_finding(rule, render_message(rule, context), location, call.name, "tool"))
        return out

    def _iac(self, call: ToolCall) -> preview.Outcome:
        inside = [w for w in call.writes if w.absolute.is_relative_to(self.root)]
        judged = [w for w in inside if _previewed(w.path)]
        unknown = [w.path for w in judged if w.content is None and not w.deleted]
        # other files too: Terraform may read one with file(), the preview finds out (gate/tfmodule.py)
        known = [w for w in inside if w.path not in unknown and (w.content is not None or w.deleted)]
        outcome = self.previewer.judge(
            [preview.Write(w.path, w.absolute, w.before, None if w.deleted else w.content) for w in known]
        )
        outcome.problems += [
            f"{path}: the file's content after this {call.name} cannot be computed" for path in unknown
        ]
        return outcome


def _sources(rule: CompiledRule) -> tuple[str, ...]:
    """The CEL texts a rule evaluates on a tool call: its condition and its message placeholders."""
    return (rule.rule.condition, *(p.source for p in rule.message if not isinstance(p, str)))


def _previewed(path: str) -> bool:
    return files.classify(path) is not None or preview.is_terraform(path)


def _matches(rule: CompiledRule, call: ToolCall) -> bool:
    match = rule.rule.match
    if match.types and call.name not in match.types and call.kind not in match.types:
        return False
    if match.paths and not any(cel.glob_match(p, g) for p in call.paths for g in match.paths):
        return False
    return not any(cel.glob_match(p, g) for p in call.paths for g in match.exclude_paths)
