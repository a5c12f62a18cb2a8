"""Trust per agent and path scope, from the run store and git history.

A run counts for a scope when every file it changed lies in the scope. It is
a success when its record verifies (sealed by agentctl and unchanged since),
it ran in a sandbox, completed, its post-run check passed (or a human approved each finding
needing approval), no deny finding or denied approval is on record, and none of its commits
was reverted within the window. The decision uses the Wilson lower bound, not
the raw rate: ``autonomous`` when at least ``min_runs`` runs and the bound
reaches the threshold, ``supervised`` when there are enough runs but not
enough evidence, ``insufficient-data`` otherwise.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentctl.config import TrustConfig, TrustScope
from agentctl.engine.cel import glob_match, glob_regex
from agentctl.sources import gitcli
from agentctl.store.integrity import LEGACY, VERIFIED, Integrity
from agentctl.store.sqlite import RunRecord
from agentctl.trust.approvals import all_approved
from agentctl.trust.wilson import clean_runs_needed, lower_bound


@dataclass
class Outcome:
    run_id: str
    success: bool
    reasons: list[str] = field(default_factory=list)


@dataclass
class ScopeTrust:
    agent: str
    scope: str
    paths: tuple[str, ...]
    n: int
    successes: int
    lower_bound: float
    threshold: float
    min_runs: int
    confidence: float
    decision: str
    runs_needed: int | None
    demotions: list[dict[str, str]]
    run_ids: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "scope": self.scope,
            "paths": list(self.paths),
            "n": self.n,
            "successes": self.successes,
            "success_rate": round(self.successes / self.n, 4) if self.n else None,
            "wilson_lower_bound": round(self.lower_bound, 4),
            "confidence": self.confidence,
            "threshold": self.threshold,
            "min_runs": self.min_runs,
            "decision": self.decision,
            "clean_runs_needed": self.runs_needed,
            "demotions": self.demotions,
            "runs": self.run_ids,
        }


def in_scope(paths: list[str], globs: tuple[str, ...]) -> bool:
    """Every path lies under one of the scope's globs (an empty change is in no scope)."""
    return bool(paths) and all(any(glob_match(p, g) for g in globs) for p in paths)


def reverted_commits(root: Path) -> dict[str, float]:
    """Commit sha (full) → time of the commit that reverted it."""
    try:
        history = gitcli.commits(root, "--all")
    except OSError:
        return {}
    return {sha: float(commit.time) for commit in history for sha in gitcli.reverted_by(root, commit)}


def run_commits(root: Path, run: RunRecord) -> list[str]:
    if not run.base_commit or not run.end_commit or run.base_commit == run.end_commit:
        return []
    proc = subprocess.run(
        ["git", "rev-list", f"{run.base_commit}..{run.end_commit}"], cwd=root, capture_output=True, text=True
    )
    return proc.stdout.split()


def judge_run(
    run: RunRecord,
    approvals: list[dict[str, Any]],
    reverted: dict[str, float],
    commits: list[str],
    window_days: int,
    record: Integrity | None = None,
) -> Outcome:
    """``record``: the run's verification; without one, nothing is believed and the run is not clean."""
    reasons = []
    if record is None or record.state == LEGACY:
        reasons.append("unverified (legacy) record: never counted as clean")
    elif record.state != VERIFIED:
        reasons.append(f"record {record.summary()}")
    approvals = record.approvals if record is not None else []  # only approvals whose MAC checks out
    if not run.sandbox or run.sandbox == "off":
        reasons.append("ran without a sandbox" if run.sandbox == "off" else "no sandbox recorded")
    if run.status != "completed":
        reasons.append(f"run {run.status}")
    approved = all_approved(run.verdict, run.findings, approvals)
    if run.verdict == "blocked":
        reasons.append("post-run check blocked")
    elif run.verdict == "approval_required" and not approved:
        reasons.append("approval required and never given")
    elif run.verdict == "approval_required":
        reasons.append("needed a human's approval (override)")
    if any(a["decision"] == "deny" for a in approvals):
        reasons.append("a human denied approval")
    if any(f.get("action") == "deny" and f.get("status") == "open" for f in run.findings):
        reasons.append("deny finding")
    end = run.ended_at or run.started_at
    for sha in commits:
        when = reverted.get(sha)
        if when is not None and when - end <= window_days * 86400:
            reasons.append(f"commit {sha[:10]} reverted within {window_days} days")
    return Outcome(run.id, not reasons, reasons)


