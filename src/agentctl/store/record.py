"""One run's record as the store holds it (the ``runs`` row, decoded)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COUNTERS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "turns",
    "tool_calls",
    "tool_errors",
)


@dataclass
class RunRecord:
    id: str
    agent: str
    status: str
    started_at: float
    model: str | None = None
    session_id: str | None = None
    exit_code: int | None = None
    stop_reason: str | None = None
    ended_at: float | None = None
    cwd: str | None = None
    repo_root: str | None = None
    base_commit: str | None = None
    command: list[str] = field(default_factory=list)
    pid: int | None = None
    host: str | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    cost_source: str = "estimate"
    turns: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    verdict: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    export_state: str = "pending"
    trace_id: str | None = None
    parent_span_id: str | None = None
    started_by: str | None = None
    changed_paths: list[str] = field(default_factory=list)
    end_commit: str | None = None
    mac: str | None = None
    """The run's seal (see :mod:`agentctl.store.integrity`)."""
    sandbox: str | None = None
    """``bwrap`` (maybe with ``credentials=…``), ``off``, or ``None`` for runs recorded before sandboxes."""
    repo_url: str | None = None
    """The repository's identity (:mod:`agentctl.store.identity`), the same in every clone."""
    default_branch: str | None = None

    @property
    def duration(self) -> float | None:
        return (self.ended_at - self.started_at) if self.ended_at else None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens
