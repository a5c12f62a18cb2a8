"""Tripwires: a bypass of the control plane is detected and ends the run.

Two checks, both fed by the supervisor's event loop:

* **gate_bypassed** — every tool use the agent reports must have a gate
  decision. Claude Code names its tool uses (``toolu_…``) and its PreToolUse
  payload carries the same id. Codex's JSONL items (``item_N``) carry no
  ``call_id``; its hook payload does, so a Codex item is matched to one unused
  *allowed* decision of the same class (shell, patch, MCP), oldest first: the
  hook always runs before Codex reports the item. A tool that ran without one,
  after a short grace for the decision line racing the result line, is a breach.
* **tamper_detected** — the protected set is fingerprinted at start and
  compared after every tool call and at the end. The agents' own state inside
  their configuration homes (transcripts, caches, sqlite logs) changes on every
  run, so there only the files that configure them are watched.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentctl import protect
from agentctl.model.run import AgentEvent, EventKind

GRACE = 3.0
"""Seconds a tool result may precede its gate decision line (two pipes, two reader threads)."""

AGENTCTL_CREATES = ("store.key",)
"""Files under ``.agentctl/`` the store creates on its first write (possibly during the run); changing
one that exists is tamper. (Inside the sandbox the agent cannot create them first.)"""
PROTECT_EVERY = 1.0
"""Seconds between checks of the protected set while no tool result arrives."""

STORE_FILES = ("agentctl.db", "agentctl.db-wal", "agentctl.db-shm", "agentctl.db-journal")
RUNTIME_DIRS = ("run", "tmp", "cache", "spool")
"""agentctl's own writes under ``.agentctl/`` during a run (``spool``: runs recorded for a server store that
could not be reached, :mod:`agentctl.store.spool`): never a tamper."""

CLAUDE_HOME_CONFIG = (
    "settings.json",
    "settings.local.json",
    "managed-settings.json",
    "hooks",
    "agents",
    "commands",
    "skills",
    "plugins/installed_plugins.json",
    "plugins/known_marketplaces.json",
)
"""What configures Claude Code in ``~/.claude`` (the rest is its own state: projects, todos, snapshots,
marketplace clones — a plugin is switched on in ``settings.json`` / ``installed_plugins.json``)."""
CODEX_HOME_CONFIG = ("config.toml", "hooks.json", "requirements.toml", "managed_config.toml", "rules")
"""What configures Codex in ``$CODEX_HOME`` (the rest: sessions, sqlite logs, system skills, plugin
caches Codex syncs itself — plugins and their hooks are switched on in ``config.toml``)."""
CLAUDE_JSON_KEYS = (
    "mcpServers",
    "allowedTools",
    "enabledMcpjsonServers",
    "disabledMcpjsonServers",
    "enableAllProjectMcpServers",
)
"""The parts of ``~/.claude.json`` that grant tools (Claude rewrites the rest on every start)."""

_SHELL_TOOLS = frozenset({"Bash", "exec_command", "shell", "local_shell", "unified_exec", "container.exec"})
_PATCH_TOOLS = frozenset({"apply_patch", "Write", "Edit", "MultiEdit"})
_NOT_RUN = ("<tool_use_error>", "The user doesn't want to proceed", "[Request interrupted by user")
"""How Claude Code's own error results begin for a tool use it never ran (invalid input, or cancelled on stop)."""
_CODEX_ITEMS = {"command_execution": "shell", "file_change": "patch", "mcp_tool_call": "mcp"}
"""Codex items that run locally through the hook (``web_search`` runs at the provider)."""


@dataclass(frozen=True)
class Breach:
    status: str
    """``gate_bypassed`` or ``tamper_detected`` (a ``RunStatus`` value)."""
    message: str
    tool_id: str | None = None
    tool_name: str | None = None
    paths: tuple[str, ...] = ()

    def event(self) -> AgentEvent:
        """The run record's entry (on the tool, for the trace)."""
        data: dict[str, Any] = {"tripwire": self.status}
        if self.paths:
            data["paths"] = list(self.paths)
        return AgentEvent(
            EventKind.ERROR,
            time.time(),
            raw_type=f"agentctl/{self.status}",
            ok=False,
            text=self.message,
            tool_id=self.tool_id,
            tool_name=self.tool_name,
            data=data,
        )


