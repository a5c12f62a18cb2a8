"""What a person sees during a run: a live status line on a terminal, one line per event in CI."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from agentctl.model.run import AgentEvent, EventKind
from agentctl.redact import Redactor
from agentctl.runner.limits import Limits, Tracker
from agentctl.store.sqlite import RunRecord


def _short(value: Any, width: int = 80) -> str:
    text = value if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def describe_tool(name: str | None, tool_input: Any) -> str:
    if isinstance(tool_input, dict):
        for key in ("command", "cmd", "file_path", "path", "pattern", "url"):
            if key in tool_input:
                return f"{name} {_short(tool_input[key], 60)}"
        if "changes" in tool_input and isinstance(tool_input["changes"], list):
            paths = [str(c.get("path", "?")) for c in tool_input["changes"] if isinstance(c, dict)]
            return f"{name} {_short(', '.join(paths), 60)}"
    return str(name)


def budget_line(tracker: Tracker, limits: Limits) -> str:
    cost = f"${tracker.cost_usd:.4f}" + (f"/${limits.max_usd:g}" if limits.max_usd is not None else "")
    tokens = f"{tracker.usage.total:,} tok" + (f"/{limits.max_tokens:,}" if limits.max_tokens is not None else "")
    turns = f"{tracker.turns} turns" + (f"/{limits.max_turns}" if limits.max_turns is not None else "")
    calls = f"{tracker.tool_calls} calls" + (f"/{limits.max_tool_calls}" if limits.max_tool_calls is not None else "")
    return f"{turns} · {calls} · {tokens} · {cost}"


class PlainView:
    """Line per event on stderr: for CI logs and pipes."""

    def __init__(self, limits: Limits, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.limits = limits
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.start = time.monotonic()
        self.redactor = Redactor()

    def _write(self, text: str) -> None:
        if not self.quiet:
            self.stream.write(f"[{time.monotonic() - self.start:7.1f}s] {self.redactor.text(text)}\n")
            self.stream.flush()

    def started(self, run_id: str, command: list[str]) -> None:
        self._write(f"run {run_id}: {_short(' '.join(command), 120)}")

    def event(self, event: AgentEvent, tracker: Tracker) -> None:
        if event.kind is EventKind.SESSION:
            self._write(f"session {event.session_id or '?'} · model {event.model or '?'}")
        elif event.kind is EventKind.TOOL_START:
            self._write(
                f"tool  {describe_tool(event.tool_name, event.tool_input)}  ({budget_line(tracker, self.limits)})"
            )
        elif event.kind is EventKind.TOOL_END and not event.ok:
            self._write(f"tool failed: {_short(event.tool_output or '', 100)}")
        elif event.kind is EventKind.API_RETRY:
            self._write(f"API retry: {_short(event.data.get('error') or event.text or '', 100)}")
        elif event.kind is EventKind.ERROR:
            self._write(f"error: {_short(event.text or '', 140)}")
        elif event.kind is EventKind.GATE and (not event.ok or event.data.get("findings")):
            paths = event.data.get("paths") or []
            what = (
                f"{event.tool_name} {', '.join(paths)}" if paths else describe_tool(event.tool_name, event.tool_input)
            )
            self._write(f"gate {event.data.get('decision')}: {_short(what, 80)} — {event.text}")
        elif event.kind is EventKind.RESULT:
            self._write(f"result: {budget_line(tracker, self.limits)}")

    def finished(self, record: RunRecord) -> None:
        self._write(f"run {record.id} {record.status}" + (f": {record.stop_reason}" if record.stop_reason else ""))
        if record.sandbox == "off":
            self._write("the agent ran UNSANDBOXED (--sandbox off): this run never counts as clean trust evidence")


class LiveView(PlainView):
    """A status line that rewrites itself on a terminal, with events scrolling above it."""

    def __init__(self, limits: Limits) -> None:
        super().__init__(limits)
        from rich.console import Console
        from rich.live import Live

        self.console = Console(stderr=True)
        self.live = Live(console=self.console, refresh_per_second=8, transient=True)
        self.last_tool = ""

    def started(self, run_id: str, command: list[str]) -> None:
        self.live.start()
        self.console.print(f"[bold]run {run_id}[/bold]: {_short(' '.join(command), 120)}")

    def _write(self, text: str) -> None:
        self.console.print(
            f"[dim]{time.monotonic() - self.start:7.1f}s[/dim] {self.redactor.text(text)}", markup=True, highlight=False
        )

    def event(self, event: AgentEvent, tracker: Tracker) -> None:
        super().event(event, tracker)
        if event.kind is EventKind.TOOL_START:
            self.last_tool = describe_tool(event.tool_name, event.tool_input)
        self.live.update(f"[cyan]● {budget_line(tracker, self.limits)}[/cyan]  last: {self.last_tool}")

    def finished(self, record: RunRecord) -> None:
        self.live.stop()
        super().finished(record)
