"""Run store throughput: per-event cost of the run's writer, and ingest from 8 concurrent writers.

    python -m bench.store_bench [--writers 8] [--runs 20] [--events 50]

Prints the per-event cost of ``EventWriter`` on SQLite (target: <= 50 us), and
events/s from N writer processes into SQLite and into a private PostgreSQL
cluster (started like tests/store/conftest.py does, when the server is installed),
with the ratio PostgreSQL/SQLite measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from pathlib import Path

from agentctl.store.sqlite import RunRecord, Store
from agentctl.store.writer import EventWriter

PAYLOAD = json.dumps({"kind": "tool_start", "tool_name": "Bash", "tool_input": {"command": "ls -la src/"}})


def _open(url: str, keydir: Path) -> Store:
    if url.startswith("sqlite:///"):
        return Store(Path(url[len("sqlite:///") :]), None)
    return Store(keydir / "agentctl.db", url)


def _writer(url: str, keydir: str, prefix: str, runs: int, events: int) -> None:
    store = _open(url, Path(keydir))
    server = None if url.startswith("sqlite:///") else url
    for n in range(runs):
        run_id = f"{prefix}-{n}"
        store.create_run(RunRecord(id=run_id, agent="claude", status="running", started_at=time.time()))
        writer = EventWriter(store.path, server)
        for seq in range(1, events + 1):
            writer.append(
                run_id, seq, "tool_start", time.time(), PAYLOAD, {"tool_calls": seq} if seq % 10 == 0 else None
            )
        writer.close()
        store.update_run(run_id, status="completed", ended_at=time.time(), exit_code=0)
    store.close()


def ingest(url: str, keydir: Path, writers: int, runs: int, events: int) -> float:
    _open(url, keydir).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(url, str(keydir), f"w{i}", runs, events)) for i in range(writers)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    if any(p.exitcode for p in procs):
        raise SystemExit(f"a writer failed on {url.split('@')[-1]}")
    store = _open(url, keydir)
    count = store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    store.close()
    assert count == writers * runs * events, (count, writers * runs * events)
    return count / elapsed


def per_event_us(tmp: Path, events: int = 20000) -> float:
    store = Store(tmp / "hot" / "agentctl.db", None)
    store.create_run(RunRecord(id="hot", agent="claude", status="running", started_at=time.time()))
    writer = EventWriter(store.path, None)
    started = time.perf_counter()
    for seq in range(1, events + 1):
        writer.append("hot", seq, "tool_start", time.time(), PAYLOAD, None)
    appended = time.perf_counter() - started
    writer.close()
    store.close()
    return appended / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--events", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="agentctl-store-bench-"))
    print(f"EventWriter.append on SQLite: {per_event_us(tmp):.1f} us/event (target <= 50)")
    sqlite_rate = ingest(f"sqlite:///{tmp / 'sq' / 'agentctl.db'}", tmp / "sq", args.writers, args.runs, args.events)
    print(f"SQLite ingest, {args.writers} writers: {sqlite_rate:,.0f} events/s")
    from tests.store.conftest import new_database, private_cluster

    with private_cluster() as server:
        pg_rate = ingest(new_database(server), tmp / "pg", args.writers, args.runs, args.events)
    print(f"PostgreSQL ingest, {args.writers} writers: {pg_rate:,.0f} events/s")
    print(f"ratio PostgreSQL/SQLite: {pg_rate / sqlite_rate:.2f}")


if __name__ == "__main__":
    main()
