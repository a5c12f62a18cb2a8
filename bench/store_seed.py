"""A large, correctly sealed run history written in bulk (COPY on PostgreSQL, executemany on SQLite).

Every row is what the store itself would write: the run's seal over its fields
and the heads of its event and approval chains, chained events, the store-wide
ledger. ``agentctl trust`` over it verifies clean unless something is altered.
Used by bench/store_bench.py and by the tests of trust over many runs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

from agentctl.store.integrity import Head
from agentctl.store.sqlite import RunRecord, Store

AGENTS = ("claude", "codex", "gemini", "aider")
FILES_PER_SCOPE = 20
RUN_COLUMNS = tuple(f.name for f in dataclasses.fields(RunRecord))


def scope_names(scopes: int) -> list[str]:
    return [f"svc-{n:04d}" for n in range(scopes)]


def config_yaml(scopes: int, min_runs: int = 20) -> str:
    """``agentctl.yaml`` with one trust scope per service directory."""
    lines = ["trust:", f"  min_runs: {min_runs}", "  scopes:"]
    for name in scope_names(scopes):
        lines += [f"    - name: {name}", f'      paths: ["{name}/**"]']
    return "\n".join(lines) + "\n"


def _runs(count: int, scopes: int, agents: tuple[str, ...], started: float) -> Iterator[RunRecord]:
    names = scope_names(scopes)
    for n in range(count):
        scope = names[n % scopes]
        agent = agents[(n // scopes) % len(agents)]
        files = [f"{scope}/src/f{(n * 7 + k) % FILES_PER_SCOPE}.py" for k in range(1 + n % 3)]
        demoted = n % 50 == 7  # 2%: a blocked verdict, the rest clean
        yield RunRecord(
            id=f"run-{n:07d}",
            agent=agent,
            status="completed",
            started_at=started + n,
            ended_at=started + n + 30.5,
            exit_code=0,
            command=[agent, "-p", "task"],
            host="ci",
            limits={"max_usd": 2.0},
            input_tokens=1200,
            output_tokens=300,
            cost_usd=0.0125,
            turns=3,
            tool_calls=3,
            verdict="blocked" if demoted else "passed",
            findings=[{"rule_id": "s3-public", "action": "block", "status": "open"}] if demoted else [],
            changed_paths=sorted(set(files)),
            sandbox="bwrap",
            export_state="done",
        )


def seed(store: Store, count: int, scopes: int, agents: tuple[str, ...] = AGENTS, events: int = 3) -> None:
    """``count`` finished runs spread over ``scopes`` x ``agents``, each with ``events`` chained events."""
    sealer = store.sealer(create=True)
    assert sealer is not None
    last = store.db.execute("SELECT seq, mac FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    ledger_seq, ledger_prev = (int(last[0]), str(last[1])) if last else (0, "")
    run_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    ledger_rows: list[tuple[Any, ...]] = []
    payload = json.dumps({"kind": "tool_start", "tool_name": "Bash", "tool_input": {"command": "make test"}})
    for run in _runs(count, scopes, agents, 1_700_000_000.0):
        prev = ""
        for seq in range(1, events + 1):
            at = run.started_at + seq
            prev = sealer.event(run.id, seq, at, "tool_start", payload, prev)
            event_rows.append((run.id, seq, at, "tool_start", payload, prev))
        fields = dataclasses.asdict(run)
        run.mac = sealer.run(fields, Head(events, prev or None), Head(0, None))
        ledger_seq += 1
        ledger_prev = sealer.ledger(ledger_seq, run.id, run.started_at, ledger_prev)
        ledger_rows.append((ledger_seq, run.id, run.started_at, ledger_prev))
        values = dataclasses.asdict(run)
        run_rows.append(tuple(json.dumps(v) if isinstance(v, (list, dict)) else v for v in values.values()))
    _bulk(store, "runs", RUN_COLUMNS, run_rows)
    _bulk(store, "events", ("run_id", "seq", "at", "kind", "payload", "mac"), event_rows)
    _bulk(store, "ledger", ("seq", "run_id", "started_at", "mac"), ledger_rows)


def _bulk(store: Store, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if store.backend == "postgresql":
        conn = store.db.conn
        copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN".encode()
        with conn.transaction(), conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    store.db.execute("BEGIN IMMEDIATE")
    store.db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
    store.db.execute("COMMIT")
