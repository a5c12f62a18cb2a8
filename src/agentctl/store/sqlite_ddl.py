# ruff: noqa: E501  (generated: one statement per line)
"""The SQLite DDL of :mod:`agentctl.store.schema` at its current version, compiled ahead of time.

Generated from the SQLAlchemy definition (tests/store/test_backends.py checks they agree) so
that creating a new store does not import SQLAlchemy, which costs a run's start-up ~0.3 s.
Regenerate: ``python -c "from agentctl.store import schema; print(schema.create_statements('sqlite'))"``.
"""

VERSION = 3
STATEMENTS = (
    "CREATE TABLE IF NOT EXISTS approvals (\n\trun_id TEXT NOT NULL, \n\tapprover TEXT NOT NULL, \n\tdecision TEXT NOT NULL, \n\treason TEXT NOT NULL, \n\tat FLOAT NOT NULL, \n\tseq INTEGER, \n\ttarget TEXT, \n\tcovers TEXT, \n\tmac TEXT\n)",
    "CREATE TABLE IF NOT EXISTS events (\n\trun_id TEXT NOT NULL, \n\tseq INTEGER NOT NULL, \n\tat FLOAT NOT NULL, \n\tkind TEXT NOT NULL, \n\tpayload TEXT NOT NULL, \n\tmac TEXT, \n\tPRIMARY KEY (run_id, seq)\n)",
    "CREATE TABLE IF NOT EXISTS ledger (\n\tseq INTEGER NOT NULL, \n\trun_id TEXT NOT NULL, \n\tstarted_at FLOAT NOT NULL, \n\tmac TEXT NOT NULL, \n\tPRIMARY KEY (seq)\n)",
    'CREATE TABLE IF NOT EXISTS meta (\n\t"key" TEXT NOT NULL, \n\tvalue TEXT, \n\tPRIMARY KEY ("key")\n)',
    "CREATE TABLE IF NOT EXISTS model_requests (\n\trun_id TEXT NOT NULL, \n\trequest INTEGER NOT NULL, \n\tprovider TEXT, \n\tpath TEXT, \n\tmodel_requested TEXT, \n\tmodel_answered TEXT, \n\tresponse_id TEXT, \n\tstatus INTEGER, \n\tattempt INTEGER, \n\tstarted_at FLOAT, \n\tfirst_byte_at FLOAT, \n\tended_at FLOAT, \n\tinput_tokens INTEGER, \n\toutput_tokens INTEGER, \n\tcache_read_tokens INTEGER, \n\tcache_write_tokens INTEGER, \n\treasoning_tokens INTEGER, \n\tcost_usd FLOAT, \n\tstop_reason TEXT, \n\terror_type TEXT, \n\testimated INTEGER, \n\tmax_tokens_requested INTEGER, \n\tmax_tokens_sent INTEGER, \n\tbudget TEXT, \n\tPRIMARY KEY (run_id, request)\n)",
    "CREATE TABLE IF NOT EXISTS runs (\n\tid TEXT NOT NULL, \n\tagent TEXT NOT NULL, \n\tmodel TEXT, \n\tsession_id TEXT, \n\tstatus TEXT NOT NULL, \n\texit_code INTEGER, \n\tstop_reason TEXT, \n\tstarted_at FLOAT NOT NULL, \n\tended_at FLOAT, \n\tcwd TEXT, \n\trepo_root TEXT, \n\tbase_commit TEXT, \n\tcommand TEXT, \n\tpid INTEGER, \n\thost TEXT, \n\tlimits TEXT, \n\tinput_tokens INTEGER DEFAULT '0', \n\toutput_tokens INTEGER DEFAULT '0', \n\tcache_read_tokens INTEGER DEFAULT '0', \n\tcache_write_tokens INTEGER DEFAULT '0', \n\tcost_usd FLOAT DEFAULT '0', \n\tcost_source TEXT DEFAULT 'estimate', \n\tturns INTEGER DEFAULT '0', \n\ttool_calls INTEGER DEFAULT '0', \n\ttool_errors INTEGER DEFAULT '0', \n\tverdict TEXT, \n\tfindings TEXT, \n\texport_state TEXT DEFAULT 'pending', \n\ttrace_id TEXT, \n\tparent_span_id TEXT, \n\tstarted_by TEXT, \n\tchanged_paths TEXT, \n\tend_commit TEXT, \n\tmac TEXT, \n\tsandbox TEXT, \n\trepo_url TEXT, \n\tdefault_branch TEXT, \n\tPRIMARY KEY (id)\n)",
    "CREATE INDEX IF NOT EXISTS model_requests_model ON model_requests (model_answered)",
    "CREATE INDEX IF NOT EXISTS runs_repo ON runs (repo_url, started_at)",
    "CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at)",
)