@dataclass
class _Pending:
    deadline: float
    name: str
    cls: str = ""


def _decision_class(tool_name: str) -> str:
    if tool_name in _SHELL_TOOLS:
        return "shell"
    if tool_name in _PATCH_TOOLS:
        return "patch"
    if tool_name.startswith("mcp"):
        return "mcp"
    return "other"


@dataclass
class BypassWatch:
    """Tool uses from the agent's stream against decisions from the gate server."""

    agent: str
    grace: float = GRACE
    decided: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)
    pending: dict[str, _Pending] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    unused: dict[str, deque[str]] = field(default_factory=dict)
    """Codex: allowed decisions (call ids) not yet matched to an item, per class."""

    def decision(self, tool_id: str | None, tool_name: str | None, decision: str, now: float) -> None:
        if self.agent == "codex":
            if decision != "allow":
                return  # Codex reports no item for a call its hook denied
            cls = _decision_class(str(tool_name or ""))
            waiting = [k for k, p in self.pending.items() if p.cls == cls]
            if waiting:
                del self.pending[waiting[0]]
            else:
                self.unused.setdefault(cls, deque()).append(str(tool_id))
            return
        if tool_id:
            self.decided.add(tool_id)
            self.pending.pop(tool_id, None)

    def event(self, event: AgentEvent, now: float) -> None:
        if self.agent == "codex":
            self._codex(event, now)
            return
        if event.kind is EventKind.TOOL_START and event.tool_id:
            self.names[event.tool_id] = str(event.tool_name)
        elif event.kind is EventKind.TOOL_END and event.tool_id and event.tool_id not in self.decided:
            if not event.ok and (event.tool_output or "").lstrip().startswith(_NOT_RUN):
                return  # Claude Code refused or cancelled it before any hook: it never ran
            name = self.names.get(event.tool_id, str(event.tool_name or "tool"))
            self.pending[event.tool_id] = _Pending(now + self.grace, name)

    def _codex(self, event: AgentEvent, now: float) -> None:
        if event.kind not in (EventKind.TOOL_START, EventKind.TOOL_END) or not event.tool_id:
            return
        item_type = event.raw_type.split("/", 1)[-1]
        cls = _CODEX_ITEMS.get(item_type)
        if cls is None or event.tool_id in self.seen:
            return
        self.seen.add(event.tool_id)
        queue = self.unused.get(cls)
        if queue:
            queue.popleft()
            return
        self.pending[event.tool_id] = _Pending(now + self.grace, str(event.tool_name or item_type), cls)

    def due(self, now: float, final: bool = False) -> Breach | None:
        for tool_id, pending in self.pending.items():
            if final or pending.deadline <= now:
                return Breach(
                    "gate_bypassed",
                    f"{pending.name} ({tool_id}) ran without a gate decision: the PreToolUse hook was "
                    "bypassed or switched off",
                    tool_id=tool_id,
                    tool_name=pending.name,
                )
        return None


class ProtectWatch:
    """The protected set's fingerprint, taken at start and compared after every tool call.

    After a tool call, one ``lstat`` per entry is compared first: a write, a
    rename or a ``utime`` always moves the inode change time (``st_ctime``),
    which a process cannot set. Only when that differs are contents hashed
    (``protect.fingerprint``) to name what changed.
    """

    def __init__(self, paths: Iterable[Path], skip: Iterable[Path], claude_json: Path | None) -> None:
        self.paths = tuple(paths)
        self.skip = tuple(skip)
        self.skipped = {str(p) for p in self.skip}
        self.claude_json = claude_json
        self.created_ok = {str(p / name) for p in self.paths if p.name == ".agentctl" for name in AGENTCTL_CREATES}
        self.stats = self.stat_all()
        self.start = self.snapshot()

    def snapshot(self) -> dict[str, str]:
        prints = protect.fingerprint(self.paths, skip=self.skip)
        if self.claude_json is not None:
            prints[str(self.claude_json)] = _claude_json_digest(self.claude_json)
        return prints

    def stat_all(self) -> list[tuple[str, tuple[int, ...]]]:
        out: list[tuple[str, tuple[int, ...]]] = []
        for base in self.paths:
            _stat_walk(str(base), out, self.skipped)
        if self.claude_json is not None:
            _stat_walk(str(self.claude_json), out, self.skipped)
        return out

    def changed(self, final: bool = False) -> list[str]:
        stats = self.stat_all()
        if stats == self.stats:
            return []
        now = self.snapshot()
        key = str(self.claude_json) if self.claude_json is not None else None
        if key is not None and now.get(key) == "unparsable" and not final:
            now[key] = self.start.get(key, "-")  # Claude Code mid-write; judged again next time
        found = protect.changed(self.start, now)
        for path in [p for p in found if p in self.created_ok and self.start.get(p, "-") == "-"]:
            self.start[path] = now[path]  # agentctl's store created its key: from now on, it is watched
            found.remove(path)
        if not found:
            self.stats = stats  # same content as at start (Claude rewrote ~/.claude.json): the new baseline
        return found


