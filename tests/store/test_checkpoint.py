"""``trust`` over a checkpointed history: fast because unchanged runs are not re-verified, never fooled.

Runs are recorded through the real store, ``agentctl trust`` (the installed
binary) verifies them and leaves a checkpoint, the store is then altered with
the backend's own client as someone with database access would, and the next
``agentctl trust`` must see it, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from typing import Any

import pytest

from agentctl.store import checkpoint, history
from agentctl.store.sqlite import RunRecord, Store
from agentctl.store.writer import EventWriter
from tests.conftest import GitRepo, agentctl_binary

HUMAN = {"CI": "", "GITHUB_ACTOR": "", "GITLAB_USER_LOGIN": "", "AGENTCTL_RUN_ID": "", "AGENTCTL_GATE_SOCKET": ""}
DENY = [{"rule_id": "aws-s3-public-acl", "action": "deny", "status": "open", "path": "main.tf", "line": 1}]


class History:
    """A repository whose runs live in the backend under test, and a way to alter that backend directly."""

    def __init__(self, repo: GitRepo, url: str) -> None:
        self.repo = repo
        self.sqlite = url.startswith("sqlite")
        self.url = f"sqlite:///{repo.root / '.agentctl' / 'agentctl.db'}" if self.sqlite else url
        self.store = Store(repo.root / ".agentctl" / "agentctl.db", None if self.sqlite else url)

    def record(self, run_id: str, *, verdict: str = "passed", findings: list[Any] | None = None, **fields: Any) -> None:
        """As ``agentctl run`` records a run: created, sandboxed, events through the writer, then its outcome."""
        store = self.store
        store.create_run(RunRecord(id=run_id, agent="claude", status="running", started_at=time.time()))
        store.update_run(run_id, sandbox=fields.pop("sandbox", "bwrap"))
        writer = EventWriter(store.path, None if self.sqlite else self.url)
        for seq in range(1, 6):
            writer.append(run_id, seq, "tool_start", time.time(), json.dumps({"kind": "tool_start", "n": seq}), None)
        writer.close()
        store.update_run(run_id, status=fields.pop("status", "completed"), ended_at=time.time(), tool_calls=5)
        store.update_run(run_id, verdict=verdict, findings=findings or [])
        store.update_run(run_id, changed_paths=fields.pop("changed_paths", ["src/app.py"]), **fields)

    def sql(self, statement: str) -> None:
        """What someone with access to the database does: its own client, no agentctl involved."""
        if self.sqlite:
            with sqlite3.connect(self.store.path) as conn:
                conn.executescript(statement)
            return
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(statement.encode())

    def trust(self, fmt: str = "json") -> tuple[dict[str, Any] | str, str]:
        env = {**os.environ, **HUMAN, "AGENTCTL_STORE": self.url}
        done = subprocess.run(
            [agentctl_binary(), "trust", "--format", fmt], cwd=self.repo.root, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return (json.loads(done.stdout) if fmt == "json" else done.stdout), done.stderr

    def vouched(self) -> int:
        """How many runs the checkpoint vouches for (the runs ``trust`` does not re-verify)."""
        return history.read(self.store, None, commits_matter=False).vouched


@pytest.fixture
def hist(store_url: str, repo: GitRepo) -> Any:
    repo.write(".gitignore", ".agentctl/\n")
    repo.commit("init")
    opened = History(repo, store_url)
    yield opened
    opened.store.close()


def scope(report: Any) -> tuple[int, int]:
    only = report["scopes"][0]
    return only["n"], only["successes"]


def test_a_record_altered_after_the_checkpoint_is_caught(hist: History) -> None:
    for n in range(24):
        hist.record(f"r-{n:02d}")
    hist.record("r-denied", verdict="blocked", findings=DENY)
    report, _ = hist.trust()
    assert scope(report) == (25, 24)
    assert hist.vouched() == 24  # checkpointed: the clean runs are now counted without re-verifying each

    hist.sql("UPDATE runs SET verdict = 'passed', findings = '[]' WHERE id = 'r-denied'")
    table, notes = hist.trust("table")
    assert "run r-denied not counted as clean: record FAILED verification" in notes
    assert "24/25 clean" in str(table)
    report, _ = hist.trust()
    assert scope(report) == (25, 24)
    assert [f["run"] for f in report["records"]["failed"]] == ["r-denied"]


def test_events_deleted_from_a_checkpointed_run_are_caught(hist: History) -> None:
    for n in range(21):
        hist.record(f"r-{n:02d}")
    assert scope(hist.trust()[0]) == (21, 21)
    hist.sql("DELETE FROM events WHERE run_id = 'r-07' AND seq > 3")
    _, notes = hist.trust("table")
    assert "run r-07 not counted as clean" in notes and "does not match its seal (3 events" in notes
    assert scope(hist.trust()[0]) == (21, 20)


def test_a_run_deleted_after_the_checkpoint_ends_autonomy(hist: History) -> None:
    for n in range(21):
        hist.record(f"r-{n:02d}")
    hist.record("r-bad", verdict="blocked", findings=DENY)
    assert hist.trust()[0]["scopes"][0]["decision"] == "supervised"
    hist.sql("DELETE FROM runs WHERE id = 'r-bad'")
    table, notes = hist.trust("table")
    assert "run(s) deleted from the store: r-bad" in notes
    assert "autonomous" not in str(table)


def test_a_forged_checkpoint_is_not_believed(hist: History) -> None:
    """Someone without the key rewrites the checkpoint to vouch for the altered rows: it is ignored."""
    for n in range(21):
        hist.record(f"r-{n:02d}")
    hist.record("r-denied", verdict="blocked", findings=DENY)
    hist.trust()
    hist.sql("UPDATE runs SET verdict = 'passed', findings = '[]' WHERE id = 'r-denied'")
    current, _ = checkpoint.fingerprints(hist.store.db, hist.store.backend)
    stored = json.loads(
        hist.store.db.execute("SELECT value FROM meta WHERE key = ?", (checkpoint.META_KEY,)).fetchone()[0]
    )
    stored["chunks"] = {str(c): f for c, f in current.items()}  # the fingerprints of the altered rows
    forged = json.dumps(stored).replace("'", "''")
    hist.sql(f"UPDATE meta SET value = '{forged}' WHERE key = '{checkpoint.META_KEY}'")
    report, notes = hist.trust()
    assert "run r-denied not counted as clean" in notes
    assert scope(report) == (22, 21)


def test_counted_and_listed_trust_agree_on_a_mixed_history(hist: History, monkeypatch: pytest.MonkeyPatch) -> None:
    """The table (clean runs counted by the store) and JSON (every run judged) give the same evidence."""
    from agentctl.pipeline.trust import report

    for n in range(22):
        hist.record(f"r-{n:02d}", changed_paths=["src/app.py"] if n % 2 else ["docs/readme.md", "src/x.py"])
    hist.record("r-blocked", verdict="blocked", findings=DENY)
    hist.record("r-nosandbox", sandbox="off")
    hist.record("r-failed", status="failed")
    hist.record("r-approval", verdict="approval_required")
    hist.store.add_approval("r-approval", "alice", "approve", "looked at it")
    hist.record("r-refused")
    hist.store.add_approval("r-refused", "bob", "deny", "no")
    hist.record("r-mention", findings=[{"rule_id": "x", "action": "warn", "status": "open", "message": "deny-list"}])
    hist.record("r-elsewhere", repo_url="example.com/other/repo")
    monkeypatch.setenv("AGENTCTL_STORE", hist.url)
    for _ in range(2):  # without, then with the checkpoint the first call leaves
        counted = report(hist.repo.root, detail=False)
        listed = report(hist.repo.root, detail=True)
        summary = [(s.agent, s.scope, s.n, s.successes, s.decision) for s in counted.scopes]
        assert summary == [(s.agent, s.scope, s.n, s.successes, s.decision) for s in listed.scopes]
        assert summary == [("claude", "repository", 28, 23, "supervised")]  # r-elsewhere: another repository
        assert sorted(d["run"] for d in counted.scopes[0].demotions) == sorted(
            d["run"] for d in listed.scopes[0].demotions
        )
        assert counted.history == listed.history == []
    assert hist.vouched() == 23  # the 22 and r-elsewhere (every repository); r-mention is read whole


def test_a_clean_run_inside_a_checkpointed_chunk_made_to_fail_is_not_counted(hist: History) -> None:
    """The checkpoint vouches for a chunk of clean runs; one of them is then edited to a blocked outcome.

    Counted from a stale checkpoint it would still be clean (21/21); the edit must make the chunk
    verified again, the edited run fail its seal, and the count drop.
    """
    for n in range(21):
        hist.record(f"r-{n:02d}")
    assert scope(hist.trust()[0]) == (21, 21)
    assert hist.vouched() == 21
    hist.sql("UPDATE runs SET verdict = 'blocked' WHERE id = 'r-05'")
    assert hist.vouched() == 0  # the chunk is no longer vouched for: every run in it verified again
    table, notes = hist.trust("table")
    assert "run r-05 not counted as clean: record FAILED verification" in notes
    assert "20/21 clean" in str(table)
    report, _ = hist.trust()
    assert scope(report) == (21, 20)
    assert [f["run"] for f in report["records"]["failed"]] == ["r-05"]


def test_an_event_moved_between_checkpointed_runs_is_caught(hist: History) -> None:
    """The chunk keeps its number of events: one run loses its last event, another gains it."""
    for n in range(21):
        hist.record(f"r-{n:02d}")
    assert scope(hist.trust()[0]) == (21, 21)
    hist.sql(
        "INSERT INTO events (run_id, seq, at, kind, payload, mac)"
        " SELECT 'r-04', 6, at, kind, payload, mac FROM events WHERE run_id = 'r-03' AND seq = 5;"
        " DELETE FROM events WHERE run_id = 'r-03' AND seq = 5;"
    )
    _, notes = hist.trust("table")
    assert "run r-03 not counted as clean" in notes and "run r-04 not counted as clean" in notes
    assert scope(hist.trust()[0]) == (21, 19)


def test_an_event_rewritten_in_place_is_not_vouched_for(hist: History) -> None:
    """Same runs, same number of events, one event's row rewritten: nothing is believed unverified."""
    for n in range(21):
        hist.record(f"r-{n:02d}")
    hist.trust()
    assert hist.vouched() == 21
    hist.sql('UPDATE events SET payload = \'{"kind": "tool_start", "n": 99}\' WHERE run_id = \'r-09\' AND seq = 2')
    if not hist.sqlite:  # PostgreSQL: an event older than the checkpoint rewritten means every chunk is re-verified
        assert hist.vouched() == 0
    assert scope(hist.trust()[0]) == (21, 21)  # the seal covers the chain's length and end; `runs verdict` the rest
    assert hist.vouched() == 21  # verified again and vouched for anew


