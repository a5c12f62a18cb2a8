"""Normalise a PreToolUse hook payload (Claude Code or Codex) into one tool-call model.

Rules see ``tool.name``, ``tool.kind`` (shell, write, read, fetch, other),
``tool.command`` (shell text, "" otherwise), ``tool.commands`` (the parsed
simple commands, see :mod:`agentctl.gate.shell`), ``tool.paths`` (repository-relative
when inside the repository, absolute when outside, with ``..`` and symlinks
resolved), ``tool.reads``/``tool.writes`` (files read and written, by any tool),
``tool.secrets`` (credentials among the reads), ``tool.protected_writes``
(writes into the protected set), ``tool.blind_iac_writes`` (IaC files a shell
command changes in a way agentctl cannot compute), ``tool.outside_repo``,
``tool.content`` (a write's full new file content, when it can be built),
``tool.allowed`` (a policy allows this tool by name), ``tool.home`` and
``tool.input`` (as the agent sent it).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentctl.gate.shell import Command

_SHELL = {"Bash", "exec_command", "shell", "local_shell"}
_WRITE = {"Write", "Edit", "MultiEdit", "NotebookEdit", "apply_patch"}
_READ = {"Read", "Glob", "Grep", "LS", "NotebookRead", "view_image"}
_FETCH = {"WebFetch", "WebSearch", "web_search"}
_AGENT = {
    "Task", "Agent", "TodoWrite", "TodoRead", "ExitPlanMode", "EnterPlanMode", "BashOutput", "KillShell",
    "KillBash", "AskUserQuestion", "update_plan",
}  # fmt: skip
"""The agents' own bookkeeping tools: they touch nothing outside the agent."""
_SECRET_READERS = {"Read", "NotebookRead", "view_image", "Edit", "MultiEdit", "NotebookEdit", "Grep"}


class PayloadError(Exception):
    """The hook payload is not a tool call we can judge (the gate denies)."""


@dataclass
class FileWrite:
    path: str
    """Repository-relative (or absolute when outside)."""
    absolute: Path
    content: str | None
    """The file's full content after the call; ``None`` if it could not be built."""
    before: str | None
    deleted: bool = False


@dataclass
class ToolCall:
    name: str
    kind: str
    input: Any
    agent: str
    tool_id: str | None = None
    command: str = ""
    paths: list[str] = field(default_factory=list)
    outside_repo: bool = False
    writes: list[FileWrite] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    blind_iac: list[str] = field(default_factory=list)
    wiped: list[str] = field(default_factory=list)
    """Directories a recursive delete would wipe: ``/``, home, a system directory, one holding the repository."""
    allowed: bool = False

    def as_cel(self) -> dict[str, Any]:
        content = self.writes[0].content if len(self.writes) == 1 else None
        return {
            "name": self.name,
            "kind": self.kind,
            "input": self.input if self.input is not None else {},
            "agent": self.agent,
            "command": self.command,
            "commands": [c.as_cel() for c in self.commands],
            "paths": self.paths,
            "reads": self.reads,
            "writes": self.written,
            "secrets": self.secrets,
            "protected_writes": self.protected,
            "blind_iac_writes": self.blind_iac,
            "wiped_dirs": self.wiped,
            "outside_repo": self.outside_repo,
            "allowed": self.allowed,
            "home": os.path.expanduser("~"),
            "content": content if content is not None else "",
        }


