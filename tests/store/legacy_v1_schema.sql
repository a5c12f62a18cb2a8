CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    model TEXT,
    session_id TEXT,
    status TEXT NOT NULL,
    exit_code INTEGER,
    stop_reason TEXT,
    started_at REAL NOT NULL,
    ended_at REAL,
    cwd TEXT,
    repo_root TEXT,
    base_commit TEXT,
    command TEXT,
    pid INTEGER,
    host TEXT,
    limits TEXT,
    input_tokens INTEGER DEFAULT 0,
    output_tokens INTEGER DEFAULT 0,
    cache_read_tokens INTEGER DEFAULT 0,
    cache_write_tokens INTEGER DEFAULT 0,
    cost_usd REAL DEFAULT 0,
    cost_source TEXT DEFAULT 'estimate',
    turns INTEGER DEFAULT 0,
    tool_calls INTEGER DEFAULT 0,
    tool_errors INTEGER DEFAULT 0,
    verdict TEXT,
    findings TEXT,
    export_state TEXT DEFAULT 'pending',
    trace_id TEXT,
    parent_span_id TEXT,
    started_by TEXT,
    changed_paths TEXT,
    end_commit TEXT,
    mac TEXT,
    sandbox TEXT
);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    mac TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_at);
CREATE TABLE IF NOT EXISTS approvals (
    run_id TEXT NOT NULL REFERENCES runs(id),
    approver TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL,
    seq INTEGER,
    target TEXT,
    covers TEXT,
    mac TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    started_at REAL NOT NULL,
    mac TEXT NOT NULL
);