def _stat_walk(path: str, out: list[tuple[str, tuple[int, ...]]], skipped: set[str]) -> None:
    if path in skipped:
        return
    try:
        info = os.lstat(path)
    except OSError:
        out.append((path, ()))
        return
    out.append((path, (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)))
    if stat.S_ISDIR(info.st_mode):
        try:
            names = sorted(os.listdir(path))
        except OSError:
            return
        for name in names:
            _stat_walk(os.path.join(path, name), out, skipped)


def _claude_json_digest(path: Path) -> str:
    """A digest of what grants tools; empty settings (what Claude Code writes on first start) equal no file."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        data = {}
    except (OSError, ValueError):
        return "unparsable"
    if not isinstance(data, dict):
        return "unparsable"

    def grants(entry: dict[str, Any]) -> dict[str, Any]:
        return {k: entry[k] for k in CLAUDE_JSON_KEYS if entry.get(k)}

    view: dict[str, Any] = grants(data)
    projects = data.get("projects")
    if isinstance(projects, dict):
        view["projects"] = {
            name: grants(p) for name, p in sorted(projects.items()) if isinstance(p, dict) and grants(p)
        }
    return hashlib.blake2b(json.dumps(view, sort_keys=True).encode(), digest_size=16).hexdigest()


def watch_list(
    root: Path, policy_dirs: Iterable[Path], env: dict[str, str], store_path: Path | None
) -> tuple[list[Path], list[Path], Path | None]:
    """Paths to fingerprint, paths to skip, and the ``~/.claude.json`` to read as a view."""
    home = Path(env.get("HOME") or Path.home())
    codex_home = env.get("CODEX_HOME") or None
    protected = protect.protected_set(root, policy_dirs, home=home, codex_home=codex_home)
    agent_homes = {
        _abs(home / ".claude"): CLAUDE_HOME_CONFIG,
        _abs(home / ".codex"): CODEX_HOME_CONFIG,
    }
    if codex_home:
        agent_homes[_abs(Path(codex_home))] = CODEX_HOME_CONFIG
    claude_json = _abs(home / ".claude.json")
    paths: list[Path] = []
    for path in protected.watched:
        if path == claude_json:
            continue
        if path in agent_homes:
            paths += [path / entry for entry in agent_homes[path]]
        else:
            paths.append(path)
    state = root / ".agentctl"
    skip = [_abs(state / name) for name in (*STORE_FILES, *RUNTIME_DIRS)]
    if store_path is not None:
        skip += [_abs(Path(f"{store_path}{suffix}")) for suffix in ("", "-wal", "-shm", "-journal")]
    return paths, skip, claude_json


GIT_PLUMBING = protect.GIT_PLUMBING
"""Files in ``.git`` that redirect or configure git: the agent may use git, but not re-point it."""


class GitWatch:
    """What git itself would run after the run: nested repositories the agent created (their config
    runs in your next ``git status``) and re-pointed git plumbing. Checked at the end of the run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.start = self.snapshot()

    def snapshot(self) -> dict[str, str]:
        out = protect.fingerprint([self.root / p for p in GIT_PLUMBING])
        for nested in self._nested():
            out[f"nested:{nested}"] = "repository"
        return out

    def _nested(self) -> list[str]:
        import subprocess

        command = ["git", "-c", "core.fsmonitor=false", "-C", str(self.root)]
        found: list[str] = []
        try:
            status = subprocess.run(
                [*command, "status", "--porcelain=v1", "-z", "--ignore-submodules=all", "--untracked-files=normal"],
                capture_output=True,
                timeout=30,
                check=False,
            ).stdout.decode("utf-8", "replace")
            links = subprocess.run(
                [*command, "ls-files", "-s", "-z"], capture_output=True, timeout=30, check=False
            ).stdout.decode("utf-8", "replace")
        except (OSError, subprocess.SubprocessError):
            return ["(git could not be asked)"]
        for entry in status.split("\0"):
            if entry.startswith("?? ") and entry.endswith("/") and (self.root / entry[3:] / ".git").exists():
                found.append(entry[3:].rstrip("/"))
        for entry in links.split("\0"):
            if entry.startswith("160000 "):
                found.append(entry.split("\t", 1)[-1])
        return sorted(set(found))

    def changed(self) -> list[str]:
        now = self.snapshot()
        out = protect.changed(self.start, now)
        return [k.removeprefix("nested:") + " (a nested git repository)" if k.startswith("nested:") else k for k in out]