def test_a_denial_recorded_for_a_checkpointed_run_is_counted(hist: History) -> None:
    """A person denies a run the checkpoint already vouches for as clean: it stops counting as clean."""
    for n in range(21):
        hist.record(f"r-{n:02d}")
    assert scope(hist.trust()[0]) == (21, 21)
    hist.store.add_approval("r-11", "alice", "deny", "this broke staging")
    table, _ = hist.trust("table")
    assert "20/21 clean" in str(table) and "demoted by r-11: a human denied approval" in str(table)
    assert scope(hist.trust()[0]) == (21, 20)


def test_a_checkpoint_of_the_previous_format_is_rebuilt_on_postgresql_and_kept_on_sqlite(hist: History) -> None:
    """Version 1 fingerprinted PostgreSQL rows differently: such a checkpoint vouches for nothing there."""
    for n in range(21):
        hist.record(f"r-{n:02d}")
    hist.trust()
    stored = json.loads(
        hist.store.db.execute("SELECT value FROM meta WHERE key = ?", (checkpoint.META_KEY,)).fetchone()[0]
    )
    body = {k: v for k, v in stored.items() if k not in ("mac", "events")}
    body["version"] = 1
    sealer = hist.store.sealer(create=False)
    assert sealer is not None
    old = json.dumps({**body, "mac": sealer.checkpoint(body)}).replace("'", "''")
    hist.sql(f"UPDATE meta SET value = '{old}' WHERE key = '{checkpoint.META_KEY}'")
    assert hist.vouched() == (21 if hist.sqlite else 0)
    assert hist.vouched() == 21  # PostgreSQL: verified again and written in the current format
    assert scope(hist.trust()[0]) == (21, 21)
