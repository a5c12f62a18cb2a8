"""The run store: SQLite (WAL) at ``.agentctl/agentctl.db`` or ``$AGENTCTL_STORE``."""