class Tripwire:
    """Both watches for one run; the supervisor asks it after each event and on each tick."""

    def __init__(
        self, bypass: BypassWatch | None, protect_watch: ProtectWatch | None, git: GitWatch | None = None
    ) -> None:
        self.bypass = bypass
        self.protect = protect_watch
        self.git = git
        self.breach: Breach | None = None
        self.names: dict[str, str] = {}
        self._checked = _now()
        self.timings: list[float] = []
        """Seconds each after-tool check took (for the benchmark and the record)."""

    @classmethod
    def for_run(
        cls, root: Path, policy_dirs: Iterable[Path], env: dict[str, str], store: Path | None, agent: str, gate: bool
    ) -> Tripwire:
        """A run's tripwires; the protected set is fingerprinted here, before the agent starts."""
        paths, skip, claude_json = watch_list(root, policy_dirs, env, store)
        git = GitWatch(root) if (root / ".git").is_dir() else None
        return cls(BypassWatch(agent) if gate else None, ProtectWatch(paths, skip, claude_json), git)

    def decision(self, record: dict[str, Any]) -> None:
        if self.bypass is not None:
            self.bypass.decision(record.get("tool_id"), record.get("tool_name"), str(record.get("decision")), _now())

    def event(self, event: AgentEvent) -> Breach | None:
        if self.breach is not None:
            return None
        if event.kind is EventKind.TOOL_START and event.tool_id:
            self.names[event.tool_id] = str(event.tool_name)
        if self.bypass is not None:
            self.bypass.event(event, _now())
        if event.kind is EventKind.TOOL_END:
            return self.check_protected(event)
        return None

    def check_protected(self, event: AgentEvent | None = None, final: bool = False) -> Breach | None:
        if self.protect is None or self.breach is not None:
            return None
        started = time.perf_counter()
        self._checked = _now()
        changed = self.protect.changed(final)
        if final and self.git is not None:
            changed += self.git.changed()
        self.timings.append(time.perf_counter() - started)
        if not changed:
            return None
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        when = "by the end of the run" if final else "after a tool call"
        self.breach = Breach(
            "tamper_detected",
            f"the protected set changed {when}: {shown}",
            tool_id=event.tool_id if event else None,
            tool_name=self._name(event),
            paths=tuple(changed),
        )
        return self.breach

    def _name(self, event: AgentEvent | None) -> str | None:
        if event is None:
            return None
        return event.tool_name or self.names.get(str(event.tool_id))

    @property
    def waiting(self) -> bool:
        """Tool results still waiting for their decision line."""
        return self.bypass is not None and bool(self.bypass.pending) and self.breach is None

    def tick(self, final: bool = False) -> Breach | None:
        """Between events: decisions overdue, and once a second the protected set (a tool may have
        left a process behind, or written through a channel the agent does not report, such as
        Codex's ``write_stdin``)."""
        if self.breach is not None:
            return None
        if self.bypass is not None:
            self.breach = self.bypass.due(_now(), final)
        if self.breach is None and not final and _now() - self._checked >= PROTECT_EVERY:
            return self.check_protected()
        return self.breach


def _abs(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _now() -> float:
    return time.monotonic()
