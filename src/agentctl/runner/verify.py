"""Verify after every tool call: judge the IaC the worktree now holds against the run's start.

What slipped past the pre-check (a heredoc through Bash, ``sed -i``, a script)
is caught one step later. One ``git status`` finds the changed files; each
changed Terraform / Kubernetes file is parsed and paired with its version at
the run's start commit and judged with the same rules ``agentctl check`` uses.
Results are cached by content hash, so an unchanged file costs one read.

``VerifyGate`` is the gate server's side: while a blocking finding stands,
every tool call is denied with the rule, file and line — except the calls that
read or repair the offending files — until the file no longer has it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentctl.engine.evaluate import Evaluator
from agentctl.gate import preview
from agentctl.model.common import Action
from agentctl.model.finding import Finding
from agentctl.model.run import AgentEvent, EventKind
from agentctl.runner import verify_files
from agentctl.sources import files

BLOCKING = frozenset({Action.DENY, Action.REQUIRE_APPROVAL})
_READ_TOOLS = frozenset({"Read", "Glob", "Grep", "LS", "NotebookRead", "WebFetch", "WebSearch", "TodoWrite"})
"""Claude Code tools that cannot change the worktree: no verify after them."""
_GIT = ("git", "-c", "core.fsmonitor=false")
"""agentctl's own git runs outside the sandbox: no ``core.fsmonitor`` command from any config the agent can
write (a nested repository's, or one ``.git/commondir`` points to) may run with the user's full environment."""


def pinned_git_env(root: Path) -> dict[str, str]:
    """The repository's git directories, resolved before the agent starts and pinned for every later git call.

    Pinned, a ``.git/commondir`` the agent writes during the run (pointing git at a config of its own) is
    ignored by agentctl's git calls. Empty outside git.
    """
    proc = subprocess.run(
        ["git", "rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir", "--show-toplevel"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != 3:
        return {}
    return {"GIT_DIR": lines[0], "GIT_COMMON_DIR": lines[1], "GIT_WORK_TREE": lines[2]}


def describe(finding: Finding) -> str:
    where = f"{finding.location.path}:{finding.location.start_line}"
    text = f"[{finding.rule_id}] {where}: {finding.message}"
    if finding.action is Action.REQUIRE_APPROVAL:
        text += " (requires a human's approval)"
    return text + (f" Remediation: {finding.remediation}" if finding.remediation else "")


@dataclass
class Verifier:
    """The worktree's changed IaC files judged against ``base_commit``."""

    root: Path
    base_commit: str | None
    evaluator: Evaluator
    approved: dict[str, str] = field(default_factory=dict)
    """Path → content digest a person approved at the terminal: that exact content is not judged again."""
    _base: dict[str, bytes | None] = field(default_factory=dict)
    _judged: dict[tuple[tuple[str, str], ...], list[Finding]] = field(default_factory=dict)
    _links: dict[str, str] | None = None
    _inputs: dict[str, bool] = field(default_factory=dict)
    """Non-IaC path → whether a Terraform file near it reads it with ``file()`` (asked once per run)."""
    _preview: preview.Previewer | None = None
    _cat: subprocess.Popen[bytes] | None = None
    _git_env: dict[str, str] | None = None

    def _env(self) -> dict[str, str]:
        if self._git_env is None:
            self._git_env = pinned_git_env(self.root)
        return {**os.environ, **self._git_env}

    def start(self) -> Verifier:
        """Before the agent starts: files already changed then are judged against how they were then.

        (A file the person left uncommitted is not the agent's doing, and does not block it.)
        """
        for path in self.changed_iac(inputs=True):
            self._base[path] = _read(self.root / path)
        return self

    def changed_iac(self, inputs: bool = False) -> list[str]:
        """Repository-relative IaC paths changed since the start (tracked, staged, untracked, ignored, committed).

        Ignored files are listed as git matches them (``--ignored=matching``: an ignored directory is not
        descended into); Terraform reads an ignored ``*_override.tf`` or ``terraform.tfvars`` all the same.
        A tracked IaC-named symlink counts as changed when its target does.
        """
        proc = subprocess.run(
            [
                *_GIT,
                "--no-optional-locks",
                "status",
                "--porcelain=v2",
                "--branch",
                "-z",
                "--untracked-files=all",
                "--ignored=matching",
                "--no-renames",
                "--ignore-submodules=all",  # no git run inside a nested repository (its config is the agent's)
            ],
            cwd=self.root,
            env=self._env(),
            capture_output=True,
        )
        paths: set[str] = set()
        ignored_dirs: list[str] = []
        head = None
        for entry in proc.stdout.decode("utf-8", "surrogateescape").split("\0"):
            if entry.startswith("# branch.oid "):
                head = entry.split()[-1]
            elif entry[:2] in ("1 ", "u "):
                paths.add(entry.split(" ", 8 if entry[0] == "1" else 10)[-1])
            elif entry[:2] == "! " and entry.endswith("/"):
                ignored_dirs.append(entry[2:])
            elif entry[:2] in ("? ", "! "):
                paths.add(entry[2:])
        paths |= set(verify_files.under_ignored(self.root, ignored_dirs))
        if self.base_commit and head and head != self.base_commit and head != "(initial)":
            moved = subprocess.run(
                [*_GIT, "--no-optional-locks", "diff", "--name-only", "-z", "--no-renames", self.base_commit, head],
                cwd=self.root,
                env=self._env(),
                capture_output=True,
            )
            paths |= {p for p in moved.stdout.decode("utf-8", "surrogateescape").split("\0") if p}
        paths |= {link for link, target in self._tracked_links().items() if target in paths}
        iac = {p for p in paths if verify_files.is_iac(p) and not _skipped(p)}
        if inputs:  # other files Terraform reads with file(), or a kustomization names (pod.txt)
            others = {p for p in paths - iac if not _skipped(p)}
            iac |= {p for p in others if self._read_by_terraform(p)} | verify_files.kustomize_named(self.root, others)
        return sorted(iac)

    def _read_by_terraform(self, path: str) -> bool:
        if path not in self._inputs:
            self._inputs[path] = bool(self._previewer().modules.file_readers(path))
        return self._inputs[path]

    def _tracked_links(self) -> dict[str, str]:
        if self._links is None:
            self._links = verify_files.tracked_links(self.root, self._env())
        return self._links

    def scan(self) -> list[Finding]:
        """Blocking findings (deny, require_approval) in the changed IaC, judged as the gate judges a write.

        Every changed file is one write from its content at the start to its content now, so a Terraform
        change is judged in its module (variables, tfvars, locals, overrides) and a Kustomize patch through
        the overlays it reaches (``gate/preview.py``). Results are cached by the content of the changed set.
        """
        state: list[tuple[str, bytes | None]] = []
        for path in self.changed_iac(inputs=True):
            data = _read(self.root / path)
            digest = _digest(data)
            if self.approved.get(path) == digest or (path in self._base and self._base[path] == data):
                continue  # approved as it is, or as it was when the run started
            state.append((path, data))
        key = tuple((path, _digest(data)) for path, data in state)
        if not key:
            return []
        cached = self._judged.get(key)
        if cached is None:
            writes = [
                preview.Write(path, self.root / path, _text(self._before(path)), _text(data)) for path, data in state
            ]
            findings = self._previewer().judge(writes).findings
            cached = sorted(
                (f for f in findings if f.active and f.action in BLOCKING),
                key=lambda f: (f.location.path, f.location.start_line, f.rule_id),
            )
            self._judged[key] = cached
        return cached

    def _previewer(self) -> preview.Previewer:
        if self._preview is None:
            self._preview = preview.Previewer(self.root.resolve(), self.evaluator)
        return self._preview

    def _before(self, path: str) -> bytes | None:
        if path not in self._base:
            stored = self._tracked_links().get(path, path)  # a symlink's content is its target's
            self._base[path] = self._blob(stored) if self.base_commit else None
        return self._base[path]

    def _blob(self, path: str) -> bytes | None:
        """The file at the start commit, from one long-lived ``git cat-file --batch`` (no fork per file)."""
        if "\n" in path:
            return None
        if self._cat is None or self._cat.poll() is not None:
            self._cat = subprocess.Popen(
                [*_GIT, "cat-file", "--batch"],
                cwd=self.root,
                env=self._env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        assert self._cat.stdin is not None and self._cat.stdout is not None
        try:
            self._cat.stdin.write(f"{self.base_commit}:{path}\n".encode())
            self._cat.stdin.flush()
            header = self._cat.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                return None
            data = self._cat.stdout.read(int(header[2]) + 1)[:-1]
        except (OSError, ValueError):
            self._cat.kill()
            self._cat = None
            return None
        return data


def _digest(data: bytes | None) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest() if data is not None else "-"


def _skipped(path: str) -> bool:
    return any(part in files.SKIP_DIRS for part in path.split("/")[:-1])


def _text(data: bytes | None) -> str | None:
    return data.decode("utf-8", "replace") if data is not None else None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


@dataclass
class VerifyGate:
    """The gate server's block: set by a verify, lifted once the offending files are fixed."""

    verifier: Verifier
    lock: threading.Lock = field(default_factory=threading.Lock)
    blockers: list[Finding] = field(default_factory=list)
    digests: dict[str, bytes | None] = field(default_factory=dict)
    dirty: bool = False
    """A call that may write was allowed and no verify has run since (its PostToolUse or nudge is late)."""
    enabled: bool = True
    """Off for a gate server outside ``agentctl run`` (no run, no start to compare with)."""

    def __post_init__(self) -> None:
        if self.enabled:
            self.verifier.start()

    def verify(self) -> tuple[list[Finding], bool]:
        """Verify now: the blocking findings, and whether they differ from the last verify."""
        if not self.enabled:
            return [], False
        with self.lock:
            return self._verify()

    def _verify(self) -> tuple[list[Finding], bool]:
        self.dirty = False
        found = self.verifier.scan()
        changed = _keys(found) != _keys(self.blockers)
        self.blockers = found
        self.digests = {p: _read(self.verifier.root / p) for p in {f.location.path for f in found}}
        return found, changed

    def allowed(self, call: Any) -> None:
        """A call was allowed: unless it only reads, the worktree must be verified before the next one.

        Claude Code runs our PostToolUse hook after the call and waits for it, so
        there the verify has always run; Codex has none of ours, and agentctl's
        nudge after its tool result may lose the race with the next call.
        """
        if getattr(call, "agent", "") != "claude" and getattr(call, "kind", "") not in ("read", "fetch"):
            with self.lock:
                self.dirty = True

    def approve(self, call: Any) -> None:
        """A person allowed this call at the terminal: the files it writes, as written, stand approved."""
        with self.lock:
            for write in getattr(call, "writes", []):
                if write.content is not None:
                    self.verifier.approved[write.path] = _digest(write.content.encode())

    def check(self, call: Any) -> tuple[list[Finding], bool]:
        """Before a tool call: the findings that deny it (none for a call that repairs), and whether the block moved.

        ``call`` is the ``ToolCall`` the pre-check normalised.
        """
        if not self.enabled:
            return [], False
        with self.lock:
            moved = False
            if self.dirty:
                _, moved = self._verify()  # the last call's verify has not arrived yet: never let one slip
            if not self.blockers:
                return [], moved
            if any(_read(self.verifier.root / p) != data for p, data in self.digests.items()):
                _, again = self._verify()  # an offending file changed since: judge it afresh
                moved = moved or again
            if not self.blockers or verify_files.repairs(call, {f.location.path for f in self.blockers}):
                return [], moved
            return list(self.blockers), moved

    def reason(self, findings: list[Finding] | None = None) -> str:
        shown = findings if findings is not None else self.blockers
        files_ = ", ".join(sorted({f.location.path for f in shown}))
        return (
            f"agentctl verify: an earlier tool call left IaC that policy does not allow in {files_}: "
            + " ".join(describe(f) for f in shown)
            + " Every further tool call is denied until the file is fixed: restore or remove it. To make such a "
            "change, write the file with your edit tool, where it is judged (and can be approved) before it is written."
        )


def _keys(findings: list[Finding]) -> list[tuple[str, str, int]]:
    return sorted((f.rule_id, f.location.path, f.location.start_line) for f in findings)


def post_output(reason: str) -> bytes:
    """A PostToolUse answer that tells the model at once (Claude Code shows ``reason`` to it)."""
    output = {
        "decision": "block",
        "reason": reason,
        "hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": reason},
    }
    return (json.dumps(output) + "\n").encode()


def reads_only(raw: bytes) -> bool:
    """A PostToolUse payload of a tool that cannot have written anything."""
    try:
        payload = json.loads(raw)
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("tool_name") in _READ_TOOLS


def verify_event(gate: VerifyGate, raw: bytes | None) -> dict[str, Any]:
    """The line the gate server reports when the block starts, moves or lifts."""
    tool_id = None
    if raw:
        try:
            payload = json.loads(raw)
            tool_id = payload.get("tool_use_id") if isinstance(payload, dict) else None
        except ValueError:
            pass
    blockers = gate.blockers
    return {
        "kind": "verify",
        "decision": "deny" if blockers else "clear",
        "reason": gate.reason() if blockers else "the IaC left by earlier tool calls no longer has blocking findings",
        "tool_id": tool_id,
        "paths": sorted({f.location.path for f in blockers}),
        "findings": [
            {
                "rule_id": f.rule_id,
                "action": f.action.value,
                "severity": f.severity.value,
                "message": f.message,
                "path": f.location.path,
                "line": f.location.start_line,
            }
            for f in blockers
        ],
    }


def verify_record(record: dict[str, Any]) -> AgentEvent:
    """The run record's entry for the gate server's verify line: a block, or its lifting."""
    return AgentEvent(
        EventKind.GATE,
        float(record.get("at") or time.time()),
        raw_type="agentctl/verify",
        tool_id=record.get("tool_id"),
        text=record.get("reason"),
        ok=record.get("decision") == "clear",
        data={
            "decision": str(record.get("decision")),
            "findings": record.get("findings", []),
            "paths": record.get("paths", []),
        },
    )