def normalise(payload: Any, agent: str, root: Path, allow_tools: tuple[str, ...] = ()) -> ToolCall:
    if not isinstance(payload, dict) or not isinstance(payload.get("tool_name"), str):
        raise PayloadError("hook payload has no tool_name")
    name = payload["tool_name"]
    tool_input = payload.get("tool_input")
    if tool_input is not None and not isinstance(tool_input, dict):
        raise PayloadError("hook payload's tool_input is not an object")
    tool_input = tool_input or {}
    named = [tool_input.get(k) for k in ("file_path", "path", "notebook_path", "workdir", "glob")]
    if _has_nul(named) or "\x00" in str(payload.get("cwd") or ""):
        raise PayloadError("a path in the tool input contains a NUL byte, which no path can hold")
    if name in _SHELL and _has_nul(shell_fields(tool_input)):
        raise PayloadError("the shell command contains a NUL byte, which no shell command can hold")
    cwd = Path(str(payload.get("cwd") or root))
    action = tool_input.get("action")
    workdir = tool_input.get("workdir") or (action.get("working_directory") if isinstance(action, dict) else None)
    if isinstance(workdir, str) and workdir:  # Codex exec_command/shell run there
        cwd = _resolve(workdir, cwd)
    call = ToolCall(
        name=name, kind=_kind(name, tool_input), input=tool_input, agent=agent, tool_id=payload.get("tool_use_id")
    )
    call.allowed = any(fnmatch.fnmatchcase(name, pattern) for pattern in allow_tools)
    root = root.resolve()

    if name == "apply_patch":
        patch = str(tool_input.get("command") or tool_input.get("input") or tool_input.get("patch") or "")
        call.writes = _patch_writes(patch, cwd, root)
    elif call.kind == "shell":
        texts = [shlex.join(map(str, c)) if isinstance(c, list) else str(c) for c in shell_fields(tool_input)]
        call.command = "\n".join(dict.fromkeys(t for t in texts if t))  # every field Codex could run: all judged
        from agentctl.gate import effects, shell

        effects.apply_shell(call, cwd, root)
        runner = tool_input.get("shell")
        if runner is not None and str(runner).rsplit("/", 1)[-1] not in _POSIX_SHELLS:
            why = f"the command runs under {str(runner)!r}, not a shell the gate parses"
            call.commands.append(shell.Command(argv=[], opaque=why))
        call.paths += [*call.reads, *call.written]
    elif name in ("Write", "Edit", "MultiEdit", "NotebookEdit"):
        target = tool_input.get("file_path") or tool_input.get("notebook_path")
        if not isinstance(target, str) or not target:
            raise PayloadError(f"{name} call without a file_path")
        absolute = _resolve(target, cwd)
        before = _read(absolute)
        call.writes = [FileWrite(_display(absolute, root), absolute, _after(name, tool_input, before), before)]
    else:
        for key in ("file_path", "path", "notebook_path"):
            value = tool_input.get(key)
            if isinstance(value, str) and value:
                absolute = _resolve(value, cwd)
                call.paths.append(_display(absolute, root))
                call.outside_repo |= not absolute.is_relative_to(root)

    if call.kind != "shell":
        _file_effects(call, root, cwd)
    for write in call.writes:
        if write.path not in call.paths:
            call.paths.append(write.path)
        call.outside_repo |= not write.absolute.is_relative_to(root)
    return call


_POSIX_SHELLS = {"bash", "sh", "zsh", "dash"}


def shell_fields(tool_input: dict[str, Any]) -> list[Any]:
    """Every field of a shell tool's input that Codex or Claude could run (``command``, ``cmd``, ``action.command``)."""
    action = tool_input.get("action")
    found = [tool_input.get("command"), tool_input.get("cmd")]
    if isinstance(action, dict):
        found.append(action.get("command"))
    return [f for f in found if isinstance(f, (str, list)) and f]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _file_effects(call: ToolCall, root: Path, cwd: Path) -> None:
    """Reads, writes, secrets and protected paths of a non-shell tool."""
    from agentctl.gate import effects

    roots = effects.protected_roots(root)
    for write in call.writes:
        call.written.append(write.path)
        if effects.protected_hit(write.absolute, roots, write.deleted):
            call.protected.append(write.path)
    if call.name in _SECRET_READERS:
        targets = [w.absolute for w in call.writes] if call.kind == "write" else []
        targets += [root / p if not os.path.isabs(p) else Path(p) for p in call.paths if call.kind == "read"]
        for absolute in targets:
            shown = _display(absolute, root)
            call.reads.append(shown)
            if effects.is_secret(absolute):
                call.secrets.append(shown)
    if call.name == "Grep" and isinstance(call.input, dict):
        _grep_secrets(call, root, cwd)


def _grep_secrets(call: ToolCall, root: Path, cwd: Path) -> None:
    """Claude's ``Grep`` reads every file under its path that its glob/type admits: the secrets among them too."""
    from agentctl.gate import effects, scan

    search, target = scan.grep_tool(call.input, lambda p: _resolve(p, cwd))
    try:
        found = scan.secrets_in(search, target, effects.is_secret)
    except scan.TooLarge:  # too large to walk: the well-known secret files at its top still count
        found = [target / n for n in effects.CANDIDATES if effects.is_secret(target / n) and (target / n).is_file()]
    call.secrets += [_display(f, root) for f in found if _display(f, root) not in call.secrets]


