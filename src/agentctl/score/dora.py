"""DORA metrics approximated from git alone (labelled as approximations in every report).

* deployments: tags matching a pattern (default ``v*``), else merge commits on
  the default branch's first-parent history; the first one is the baseline and
  not counted (what it shipped is everything before it);
* lead time: deployment time minus commit time, over the commits it shipped;
* change failure: a deployment followed within N days by a commit whose
  message says revert, hotfix or rollback;
* time to restore: a failed deployment → the next deployment.

Agent-authored changes are those whose commits carry an agent
``Co-authored-by`` trailer (Claude, Codex, Copilot, Cursor, agentctl).
"""

from __future__ import annotations

import fnmatch
import re
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentctl.sources import gitcli
from agentctl.sources.gitcli import Commit

AGENT_TRAILER = re.compile(r"(?im)^co-authored-by:.*\b(claude|anthropic|codex|openai|copilot|cursor|agentctl)\b")
FAILURE = re.compile(r"(?i)\b(revert|hotfix|rollback|roll back)\b")


def agent_authored(commit: Commit) -> bool:
    return bool(AGENT_TRAILER.search(commit.message))


@dataclass
class Deployment:
    ref: str
    time: int
    commits: list[Commit] = field(default_factory=list)
    failed: bool = False
    restored_after: float | None = None

    @property
    def agent(self) -> bool:
        return bool(self.commits) and sum(map(agent_authored, self.commits)) * 2 > len(self.commits)


def deployments(root: Path, tag_pattern: str, failure_days: int, window_days: int) -> list[Deployment]:
    """Deployments in the window ending at HEAD's commit time (not "now": same repository, same result)."""
    tags = subprocess.run(
        [
            "git",
            "for-each-ref",
            "--sort=creatordate",
            "--format=%(refname:short)%00%(*objectname)%00%(objectname)%00%(creatordate:unix)",
            "refs/tags",
        ],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout
    refs: list[tuple[str, str, int]] = []
    for line in tags.splitlines():
        name, peeled, obj, when = [*line.split("\x00"), "", "", "", "0"][:4]
        if fnmatch.fnmatch(name, tag_pattern):
            refs.append((name, peeled or obj, int(when or 0)))
    if not refs:
        merges = subprocess.run(
            ["git", "log", "--first-parent", "--merges", "--reverse", "--format=%H%x00%ct"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout
        refs = [
            (sha[:12], sha, int(when)) for sha, when in (line.split("\x00") for line in merges.splitlines() if line)
        ]
    result: list[Deployment] = []
    previous: str | None = None
    for name, sha, stamp in refs:
        # The first deployment is the baseline: what it shipped ("everything before") is unknowable.
        if previous is not None:
            result.append(Deployment(name, stamp, gitcli.commits(root, f"{previous}..{sha}")))
        previous = sha
    history = gitcli.commits(root)
    # The window ends at the newest commit or deployment (not "now": same repository, same result).
    end = max([c.time for c in history[:1]] + [d.time for d in result], default=0)
    result = [d for d in result if end - window_days * 86400 <= d.time <= end]
    shipped_in = {c.sha: d for d in result for c in d.commits}
    for commit in history:
        if not FAILURE.search(commit.message):
            continue
        reverted = [shipped_in[s] for s in gitcli.reverted_by(root, commit) if s in shipped_in]
        earlier = [d for d in result if d.time <= commit.time]
        # A revert blames the deployment that shipped the reverted commit; a hotfix, the latest one before it.
        for deployment in reverted or earlier[-1:]:
            if commit.time - deployment.time <= failure_days * 86400:
                deployment.failed = True
    for index, deployment in enumerate(result):
        if deployment.failed and index + 1 < len(result):
            deployment.restored_after = (result[index + 1].time - deployment.time) / 3600
    return result


def summary(deployed: list[Deployment], window_days: int) -> dict[str, Any]:
    def group(items: list[Deployment]) -> dict[str, Any]:
        lead = [(d.time - c.time) / 3600 for d in items for c in d.commits]
        restores = [d.restored_after for d in items if d.restored_after is not None]
        failed = sum(d.failed for d in items)
        return {
            "deployments": len(items),
            "deployments_per_week": round(len(items) / max(window_days / 7, 1e-9), 3),
            "lead_time_hours_median": round(statistics.median(lead), 2) if lead else None,
            "change_failure_rate": round(failed / len(items), 3) if items else None,
            "failed_deployments": failed,
            "time_to_restore_hours_median": round(statistics.median(restores), 2) if restores else None,
            "sample_commits": sum(len(d.commits) for d in items),
        }

    return {
        "approximation": "approximated from git only: tags or merges as deployments, revert/hotfix commits as failures",
        "window_days": window_days,
        "all": group(deployed),
        "agent": group([d for d in deployed if d.agent]),
        "human": group([d for d in deployed if not d.agent]),
    }
