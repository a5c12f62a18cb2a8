"""Run store performance, each figure against its target and a peer measured in the same run.

    python bench/store_bench.py [--writers 8] [--runs 50] [--events 50] [--trust-runs 100000] [--scopes 1000]
                                [--only trust]

``--only trust`` measures (b) alone (PostgreSQL, then SQLite for comparison).

(a) Event ingest from N concurrent writer processes, each recording runs the way
    ``agentctl run`` does (create, sandbox label, the writer thread, finish with
    seals), into SQLite and a private PostgreSQL cluster; peer: the same event
    rows inserted by N processes with the raw driver (sqlite3 / psycopg
    ``executemany``, one transaction per run, no MACs).
(b) ``agentctl trust`` wall time (the installed CLI, table format) over
    ``--trust-runs`` stored runs in ``--scopes`` scopes x 4 agents, first call
    (no checkpoint yet) and then warm; target <= 1 s on PostgreSQL. Peer: a
    Python process that connects and runs one ``GROUP BY`` over the same runs.
(c) Per-event cost of the run's writer on SQLite: what ``append`` costs the
    agent's reader (target <= 50 us) and the whole cost until committed;
    peer: raw sqlite3 ``executemany`` of the same rows.

The PostgreSQL cluster is started and stopped here (tests/store/conftest.py).
The machine's load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agentctl.store.sqlite import RunRecord, Store
from agentctl.store.writer import EventWriter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.store helpers, run as a script too

PAYLOAD = json.dumps({"kind": "tool_start", "tool_name": "Bash", "tool_input": {"command": "ls -la src/"}})
TRUST_TARGET_S = 1.0
APPEND_TARGET_US = 50.0
INGEST_TARGET = {"sqlite": 3000.0, "postgresql": 1500.0}
"""events/s from 8 writers: the issue's load test (80,000 events) in under a minute on PostgreSQL."""


def _open(url: str, keydir: Path) -> Store:
    if url.startswith("sqlite:///"):
        return Store(Path(url[len("sqlite:///") :]), None)
    return Store(keydir / "agentctl.db", url)


def _writer(url: str, keydir: str, prefix: str, runs: int, events: int) -> None:
    """As the supervisor records a run: create, sandbox label, events through EventWriter, finish."""
    store = _open(url, Path(keydir))
    server = None if url.startswith("sqlite:///") else url
    for n in range(runs):
        run_id = f"{prefix}-{n}"
        store.create_run(RunRecord(id=run_id, agent="claude", status="running", started_at=time.time()))
        store.update_run(run_id, sandbox="bwrap")
        writer = EventWriter(store.path, server)
        for seq in range(1, events + 1):
            writer.append(
                run_id, seq, "tool_start", time.time(), PAYLOAD, {"tool_calls": seq} if seq % 10 == 0 else None
            )
        writer.close()
        store.update_run(run_id, status="completed", ended_at=time.time(), exit_code=0, tool_calls=events)
    store.close()


def _raw_writer(url: str, prefix: str, runs: int, events: int) -> None:
    """The peer: the same event rows, the raw driver, one transaction per run."""
    sql = "INSERT INTO events (run_id, seq, at, kind, payload, mac) VALUES ({p}, {p}, {p}, {p}, {p}, {p})"
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///") :], timeout=60, isolation_level=None)
        for n in range(runs):
            rows = [(f"{prefix}-{n}", s, time.time(), "tool_start", PAYLOAD, "0" * 64) for s in range(1, events + 1)]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql.format(p="?"), rows)
            conn.execute("COMMIT")
        conn.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        for n in range(runs):
            rows = [(f"{prefix}-{n}", s, time.time(), "tool_start", PAYLOAD, "0" * 64) for s in range(1, events + 1)]
            with pg.transaction(), pg.cursor() as cursor:
                cursor.executemany(sql.format(p="%s").encode(), rows)


def _parallel(target: object, argsets: list[tuple[object, ...]]) -> float:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=target, args=args) for args in argsets]  # type: ignore[arg-type]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    if any(p.exitcode for p in procs):
        raise SystemExit("a writer process failed")
    return elapsed


