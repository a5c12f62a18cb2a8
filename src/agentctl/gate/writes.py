"""What an Edit, a MultiEdit or a Codex patch will really write, computed as the agent computes it.

``toolcall.normalise`` gives a first, generic view of a call; for the tools
that rewrite files this module recomputes the files' content after the call
with the agent's own semantics (``gate.edit`` for Claude Code, ``gate.patch``
for Codex), so the IaC preview judges what will land on disk. What cannot be
computed is returned as a problem: for IaC the gate then denies.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agentctl.gate import edit, effects, patch
from agentctl.gate.toolcall import FileWrite, ToolCall, _display, _resolve, normalise, shell_fields
from agentctl.sources import files

MAX_READ = files.MAX_FILE_BYTES


def refine(call: ToolCall, payload: Any, root: Path) -> list[str]:
    """Recompute ``call.writes`` for Edit/MultiEdit/apply_patch; returns the problems found."""
    tool_input = call.input if isinstance(call.input, dict) else {}
    cwd = Path(str(payload.get("cwd") or root)) if isinstance(payload, dict) else root
    if call.name == "apply_patch":
        return _patch_call(call, [(text, cwd) for text in _patch_texts(tool_input)] or [("", cwd)], root)
    if call.name in ("Edit", "MultiEdit") and call.writes:
        write = call.writes[0]
        try:
            write.content = edit.after(call.name, tool_input, write.before)
        except edit.EditError as exc:
            write.content = None
            if _is_iac(write.path):
                return [f"{call.name} of {write.path}: {exc}, so the file's new content cannot be known"]
    return []


def shell_patch_calls(call: ToolCall, payload: Any, root: Path, problems: list[str]) -> list[ToolCall]:
    """``apply_patch`` run through a shell tool, as the apply_patch call it is."""
    if call.kind != "shell" or not isinstance(call.input, dict):
        return []
    patches: list[tuple[str, str | None]] = []
    unseen = False
    for command in shell_fields(call.input):  # every field Codex could run
        found, hidden = patch.from_shell(command if isinstance(command, list) else str(command))
        patches += found
        unseen |= hidden
    if unseen:
        problems.append(
            "this shell command runs apply_patch with a patch the gate cannot see; "
            "use the apply_patch tool (or `apply_patch <<'EOF'` … `EOF`) so the patch can be judged"
        )
    if not patches:
        return []
    cwd = Path(str(payload.get("cwd") or root)) if isinstance(payload, dict) else root
    located = [(body, Path(os.path.realpath(cwd / os.path.expanduser(d))) if d else cwd) for body, d in patches]
    synthetic = normalise(
        {"tool_name": "apply_patch", "tool_input": {"command": ""}, "cwd": str(cwd)}, call.agent, root
    )
    problems += _patch_call(synthetic, located, root)
    return [synthetic]


def patch_paths(call: ToolCall) -> list[str]:
    """The paths an apply_patch call names (as written in the patch: symlinks on them not followed)."""
    if call.name != "apply_patch" or not isinstance(call.input, dict):
        return []
    out: list[str] = []
    for text in _patch_texts(call.input):
        try:
            hunks = patch.parse(text)
        except patch.PatchError:
            continue
        out += [p for h in hunks for p in (h.path, h.move_to) if p]
    return out


def _patch_texts(tool_input: dict[str, Any]) -> list[str]:
    """Every patch the call carries (``command``, ``input``, ``patch``): Codex may apply any, so all are judged."""
    texts: list[str] = []
    for key in ("command", "input", "patch"):
        value = tool_input.get(key)
        if isinstance(value, list):
            value = next((str(v) for v in reversed(value) if "*** Begin Patch" in str(v)), None)
        if isinstance(value, str) and value and value not in texts:
            texts.append(value)
    return texts


def _patch_call(call: ToolCall, patches: list[tuple[str, Path]], root: Path) -> list[str]:
    root = root.resolve()
    try:
        hunks: list[tuple[patch.Hunk, Path]] = []
        for text, cwd in patches:
            parsed = patch.parse(text)
            if not parsed:
                raise patch.PatchError("the patch changes no files")
            hunks += [(h, cwd) for h in parsed]
        results = _apply(hunks)
    except patch.PatchError as exc:
        return [f"the patch cannot be applied exactly as Codex would apply it ({exc})"]
    call.writes = []
    for absolute, (before, after) in results.items():
        display = _display(absolute, root)
        call.writes.append(FileWrite(display, absolute, after, before, deleted=after is None))
    call.paths = [w.path for w in call.writes]
    call.outside_repo = any(not w.absolute.is_relative_to(root) for w in call.writes)
    roots = effects.protected_roots(root)
    call.written = [w.path for w in call.writes]  # the protected set is judged on the files really written
    call.protected = [w.path for w in call.writes if effects.protected_hit(w.absolute, roots, w.deleted)]
    return []


def _apply(hunks: list[tuple[patch.Hunk, Path]]) -> dict[Path, tuple[str | None, str | None]]:
    """Each touched file's (content before, content after) — ``None`` after means deleted."""
    state: dict[Path, tuple[str | None, str | None]] = {}

    def current(path: Path) -> str | None:
        return state[path][1] if path in state else _read(path)

    def put(path: Path, content: str | None) -> None:
        state[path] = (state[path][0] if path in state else _read(path), content)

    for hunk, cwd in hunks:
        target = _resolve(hunk.path, cwd)
        if hunk.action == "add":
            put(target, hunk.contents)
        elif hunk.action == "delete":
            if current(target) is None:
                raise patch.PatchError(f"cannot delete {hunk.path}: no such file")
            put(target, None)
        else:
            original = current(target)
            if original is None:
                raise patch.PatchError(f"cannot update {hunk.path}: no such file (or not readable text)")
            updated = patch.apply(original, hunk.chunks, hunk.path)
            if hunk.move_to:
                put(_resolve(hunk.move_to, cwd), updated)
                put(target, None)
            else:
                put(target, updated)
    return state


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_READ:
            return None
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _is_iac(path: str) -> bool:
    return files.classify(path) is not None or path.endswith((".tf", ".tf.json", ".tofu", ".tofu.json"))
