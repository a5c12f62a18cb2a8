"""``agentctl runs import`` / ``store sync`` handed forged, altered or hostile files.

A bundle or spool file is something a human was handed (a CI artifact, a file an
agent left in the repository): import verifies every run it adds or changes under
the store's key and stores nothing of a file that fails; a malformed file is a
one-line error with a hint and exit 2, never a traceback, and loses nothing.
"""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from agentctl.store.sqlite import Store
from tests.conftest import GitRepo
from tests.store.conftest import new_database
from tests.store.test_backends import cli, record
from tests.store.test_spool import _closed_port, _spool


def _setup(repo: GitRepo) -> tuple[str, list[str]]:
    """A repository store with one sealed run ``r-ok`` exported, and a team store (SQLite) sharing its key."""
    repo.write(".gitignore", ".agentctl/\nteam/\n")
    repo.commit("init")
    local = Store(repo.root / ".agentctl" / "agentctl.db", None)
    record(local, None, "r-ok", events=3)
    local.close()
    bundle = repo.root / ".agentctl" / "bundle.jsonl"
    assert cli(repo, "runs", "export", "--output", str(bundle)).returncode == 0
    team = repo.root / "team"
    team.mkdir()
    shutil.copy(repo.root / ".agentctl" / "store.key", team / "store.key")
    return f"sqlite:///{team / 'agentctl.db'}", bundle.read_text().splitlines()


def _runs(repo: GitRepo, target: str) -> dict[str, str]:
    out = cli(repo, "runs", "list", "--json", store=target)
    assert out.returncode == 0, out.stderr
    return {r["run_id"]: r["status"] for r in json.loads(out.stdout)}


def _refused(out: object, *needles: str) -> None:
    stderr = getattr(out, "stderr", "")
    assert getattr(out, "returncode", None) == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("agentctl: error: ") and lines[1].startswith("hint: "), stderr
    assert "Traceback" not in stderr and "internal error" not in stderr and "bug in agentctl" not in stderr
    for needle in needles:
        assert needle in lines[0], stderr


def test_a_forged_run_in_a_bundle_is_refused_and_nothing_of_the_file_is_imported(repo: GitRepo) -> None:
    """Found: a run line with a made-up seal (or edited fields) was imported with exit 0, and sat in the
    team store as a completed, passed run until a reader stumbled on it."""
    target, lines = _setup(repo)
    run = json.loads(lines[1])
    events = [json.loads(line) for line in lines[2:]]
    forged = [json.dumps({**run, "id": "r-forged", "verdict": "passed"})]
    forged += [json.dumps({**e, "run_id": "r-forged"}) for e in events]
    bundle = repo.write("forged.jsonl", "\n".join([*lines, *forged]) + "\n")
    _refused(cli(repo, "runs", "import", str(bundle), store=target), "r-forged", "would not verify")
    assert _runs(repo, target) == {}  # not even the good run of the same file: one transaction
    edited = repo.write("edited.jsonl", "\n".join([lines[0], json.dumps({**run, "verdict": "approved"}), *lines[2:]]))
    _refused(cli(repo, "runs", "import", str(edited), store=target), "r-ok", "would not verify")
    good = repo.write("good.jsonl", "\n".join(lines) + "\n")
    assert "1 new runs, 3 new events" in cli(repo, "runs", "import", str(good), store=target).stdout
    assert "0 new runs, 0 new events" in cli(repo, "runs", "import", str(good), store=target).stdout
    shown = json.loads(cli(repo, "runs", "show", "r-ok", "--json", store=target).stdout)
    assert shown["record"]["state"] == "verified"


def test_an_event_slipped_into_a_stored_run_is_refused(repo: GitRepo) -> None:
    """Found: an event line for a stored run (even with seq "one") was added, and the verified run was
    FAILED verification from then on: one hostile file spoilt good history for good."""
    target, lines = _setup(repo)
    good = repo.write("good.jsonl", "\n".join(lines) + "\n")
    assert cli(repo, "runs", "import", str(good), store=target).returncode == 0
    last = json.loads(lines[-1])
    for extra in ({**last, "seq": 4, "mac": "00" * 32}, {**last, "seq": 4, "mac": None}):
        bundle = repo.write("extra.jsonl", "\n".join([lines[0], json.dumps(extra)]) + "\n")
        _refused(cli(repo, "runs", "import", str(bundle), store=target), "stored run r-ok", "would not verify")
    approval = {
        "type": "approval",
        "run_id": "r-ok",
        "seq": 1,
        "target": None,
        "covers": [],
        "approver": "alice",
        "decision": "approve",
        "reason": "lgtm",
        "at": 1.0,
        "mac": "00" * 32,
    }
    forged = repo.write("approval.jsonl", "\n".join([lines[0], json.dumps(approval)]) + "\n")
    _refused(cli(repo, "runs", "import", str(forged), store=target), "stored run r-ok", "approval 1")
    bad_seq = repo.write("seq.jsonl", "\n".join([lines[0], json.dumps({**last, "seq": "one"})]) + "\n")
    _refused(cli(repo, "runs", "import", str(bad_seq), store=target), "'seq'", "wrong type")
    orphan = repo.write("orphan.jsonl", "\n".join([lines[0], json.dumps({**last, "run_id": "r-none"})]) + "\n")
    _refused(cli(repo, "runs", "import", str(orphan), store=target), "r-none")
    shown = json.loads(cli(repo, "runs", "show", "r-ok", "--json", store=target).stdout)
    assert shown["record"]["state"] == "verified" and len(shown["events"]) == 3