def ingest(url: str, keydir: Path, writers: int, runs: int, events: int) -> tuple[float, float]:
    """(agentctl's events/s, the raw driver's events/s) from ``writers`` processes."""
    _open(url, keydir).close()
    elapsed = _parallel(_writer, [(url, str(keydir), f"w{i}", runs, events) for i in range(writers)])
    raw = _parallel(_raw_writer, [(url, f"raw{i}", runs, events) for i in range(writers)])
    store = _open(url, keydir)
    count = store.db.execute("SELECT COUNT(*) FROM events WHERE run_id LIKE 'w%'").fetchone()[0]
    store.close()
    assert count == writers * runs * events, (count, writers * runs * events)
    return count / elapsed, count / raw


def per_event_us(tmp: Path, events: int = 20000) -> tuple[float, float, float]:
    """(append: the agent's reader, until committed, raw sqlite3 executemany) in us per event."""
    store = Store(tmp / "hot" / "agentctl.db", None)
    store.create_run(RunRecord(id="hot", agent="claude", status="running", started_at=time.time()))
    writer = EventWriter(store.path, None)
    started = time.perf_counter()
    for seq in range(1, events + 1):
        writer.append("hot", seq, "tool_start", time.time(), PAYLOAD, None)
    appended = time.perf_counter() - started
    writer.close()
    drained = time.perf_counter() - started
    store.close()
    conn = sqlite3.connect(tmp / "hot" / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE events (run_id TEXT, seq INTEGER, at FLOAT, kind TEXT, payload TEXT, mac TEXT,"
        " PRIMARY KEY (run_id, seq))"
    )
    rows = [("hot", s, time.time(), "tool_start", PAYLOAD, "0" * 64) for s in range(1, events + 1)]
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    raw = time.perf_counter() - started
    conn.close()
    return appended / events * 1e6, drained / events * 1e6, raw / events * 1e6


def _repo(path: Path, scopes: int) -> Path:
    from bench import store_seed

    path.mkdir(parents=True)
    (path / "agentctl.yaml").write_text(store_seed.config_yaml(scopes))
    (path / ".gitignore").write_text(".agentctl/\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "init"]):
        subprocess.run(argv, cwd=path, env=env, check=True, capture_output=True)
    return path


def _agentctl() -> str:
    found = shutil.which("agentctl", path=str(Path(sys.executable).parent))
    return found or "agentctl"


def _server_cpu(url: str | None) -> float:
    """CPU seconds used so far by the cluster's finished backends (the postmaster's reaped children)."""
    if not url:
        return 0.0
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        data = conn.execute("SELECT setting FROM pg_settings WHERE name = 'data_directory'").fetchone()[0]
    pid = (Path(data) / "postmaster.pid").read_text().split()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime + cstime


def _cpu(run: Callable[[], object], url: str | None) -> tuple[float, float]:
    """(wall, CPU of the command and of its database backend): the CPU figure is the wall time on an idle machine,
    whatever else the shared machine is running."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server = _server_cpu(url)
    started = time.perf_counter()
    run()
    wall = time.perf_counter() - started
    time.sleep(0.2)  # the backend exits after its client
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, client + _server_cpu(url) - server


def trust_seconds(repo: Path, store: str | None, home: Path, calls: int = 3) -> tuple[float, float, float]:
    """(first call, median of the next ``calls``: wall and CPU) of ``agentctl trust``."""
    env = {**os.environ, "HOME": str(home), "CI": "", "AGENTCTL_RUN_ID": ""}
    if store:
        env["AGENTCTL_STORE"] = store

    def call() -> None:
        done = subprocess.run([_agentctl(), "trust"], cwd=repo, env=env, capture_output=True, text=True)
        if done.returncode != 0 or "FAILED" in done.stderr:
            raise SystemExit(f"agentctl trust failed: {done.stderr[-2000:]}")

    first, _ = _cpu(call, store)
    warm = [_cpu(call, store) for _ in range(calls)]
    return first, statistics.median(w for w, _ in warm), statistics.median(c for _, c in warm)


def _peer_query(url: str | None, db: Path | None) -> tuple[float, float]:
    """A Python process that connects and counts the runs per agent and changed paths: the floor."""
    if url:
        code = (
            "import sys, psycopg; c = psycopg.connect(sys.argv[1]);"
            " c.execute('SELECT agent, changed_paths, COUNT(*) FROM runs GROUP BY 1, 2').fetchall()"
        )
        argv = [sys.executable, "-c", code, url]
    else:
        code = (
            "import sys, sqlite3; c = sqlite3.connect(sys.argv[1]);"
            " c.execute('SELECT agent, changed_paths, COUNT(*) FROM runs GROUP BY 1, 2').fetchall()"
        )
        argv = [sys.executable, "-c", code, str(db)]
    return _cpu(lambda: subprocess.run(argv, check=True), url)


def trust_bench(tmp: Path, backend: str, server: str | None, runs: int, scopes: int) -> None:
    from bench import store_seed

    repo = _repo(tmp / f"trust-{backend}", scopes)
    url = None
    if server is not None:
        from tests.store.conftest import new_database

        url = new_database(server)
    store = Store(repo / ".agentctl" / "agentctl.db", url)
    started = time.perf_counter()
    store_seed.seed(store, runs, scopes)
    seeded = time.perf_counter() - started
    store.close()
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")  # as autovacuum would have by the time the history is this long
    first, warm, cpu = trust_seconds(repo, url, tmp)
    peer, peer_cpu = _peer_query(url, None if url else repo / ".agentctl" / "agentctl.db")
    verdict = "ok" if cpu <= TRUST_TARGET_S else "OVER TARGET"
    if backend == "sqlite":
        verdict = "none for SQLite, shown for comparison"
    print(
        f"(b) agentctl trust, {runs:,} runs, {scopes} scopes x {len(store_seed.AGENTS)} agents, {backend}:"
        f" {warm:.2f} s wall, {cpu:.2f} s CPU incl. the server (= wall on an idle machine; target"
        f" <= {TRUST_TARGET_S:.0f} s on PostgreSQL: {verdict}); first call (no checkpoint yet) {first:.2f} s wall;"
        f" peer (connect + one GROUP BY) {peer:.2f} s wall, {peer_cpu:.2f} s CPU, ratio {cpu / peer_cpu:.1f}x (CPU)"
        f"  [seeded in {seeded:.1f} s]"
    )


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--trust-runs", type=int, default=100_000)
    parser.add_argument("--scopes", type=int, default=1000)
    parser.add_argument("--only", choices=("trust",), help="measure only this part")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="agentctl-store-bench-"))
    print(_load())
    if args.only == "trust":
        from tests.store.conftest import private_cluster

        with private_cluster() as server:
            trust_bench(tmp, "postgresql", server, args.trust_runs, args.scopes)
        trust_bench(tmp, "sqlite", None, args.trust_runs, args.scopes)
        print(_load())
        shutil.rmtree(tmp, ignore_errors=True)
        return
    append, drained, raw = per_event_us(tmp)
    print(
        f"(c) EventWriter on SQLite: append {append:.1f} us/event (target <= {APPEND_TARGET_US:.0f}:"
        f" {'ok' if append <= APPEND_TARGET_US else 'OVER TARGET'}), {drained:.1f} us/event until committed;"
        f" peer raw sqlite3 executemany {raw:.1f} us/event, ratio {drained / raw:.1f}x"
    )
    from tests.store.conftest import new_database, private_cluster

    sq_url = f"sqlite:///{tmp / 'sq' / 'agentctl.db'}"
    rates = {"sqlite": ingest(sq_url, tmp / "sq", args.writers, args.runs, args.events)}
    with private_cluster() as server:
        rates["postgresql"] = ingest(new_database(server), tmp / "pg", args.writers, args.runs, args.events)
        for backend, (rate, peer) in rates.items():
            target = INGEST_TARGET[backend]
            print(
                f"(a) ingest, {args.writers} writers x {args.runs} runs x {args.events} events, {backend}:"
                f" {rate:,.0f} events/s (target >= {target:,.0f}: {'ok' if rate >= target else 'UNDER TARGET'});"
                f" peer raw driver executemany {peer:,.0f} events/s, ratio {rate / peer:.2f}"
            )
        print(_load())
        trust_bench(tmp, "postgresql", server, args.trust_runs, args.scopes)
    trust_bench(tmp, "sqlite", None, args.trust_runs, args.scopes)
    print(_load())
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
