"""Run one agent under budgets and breakers, recording every event as it arrives.

The agent runs in its own process group with stdin closed (``codex exec``
otherwise waits on "Reading additional input from stdin…"). Its stdout is read
line by line on a thread; the main loop folds events into the tracker, writes
them to the store, updates the view, and checks the clocks. Stopping is
graceful first: SIGINT, then SIGTERM, then SIGKILL of the whole group.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from agentctl import identity
from agentctl.agents.base import Adapter
from agentctl.errors import AgentctlError
from agentctl.export.otlp import trace_ids
from agentctl.model.run import AgentEvent, EventKind, RunStatus, Usage
from agentctl.redact import Redactor
from agentctl.runner.limits import Limits, Tracker, Trip
from agentctl.runner.pricing import PriceTable
from agentctl.runner.tripwire import Breach, Tripwire
from agentctl.sandbox import Backend, Profile
from agentctl.store.errors import StoreError
from agentctl.store.sqlite import RunRecord, Store
from agentctl.store.writer import EventWriter

FLUSH_SECONDS = 0.5
"""Run totals are written at most this often (every event is written at once)."""
STDERR_KEEP = 200
"""Last stderr lines kept in the record of a failed run."""


_FLUSH_KINDS = frozenset({EventKind.SESSION, EventKind.RESULT, EventKind.ERROR, EventKind.GATE})


class View(Protocol):
    def started(self, run_id: str, command: list[str]) -> None: ...

    def event(self, event: AgentEvent, tracker: Tracker) -> None: ...

    def finished(self, record: RunRecord) -> None: ...


@dataclass
class RunRequest:
    argv: list[str]
    adapter: Adapter
    limits: Limits
    prices: PriceTable
    cwd: Path
    repo_root: Path | None
    base_commit: str | None
    store: Store
    view: View
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    grace: float = 5.0
    redactor: Redactor = field(default_factory=Redactor)
    gate: bool = True
    policy_dirs: list[Path] = field(default_factory=list)
    interactive: bool = False
    """A person is at the terminal: require_approval calls are asked, not denied."""
    sandbox: Backend | None = None
    """Prepared by the caller (``None``: ``--sandbox off``); the agent is started through it."""
    profile: Profile | None = None
    sandbox_label: str = "off"
    """What the run record says about the sandbox (``bwrap``, ``off``, with allowed credentials)."""
    gateway: bool = True
    """Send the agent's model requests through the model gateway (exact usage, budgets before spending)."""
    capture_content: bool = False
    upstream: str | None = None
    """The model API the gateway forwards to, instead of the agent's configured one."""