HOSTILE = {
    "deep": lambda h, r: h + "\n" + "[" * 100_000 + "]" * 100_000 + "\n",
    "binary": lambda h, r: h + "\n\udcff\udcfe garbage\n",
    "truncated": lambda h, r: h + "\n" + json.dumps(r)[:-30],
    "nan": lambda h, r: h + "\n" + json.dumps({**r, "id": "r-nan", "started_at": float("nan")}),
    "no id": lambda h, r: h + "\n" + json.dumps({"type": "run", "agent": "claude"}),
    "wrong type": lambda h, r: h + "\n" + json.dumps({**r, "id": "r-w", "started_at": "yesterday"}),
    "list id": lambda h, r: h + "\n" + json.dumps({**r, "id": ["r"]}),
    "approval": lambda h, r: h + "\n" + json.dumps({"type": "approval", "run_id": "r-ok", "at": "x"}),
    "array": lambda h, r: h + "\n[1, 2]\n",
    "huge": lambda h, r: h + "\n" + json.dumps({"type": "event", "payload": "a" * (33 << 20)}) + "\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_malformed_bundle_is_a_one_line_error_and_loses_nothing(repo: GitRepo, name: str) -> None:
    """Found: deep JSON, a binary line, a bad number or a huge line ended in 'internal error … this is a bug'."""
    target, lines = _setup(repo)
    good = repo.write("good.jsonl", "\n".join(lines) + "\n")
    assert cli(repo, "runs", "import", str(good), store=target).returncode == 0
    text = HOSTILE[name](lines[0], json.loads(lines[1]))
    bundle = repo.root / "hostile.jsonl"
    bundle.write_bytes(text.encode("utf-8", "surrogateescape"))
    _refused(cli(repo, "runs", "import", str(bundle), store=target), "hostile.jsonl")
    assert _runs(repo, target) == {"r-ok": "completed"}
    assert json.loads(cli(repo, "runs", "show", "r-ok", "--json", store=target).stdout)["record"]["state"] == (
        "verified"
    )


def test_store_sync_keeps_a_damaged_or_forged_spool_and_pushes_the_others(pg_server: str, repo: GitRepo) -> None:
    repo.write(".gitignore", ".agentctl/\n")
    repo.commit("init")
    keydir = repo.root / ".agentctl"
    unreachable = f"postgresql://agentctl@127.0.0.1:{_closed_port()}/team"
    good = _spool(keydir, unreachable, "r-good", 10**7, finished=True)
    forged = _spool(keydir, unreachable, "r-forged", 10**7, finished=True)
    with sqlite3.connect(forged) as db:
        db.execute("UPDATE runs SET verdict = 'passed', tool_calls = 0")
    damaged = _spool(keydir, unreachable, "r-damaged", 10**7, finished=True)
    with sqlite3.connect(damaged) as db:
        db.execute("UPDATE runs SET command = '{not json'")
    empty = keydir / "spool" / "zz-empty.db"
    empty.write_bytes(b"")
    url = new_database(pg_server)
    synced = cli(repo, "store", "sync", store=url)
    assert synced.returncode == 2 and "synced 1 of 4 spool files" in synced.stdout, synced.stderr
    assert "Traceback" not in synced.stderr and "internal error" not in synced.stderr
    assert (
        f"{forged}: kept" in synced.stderr and f"{damaged}: kept" in synced.stderr and f"{empty}: kept" in synced.stderr
    )
    assert "r-forged would not verify" in synced.stderr
    assert not good.exists() and forged.exists() and damaged.exists() and empty.exists()
    assert _runs(repo, url) == {"r-good": "completed"}


def test_a_spool_file_outside_the_spool_directory_verifies_under_the_stores_key(repo: GitRepo) -> None:
    """A file an agent left in the repository, with a key of its own beside it, seals nothing here."""
    target, _lines = _setup(repo)
    evil = repo.root / "evil" / "spool"
    evil.mkdir(parents=True)
    shutil.copy(repo.root / ".agentctl" / "agentctl.db", evil / "run.db")
    with sqlite3.connect(evil / "run.db") as db:
        db.execute("UPDATE runs SET verdict = 'approved', tool_calls = 0")
    (repo.root / "evil" / "store.key").write_text("ab" * 32 + "\n")
    _refused(cli(repo, "runs", "import", str(evil / "run.db"), store=target), "r-ok", "would not verify")
    assert _runs(repo, target) == {}