def _kind(name: str, tool_input: dict[str, Any]) -> str:
    if name in _SHELL:
        return "shell"
    if name in _WRITE:
        return "write"
    if name in _READ:
        return "read"
    if name in _FETCH:
        return "fetch"
    if name in _AGENT:
        return "agent"
    return "other"


def _resolve(path: str, cwd: Path) -> Path:
    expanded = os.path.expanduser(path)
    return Path(os.path.realpath(expanded if os.path.isabs(expanded) else cwd / expanded))


def _display(absolute: Path, root: Path) -> str:
    text, base = str(absolute), str(root).rstrip("/")
    if text == base or text == base + "/":
        return "."
    return text[len(base) + 1 :] if text.startswith(base + "/") else text


def _read(path: Path) -> str | None:
    try:
        if path.is_file() and path.stat().st_size <= 10 * 1024 * 1024:
            return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _after(name: str, tool_input: dict[str, Any], before: str | None) -> str | None:
    if name == "Write":
        content = tool_input.get("content")
        return content if isinstance(content, str) else None
    if name == "Edit":
        return _edit(before, tool_input)
    if name == "MultiEdit":
        text = before
        for edit in tool_input.get("edits") or []:
            text = _edit(text, edit if isinstance(edit, dict) else {})
            if text is None:
                return None
        return text
    return None


def _edit(text: str | None, edit: dict[str, Any]) -> str | None:
    old, new = edit.get("old_string"), edit.get("new_string")
    if not isinstance(old, str) or not isinstance(new, str):
        return None
    if text is None:
        return new if old == "" else None
    if old == "":
        return new + text
    if old not in text:
        return None
    return text.replace(old, new) if edit.get("replace_all") else text.replace(old, new, 1)


_PATCH_FILE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+)$")


def _patch_writes(patch: str, cwd: Path, root: Path) -> list[FileWrite]:
    """Files an ``apply_patch`` touches, with their content after the patch where it can be built."""
    writes: list[FileWrite] = []
    lines = patch.splitlines()
    index = 0
    while index < len(lines):
        match = _PATCH_FILE.match(lines[index])
        index += 1
        if not match:
            continue
        action, target = match.group(1), match.group(2).strip()
        body: list[str] = []
        while (
            index < len(lines) and not _PATCH_FILE.match(lines[index]) and not lines[index].startswith("*** End Patch")
        ):
            body.append(lines[index])
            index += 1
        absolute = _resolve(target, cwd)
        before = _read(absolute)
        moved = next((b[len("*** Move to: ") :].strip() for b in body if b.startswith("*** Move to: ")), None)
        if action == "Add":
            content: str | None = "\n".join(b[1:] for b in body if b.startswith("+")) + "\n"
            writes.append(FileWrite(_display(absolute, root), absolute, content, before))
        elif action == "Delete":
            writes.append(FileWrite(_display(absolute, root), absolute, None, before, deleted=True))
        else:
            content = _apply_hunks(before, body)
            if moved:
                writes.append(FileWrite(_display(absolute, root), absolute, None, before, deleted=True))
                absolute = _resolve(moved, cwd)
                before = _read(absolute)
            writes.append(FileWrite(_display(absolute, root), absolute, content, before))
    return writes


def _apply_hunks(before: str | None, body: list[str]) -> str | None:
    if before is None:
        return None
    lines = before.splitlines()
    cursor = 0
    hunks: list[list[str]] = [[]]
    for line in body:
        if line.startswith("@@"):
            hunks.append([])
        elif line[:1] in (" ", "+", "-") or line == "":
            hunks[-1].append(line if line else " ")
    for hunk in (h for h in hunks if h):
        old = [h[1:] for h in hunk if h[0] in (" ", "-")]
        new = [h[1:] for h in hunk if h[0] in (" ", "+")]
        position = _find(lines, old, cursor)
        if position is None:
            return None
        lines[position : position + len(old)] = new
        cursor = position + len(new)
    return "\n".join(lines) + "\n"


def _find(lines: list[str], needle: list[str], start: int) -> int | None:
    if not needle:
        return len(lines)
    for position in range(start, len(lines) - len(needle) + 1):
        if lines[position : position + len(needle)] == needle:
            return position
    stripped = [n.strip() for n in needle]
    for position in range(0, len(lines) - len(needle) + 1):
        if [x.strip() for x in lines[position : position + len(needle)]] == stripped:
            return position
    return None