@dataclass
class RunResult:
    record: RunRecord
    trip: Trip | None
    agent_exit: int | None
    interrupted: bool


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class _Interrupt:
    """SIGINT/SIGTERM to agentctl become a flag the main loop acts on."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.signum = signum

    def __exit__(self, *_: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class Supervisor:
    def __init__(self, request: RunRequest) -> None:
        self.request = request
        self.run_id = new_run_id()
        self.tracker = Tracker(request.limits, request.prices)
        self.seq = 0
        self.stderr_tail: list[str] = []
        self.failure: str | None = None
        self.gate_failed = False
        self.tripwire: Tripwire | None = None
        self.gate: _GateServer | None = None
        self.agent_command: list[str] = []
        self._flushed = 0.0
        self._lines: queue.Queue[tuple[str, str | None]] = queue.Queue()

    def record_event(self, event: AgentEvent) -> Trip | None:
        """Fold, redact, store, show: every event goes through here."""
        trip = self.tracker.observe(event)
        if (
            event.kind in (EventKind.RESULT, EventKind.ERROR)
            and not event.ok
            and not event.raw_type.startswith("agentctl")
        ):
            self.failure = self.failure or str(event.text or event.raw_type)[:300]
        payload = self.request.redactor.json(event.to_record())
        self.seq += 1
        now = time.monotonic()
        flush = trip is not None or event.kind in _FLUSH_KINDS or now - self._flushed > FLUSH_SECONDS
        if flush:
            self._flushed = now
        self.writer.append(
            self.run_id, self.seq, event.kind.value, event.at, payload, self.tracker.counters() if flush else None
        )
        self.request.view.event(event, self.tracker)
        return trip

    def run(self) -> RunResult:
        req = self.request
        command = req.adapter.command(req.argv)
        env = dict(req.env)
        self.trace = trace_ids(self.run_id, env.get("TRACEPARENT"))
        env["TRACEPARENT"] = self.trace.traceparent  # the agent's own telemetry joins the run's trace
        from agentctl.gateway.attach import attach

        self.gateway = attach(
            req.adapter.name,
            command,
            env,
            req.limits,
            req.prices,
            lambda record: self._lines.put(("model", json.dumps(record))),
            req.gateway,
            req.capture_content,
            req.upstream,
        )
        gate = None
        try:
            gate = self.gate = _GateServer.start(req, self.run_id) if req.gate else None  # while the gateway starts
            self.gateway.wait()
        except BaseException:
            if gate is not None:
                gate.stop()
            self.gateway.close()
            raise
        command, env = req.adapter.accounting(self.gateway.command, self.gateway.accounting), self.gateway.env
        self.tracker.metered = self.gateway.accounting == "gateway"
        self.tracker.cost_source = self.gateway.accounting if self.tracker.metered else self.tracker.cost_source
        self.tracker.turns_from_requests = self.tracker.metered and req.adapter.turns_from_requests
        if gate is not None:
            command = req.adapter.gate(command, gate.hook_command(req.adapter.name), gate.workdir, req.interactive)
            env["AGENTCTL_GATE_SOCKET"] = str(gate.socket)
            if req.interactive:
                env["AGENTCTL_GATE_TIMEOUT"] = "330"  # a person may take a while to answer
        env["AGENTCTL_RUN_ID"] = self.run_id  # inside a run: agentctl approve refuses
        self.tripwire = Tripwire.for_run(
            req.repo_root or req.cwd, req.policy_dirs, env, req.store.path, req.adapter.name, req.gate
        )
        if req.profile is not None:
            for name in req.profile.hidden_env:
                env.pop(name, None)
        self.agent_command = command  # what the record shows: the agent's own command line, not the sandbox's
        if req.sandbox is not None and req.profile is not None:
            _require_executable(command[0], env.get("PATH"), req.cwd)  # inside bwrap it would be a failed run
            extra = [gate.workdir] if gate is not None else []  # the hook's socket: reachable, read-only
            command = req.sandbox.wrap(command, req.profile.with_read_only(*extra))
        try:
            return self._run(command, env, gate)
        finally:
            if gate is not None:
                gate.stop()
            self.gateway.close()

    def _run(self, command: list[str], env: dict[str, str], gate: _GateServer | None) -> RunResult:
        req = self.request
        record = RunRecord(
            id=self.run_id,
            agent=req.adapter.name,
            status=RunStatus.RUNNING.value,
            started_at=time.time(),
            cwd=str(req.cwd),
            repo_root=str(req.repo_root) if req.repo_root else None,
            base_commit=req.base_commit,
            command=[req.redactor.text(a) for a in self.agent_command],
            pid=os.getpid(),
            limits=req.limits.as_dict(),
            trace_id=self.trace.trace_id,
            parent_span_id=self.trace.parent_span_id,
            started_by=identity.current(req.cwd),
        )
        process = subprocess.Popen(
            command,
            cwd=req.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.tracker.started = self.tracker.last_activity = time.monotonic()  # the clocks start with the agent
        req.store.create_run(record)
        req.store.update_run(self.run_id, sandbox=req.sandbox_label)
        self.writer = EventWriter(
            req.store.path, req.store.url or "", key_dir=req.store.key_dir, mirror=getattr(req.store, "mirror", None)
        )
        req.view.started(self.run_id, record.command)
        if self.gateway.note:
            self._note(self.gateway.note)
        readers = [
            threading.Thread(target=self._pump, args=("out", process.stdout), daemon=True),
            threading.Thread(target=self._pump, args=("err", process.stderr), daemon=True),
        ]
        if gate is not None:
            readers.append(threading.Thread(target=self._pump, args=("gate", gate.process.stdout), daemon=True))
        for reader in readers:
            reader.start()

        trip: Trip | None = None
        interrupted = False
        open_streams = 2
        with _Interrupt() as interrupt:
            while open_streams:
                if interrupt.signum is not None and not interrupted:
                    interrupted = True
                    self._note(f"agentctl received {signal.Signals(interrupt.signum).name}; stopping the agent")
                    self._stop(process)
                try:
                    stream, line = self._lines.get(timeout=0.1)
                except queue.Empty:
                    if trip is None and not interrupted:
                        trip = self.tracker.tick()
                        if trip is not None:
                            self._trip(trip, process)
                    self._tripped(self.tripwire.tick() if self.tripwire else None, process)
                    continue
                if stream == "gate":
                    self._gate_line(line, process)
                    continue
                if stream == "model":
                    found = self._model_request(line)
                    if found is not None and trip is None and not interrupted:
                        trip = found
                        self._trip(trip, process)
                    continue
                if line is None:
                    open_streams -= 1
                    continue
                if stream == "err":
                    self._stderr(line)
                    continue
                if trip is not None or interrupted:
                    # Still record what the agent says while it shuts down.
                    for event in req.adapter.feed(line):
                        self.record_event(event)
                        self._watch(event, process)
                    continue
                for event in req.adapter.feed(line):
                    found = self.record_event(event)
                    self._watch(event, process)
                    if found is not None and trip is None:
                        trip = found
                        self._trip(trip, process)
            agent_exit = self._wait(process)
            self._final_tripwire(process)
        self.gateway.close()
        while not self._lines.empty():  # requests that ended as the agent exited
            stream, line = self._lines.get_nowait()
            if stream == "model":
                self._model_request(line)
        if interrupt.signum is not None:
            interrupted = True
        self.writer.close()
        status, reason = self._status(trip, interrupted, agent_exit)
        req.store.update_run(
            self.run_id,
            status=status.value,
            stop_reason=reason,
            ended_at=time.time(),
            **self.tracker.counters(),
        )
        return RunResult(req.store.get_run(self.run_id), trip, agent_exit, interrupted)

    # -- internals -------------------------------------------------------
    def _pump(self, name: str, stream: Any) -> None:
        try:
            for raw in iter(stream.readline, b""):
                self._lines.put((name, raw.decode("utf-8", errors="replace")))
        except (OSError, ValueError):
            pass
        finally:
            self._lines.put((name, None))

    def _model_request(self, line: str | None) -> Trip | None:
        """A request the gateway finished: an event (exact usage, cost, timing) and a table row."""
        record = json.loads(line or "{}")
        usage = record.get("usage")
        event = AgentEvent(
            EventKind.MODEL_REQUEST,
            float(record.get("ended") or time.time()),
            raw_type="agentctl/gateway",
            model=record.get("model_answered") or record.get("model_requested"),
            usage=Usage(**usage) if usage else None,
            ok=not record.get("error_type"),
            data=record,
        )
        trip = self.record_event(event)
        with contextlib.suppress(sqlite3.Error, StoreError):  # the event above is the record; the table is an index
            self.request.store.add_model_request(self.run_id, record)
        return trip

    def _gate_line(self, line: str | None, process: subprocess.Popen[bytes]) -> None:
        if line is None:
            if process.poll() is None:
                self.gate_failed = True
                if self.tripwire is not None:
                    self.tripwire.bypass = None  # calls are denied by the hook itself now, without a decision line
                self.record_event(
                    AgentEvent(
                        EventKind.ERROR,
                        time.time(),
                        raw_type="agentctl/gate",
                        ok=False,
                        text="the gate server stopped mid-run; every further tool call is denied (fail closed)",
                    )
                )
            return
        try:
            record = json.loads(line)
        except ValueError:
            return
        if record.get("kind") == "verify":
            from agentctl.runner.verify import verify_record  # the engine: only once IaC slipped past

            self.record_event(verify_record(record))
            return
        if record.get("kind") != "gate":
            return
        decision = str(record.get("decision"))
        if self.tripwire is not None:
            self.tripwire.decision(record)
        self.record_event(
            AgentEvent(
                EventKind.GATE,
                float(record.get("at") or time.time()),
                raw_type="agentctl/gate",
                tool_name=record.get("tool_name"),
                tool_id=record.get("tool_id"),
                tool_input=record.get("tool_input"),
                text=record.get("reason"),
                ok=decision == "allow",
                data={
                    "decision": decision,
                    "findings": record.get("findings", []),
                    "paths": record.get("paths", []),
                    "approver": record.get("approver"),
                },
            )
        )
        if record.get("approver"):
            from agentctl.trust.approvals import gate_binding

            target, covers = gate_binding(record)  # this tool call, these rules on these paths: nothing else
            self.request.store.add_approval(
                self.run_id, str(record["approver"]), "approve", str(record.get("reason")), target=target, covers=covers
            )

    def _watch(self, event: AgentEvent, process: subprocess.Popen[bytes]) -> None:
        if (
            event.kind is EventKind.TOOL_END
            and self.gate is not None
            and (self.request.adapter.name != "claude" or not event.ok)
        ):
            self.gate.nudge()  # Claude's PostToolUse hook verifies after a tool that succeeded
        if self.tripwire is not None:
            self._tripped(self.tripwire.event(event) or self.tripwire.tick(), process)

    def _tripped(self, breach: Breach | None, process: subprocess.Popen[bytes] | None) -> None:
        """A tripwire fired: record it (on the tool, for the trace) and stop the agent."""
        if breach is None:
            return
        self.record_event(breach.event())
        if process is not None:
            self._stop(process)

    def _final_tripwire(self, process: subprocess.Popen[bytes]) -> None:
        """The end of the run: wait out the grace for late decision lines, then judge what is left."""
        wire = self.tripwire
        if wire is None:
            return
        deadline = time.monotonic() + (wire.bypass.grace if wire.bypass else 0.0)
        while wire.waiting and not self.gate_failed and time.monotonic() < deadline:
            try:
                stream, line = self._lines.get(timeout=0.05)
            except queue.Empty:
                continue
            if stream == "gate":
                self._gate_line(line, process)
        if not self.gate_failed:
            self._tripped(wire.tick(final=True), None)
        self._tripped(wire.check_protected(final=True), None)

    def _stderr(self, line: str) -> None:
        text = self.request.redactor.text(line.rstrip("\n"))
        if not text:
            return
        self.stderr_tail = [*self.stderr_tail[-(STDERR_KEEP - 1) :], text]

    def _note(self, text: str) -> None:
        self.record_event(AgentEvent(EventKind.RAW, time.time(), raw_type="agentctl", text=text))

    def _trip(self, trip: Trip, process: subprocess.Popen[bytes]) -> None:
        self.record_event(
            AgentEvent(
                EventKind.ERROR,
                time.time(),
                raw_type=f"agentctl/{trip.kind}",
                ok=False,
                text=trip.message,
                data={"limit": trip.name},
            )
        )
        self._stop(process)

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        """SIGINT, then SIGTERM, then SIGKILL to the agent's whole process group."""
        threading.Thread(target=self._escalate, args=(process,), daemon=True).start()

    def _escalate(self, process: subprocess.Popen[bytes]) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if process.poll() is not None:
                break
            group = process.pid
            if self.request.sandbox is not None and signum != signal.SIGKILL:
                group = self.request.sandbox.signal_group(process.pid)  # the agent, not the sandbox around it
            try:
                os.killpg(group, signum)
            except (ProcessLookupError, PermissionError):
                break
            try:
                process.wait(timeout=self.request.grace)
                break
            except subprocess.TimeoutExpired:
                continue
        # Children the agent left behind in its group go too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def _wait(self, process: subprocess.Popen[bytes]) -> int:
        while True:
            try:
                return process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue

    def _status(self, trip: Trip | None, interrupted: bool, agent_exit: int) -> tuple[RunStatus, str | None]:
        breach = self.tripwire.breach if self.tripwire else None
        if breach is not None:  # a bypass outranks everything else the run did
            return RunStatus(breach.status), breach.message
        if interrupted:
            return RunStatus.INTERRUPTED, "interrupted by the user"
        if trip is not None:
            status = RunStatus.BUDGET_EXHAUSTED if trip.kind == "budget" else RunStatus.BREAKER_TRIPPED
            return status, trip.message
        if self.gate_failed:
            return RunStatus.GATE_FAILED, "the gate server stopped mid-run; tool calls after that were denied"
        if agent_exit != 0 or self.failure:
            detail = self.failure or (self.stderr_tail[-1] if self.stderr_tail else "")
            return RunStatus.AGENT_FAILED, f"agent exited with {agent_exit}" + (f": {detail}" if detail else "")
        return RunStatus.COMPLETED, None


