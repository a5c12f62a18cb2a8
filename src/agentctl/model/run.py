"""Agent runs as the platform records them: normalised events, tool calls, run summaries.

Both agents' streams (Claude Code stream-json, Codex JSONL) become the same
``AgentEvent`` values; a run is the fold of its events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    SESSION = "session"
    """The agent started a session (session/thread id, model, tools)."""
    TURN = "turn"
    """One model response, with its token usage."""
    MESSAGE = "message"
    """Text the agent said."""
    TOOL_START = "tool_start"
    TOOL_END = "tool_end"
    API_RETRY = "api_retry"
    RESULT = "result"
    """The agent's final summary (Claude's ``result``, Codex's ``turn.completed``)."""
    ERROR = "error"
    GATE = "gate"
    """A policy decision on a proposed tool call (see the gateway)."""
    STDERR = "stderr"
    MODEL_REQUEST = "model_request"
    """One request through the model gateway: exact tokens, cost and timing (``data`` holds the record)."""
    RAW = "raw"
    """An event type this version does not know; kept as it came."""


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    AGENT_FAILED = "agent_failed"
    BUDGET_EXHAUSTED = "budget_exhausted"
    BREAKER_TRIPPED = "breaker_tripped"
    INTERRUPTED = "interrupted"
    GATE_FAILED = "gate_failed"
    GATE_BYPASSED = "gate_bypassed"
    """A tool ran with no gate decision (the hook was switched off or bypassed)."""
    TAMPER_DETECTED = "tamper_detected"
    """The protected set (policies, agentctl's store and config, agent hooks) changed during the run."""


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens


@dataclass
class AgentEvent:
    """One normalised event. Fields not relevant to ``kind`` stay at their defaults."""

    kind: EventKind
    at: float
    """Unix time the event was observed (or reported by the agent)."""
    raw_type: str = ""
    session_id: str | None = None
    model: str | None = None
    usage: Usage | None = None
    text: str | None = None
    tool_id: str | None = None
    tool_name: str | None = None
    tool_input: Any = None
    tool_output: str | None = None
    ok: bool = True
    cost_usd: float | None = None
    """Only the agent's own final figure (Claude's ``total_cost_usd``)."""
    num_turns: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    """Anything else worth keeping (unknown events keep their whole payload here)."""

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"kind": self.kind.value, "at": self.at}
        for name in (
            "raw_type",
            "session_id",
            "model",
            "text",
            "tool_id",
            "tool_name",
            "tool_output",
            "cost_usd",
            "num_turns",
        ):
            value = getattr(self, name)
            if value not in (None, ""):
                record[name] = value
        if self.tool_input is not None:
            record["tool_input"] = self.tool_input
        if self.usage is not None:
            record["usage"] = vars(self.usage)
        if not self.ok:
            record["ok"] = False
        if self.data:
            record["data"] = self.data
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AgentEvent:
        usage = record.get("usage")
        return cls(
            kind=EventKind(record["kind"]),
            at=float(record.get("at", 0.0)),
            raw_type=record.get("raw_type", ""),
            session_id=record.get("session_id"),
            model=record.get("model"),
            usage=Usage(**usage) if isinstance(usage, dict) else None,
            text=record.get("text"),
            tool_id=record.get("tool_id"),
            tool_name=record.get("tool_name"),
            tool_input=record.get("tool_input"),
            tool_output=record.get("tool_output"),
            ok=record.get("ok", True),
            cost_usd=record.get("cost_usd"),
            num_turns=record.get("num_turns"),
            data=record.get("data", {}),
        )