class ScopeIndex:
    """Which scopes hold a run's changed paths: each path's scopes worked out once, from the globs that can match it.

    A glob can only match paths that start with its literal prefix (the text before
    its first ``*`` or ``?``), so globs are filed under that prefix's directory and a
    path is tried against the globs filed under its own directories only.
    """

    def __init__(self, scopes: Sequence[TrustScope]) -> None:
        self._buckets: dict[str, list[tuple[int, Callable[[str], object]]]] = {}
        for number, scope in enumerate(scopes):
            for glob in scope.paths:
                literal = re.split(r"[*?]", glob, maxsplit=1)[0]
                # "dir/**" is "starts with dir/" (the common case: no regex to build for each of many scopes)
                test = _prefix(literal) if glob == literal + "**" else glob_regex(glob).match
                self._buckets.setdefault(literal[: literal.rfind("/") + 1], []).append((number, test))
        self._paths: dict[str, frozenset[int]] = {}
        self._stored: dict[str | None, tuple[int, ...]] = {}

    def of_path(self, path: str) -> frozenset[int]:
        found = self._paths.get(path)
        if found is None:
            hits: set[int] = set()
            end = 0
            while True:
                hits.update(n for n, test in self._buckets.get(path[:end], ()) if n not in hits and test(path))
                end = path.find("/", end) + 1
                if not end:
                    break
            found = self._paths[path] = frozenset(hits)
        return found

    def of(self, paths: Sequence[str]) -> tuple[int, ...]:
        """The scopes holding every one of ``paths`` (see :func:`in_scope`), by number."""
        if not paths:
            return ()
        common = set(self.of_path(paths[0]))
        for path in paths[1:]:
            common &= self.of_path(path)
            if not common:
                break
        return tuple(sorted(common))

    def of_stored(self, text: str | None) -> tuple[int, ...]:
        """:meth:`of` for changed paths as the store holds them (JSON text)."""
        found = self._stored.get(text)
        if found is None:
            found = self._stored[text] = self.of(json.loads(text) if text else [])
        return found


def _prefix(prefix: str) -> Callable[[str], bool]:
    return lambda path: path.startswith(prefix)


@dataclass
class _Tally:
    n: int = 0
    successes: int = 0
    demotions: list[dict[str, str]] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)


def evaluate(
    root: Path,
    runs: list[RunRecord],
    approvals: list[dict[str, Any]],
    config: TrustConfig,
    records: Mapping[str, Integrity] | None = None,
    *,
    groups: Iterable[tuple[str, str | None, int]] = (),
    reverted: dict[str, float] | None = None,
) -> list[ScopeTrust]:
    """``records``: each run's verification (runs without one are unverified and never clean).

    ``groups``: (agent, changed paths as stored, count) of runs already known to be clean
    (:mod:`agentctl.store.history`), counted without being read one by one.
    """
    records = records or {}
    reverted = reverted_commits(root) if reverted is None else reverted
    by_run: dict[str, list[dict[str, Any]]] = {}
    for approval in approvals:
        by_run.setdefault(approval["run_id"], []).append(approval)
    index = ScopeIndex(config.scopes)
    tallies: dict[tuple[str, int], _Tally] = {}
    agents: set[str] = set()
    commits: dict[tuple[str | None, str | None], list[str]] = {}
    for run in runs:
        if run.status == "running":
            continue
        agents.add(run.agent)
        members = index.of(run.changed_paths)
        if not members:
            continue
        if reverted:  # a commit can only have been reverted if something was
            key = (run.base_commit, run.end_commit)
            if key not in commits:
                commits[key] = run_commits(root, run)
        made = commits.get((run.base_commit, run.end_commit), []) if reverted else []
        outcome = judge_run(run, by_run.get(run.id, []), reverted, made, config.revert_window_days, records.get(run.id))
        for number in members:
            tally = tallies.setdefault((run.agent, number), _Tally())
            tally.n += 1
            tally.successes += outcome.success
            tally.demotions += [{"run": outcome.run_id, "reason": reason} for reason in outcome.reasons]
            tally.run_ids.append(outcome.run_id)
    for agent, stored_paths, count in groups:
        agents.add(agent)
        for number in index.of_stored(stored_paths):
            tally = tallies.setdefault((agent, number), _Tally())
            tally.n += count
            tally.successes += count
    return [
        _summarise(agent, scope, tallies.get((agent, number)) or _Tally(), config)
        for agent in sorted(agents)
        for number, scope in enumerate(config.scopes)
    ]


def _summarise(agent: str, scope: TrustScope, tally: _Tally, config: TrustConfig) -> ScopeTrust:
    n, successes = tally.n, tally.successes
    bound = lower_bound(successes, n, config.confidence)
    if n < config.min_runs:
        decision = "insufficient-data"
    elif bound >= config.threshold:
        decision = "autonomous"
    else:
        decision = "supervised"
    return ScopeTrust(
        agent=agent,
        scope=scope.name,
        paths=scope.paths,
        n=n,
        successes=successes,
        lower_bound=bound,
        threshold=config.threshold,
        min_runs=config.min_runs,
        confidence=config.confidence,
        decision=decision,
        runs_needed=None
        if decision == "autonomous"
        else clean_runs_needed(successes, n, config.threshold, config.min_runs, config.confidence),
        demotions=tally.demotions,
        run_ids=tally.run_ids,
    )