class _GateServer:
    """The per-run ``agentctl gate serve`` process and its private socket directory."""

    def __init__(self, process: subprocess.Popen[bytes], workdir: Path) -> None:
        self.process = process
        self.workdir = workdir
        self.socket = workdir / "gate.sock"

    @classmethod
    def start(cls, req: RunRequest, run_id: str) -> _GateServer:
        workdir = Path(tempfile.mkdtemp(prefix="agentctl-"))
        os.chmod(workdir, 0o700)
        command = [sys.executable, "-m", "agentctl", "gate", "serve", "--socket", str(workdir / "gate.sock")]
        command += ["--root", str(req.repo_root or req.cwd), "--run-id", run_id]
        if req.base_commit:
            command += ["--base-commit", req.base_commit]
        if req.interactive:
            command.append("--interactive")
        for directory in req.policy_dirs:
            command += ["--policies", str(directory)]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # interactive: stay in agentctl's session so /dev/tty is the person's terminal
            start_new_session=not req.interactive,
            preexec_fn=_die_with_parent,
        )
        assert process.stdout is not None
        ready = process.stdout.readline()
        if not ready.startswith(b'{"kind": "ready"'):
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            process.kill()
            shutil.rmtree(workdir, ignore_errors=True)
            detail = error.strip().splitlines()[-1] if error.strip() else "the gate server did not start"
            raise GateStartError(
                f"the policy gate could not start: {detail}", "fix the policy files (agentctl rules shows them)"
            )
        return cls(process, workdir)

    @staticmethod
    def hook_command(agent: str) -> str:
        """``python -S gate/client.py``: no site, no agentctl import; a few milliseconds per call."""
        from agentctl.gate import client

        return shlex.join([sys.executable, "-S", client.__file__, "--agent", agent])

    def nudge(self) -> None:
        """After a tool result: the server verifies the worktree (Codex has no PostToolUse hook of ours)."""

        def send() -> None:
            from agentctl.gate import client

            with contextlib.suppress(Exception):
                client.ask(str(self.socket), "agentctl", b"{}", protocol=client.POST_PROTOCOL)

        threading.Thread(target=send, daemon=True).start()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


class GateStartError(AgentctlError):
    """The gate server could not start (for example a broken policy file)."""


def _require_executable(name: str, path: str | None, cwd: Path) -> None:
    """Raise ``FileNotFoundError`` as ``Popen`` would for a command that does not exist."""
    found = shutil.which(str(cwd / name), path=path) if "/" in name else shutil.which(name, path=path)
    if found is None:
        raise FileNotFoundError(2, "No such file or directory", name)


def _die_with_parent() -> None:
    """Linux: the agent gets SIGKILL if agentctl itself is SIGKILLed (no orphaned agents)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
