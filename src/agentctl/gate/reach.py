"""What a parsed shell command reaches beyond its plain reads and writes.

Called by :mod:`agentctl.gate.effects` for each command, once its directory is
known: paths only known at run time in a dangerous position (a write target, a
recursive delete, a tree written or read) make the command opaque; a recursive
delete of ``/``, the home directory, a top-level system directory or a
directory holding the repository is a *wipe*; a tree written (an archive
extracted, ``cp -r x/. .``, a mount) hits every protected path inside it; a
directory read recursively reads the secrets in it; a link makes its target
reachable under another name, so it is judged as a read and a write of the
target; ``git update-index --assume-unchanged`` hides later IaC changes from git.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl import protect
from agentctl.gate import git_incoming
from agentctl.gate import scan as scanning
from agentctl.gate.shell_hazards import BLOCK_DEVICE, ruins
from agentctl.gate.shell_paths import unresolvable

if TYPE_CHECKING:
    from agentctl.gate.shell import Command
    from agentctl.gate.toolcall import ToolCall

_BROAD = re.compile(r"^[.*?\[\]!^-]*[*?][.*?\[\]!^-]*$")
"""A last path component that matches (nearly) every name: ``*``, ``.*``, ``.[!.]*``."""
_PROC_CWD = re.compile(r"^/proc/(self|thread-self|\$\$|\$\{\$\})/cwd(?=/|$)")
_PROC_ROOT = re.compile(r"^/proc/(self|thread-self)/root(?=/|$)")
PROC_LINK = re.compile(r"^/proc/(self|thread-self|\$\$|\$\{\$\}|\d+)/(cwd|root)/.*\.\.")
"""A ``/proc`` link followed by ``..``: normalising the text first would climb out of the link instead."""


def local(raw: str, here: Path | None) -> str | None:
    """``raw`` with ``/proc/self/cwd`` and ``/proc/self/root`` spelled out; None when it cannot be resolved."""
    if _PROC_CWD.match(raw):
        if here is None:
            return None
        raw = str(here) + _PROC_CWD.sub("", raw)
    raw = _PROC_ROOT.sub("", raw) or ("/" if _PROC_ROOT.match(raw) else raw)
    if unresolvable(raw) or (here is None and not os.path.isabs(raw)):
        return None
    return raw


def _absolute(raw: str, here: Path) -> Path:
    return Path(os.path.realpath(raw if os.path.isabs(raw) else here / raw))


def vital(path: Path, root: Path, home: Path) -> bool:
    """``/``, a top-level directory (not ``/tmp``), a system directory, or one that holds home or the repository."""
    if path == Path("/") or (len(path.parts) == 2 and path.name != "tmp"):
        return True
    if str(path) in protect.SYSTEM_READ_ONLY:
        return True
    return any(place == path or place.is_relative_to(path) for place in (root, home))


def recursive_deletes(cmd: Command) -> list[str]:
    """What ``cmd`` deletes recursively: ``rm -r`` targets, unfiltered ``find -delete`` roots, ``git clean``."""
    from agentctl.gate.effects import _unfiltered

    argv = cmd.argv
    if cmd.name == "rm" and any(re.match(r"^-[a-zA-Z]*[rR]", a) or a == "--recursive" for a in argv[1:]):
        return list(cmd.writes)
    if cmd.name == "find" and "-delete" in argv and _unfiltered(cmd):
        return list(cmd.writes)
    if cmd.name == "rsync" and any(a.startswith("--delete") for a in argv):
        return cmd.writes[-1:]
    return list(cmd.deletes)


def judge(call: ToolCall, cmd: Command, here: Path | None, root: Path, roots: list[Path], home: Path) -> None:
    """Fill ``call`` with what ``cmd`` reaches beyond its plain reads and writes."""
    from agentctl.gate.sensitive import is_iac, is_secret, protected_hit
    from agentctl.gate.toolcall import _display as display

    def resolved(raw: str, what: str) -> Path | None:
        path = local(raw, here)
        if path is None:
            cmd.opaque = cmd.opaque or f"{cmd.name or 'the command'} {what} a path only known at run time ({raw})"
            return None
        return _absolute(path, here or Path("/"))

    for raw in cmd.writes:  # only whether it can be resolved (its path is judged by the caller)
        if local(raw, here) is None:
            resolved(raw, "writes to")
    incoming = git_incoming.changed(cmd, call.commands, here) if cmd.trees and cmd.name == "git" else None
    for raw in cmd.trees:  # judged whole unless git lists the files the command changes
        path = resolved(raw, "writes to")
        if incoming is None and path is not None and protected_hit(path, roots, True):
            call.protected.append(display(path, root))
    for landed in incoming or []:
        if protected_hit(landed, roots, True):
            call.protected.append(display(landed, root))
    for source, dest in cmd.spreads:
        for landed in _spread(source, dest, here) if local(dest, here) is not None else []:
            if protected_hit(landed, roots, True):
                call.protected.append(display(landed, root))
        resolved(dest, "writes to")
    for raw in recursive_deletes(cmd):
        head, _, last = raw.rstrip("/").rpartition("/") if "/" in raw.rstrip("/") else ("", "", raw)
        broad = bool(_BROAD.match(last)) and last not in (".", "..")
        target = (head or ("/" if raw.startswith("/") else ".")) if broad else raw
        path = resolved(target, "deletes")
        if path is None:
            continue
        if raw in cmd.deletes:
            listed = _git_clean(cmd, path, here)
            for gone in listed if listed is not None else [path]:
                if protected_hit(gone, roots, True):
                    call.protected.append(display(gone, root))
        if raw in cmd.deletes and cmd.name == "git" and path.is_relative_to(root):
            continue  # git clean inside the repository removes untracked files, never the repository
        if vital(path, root, home):
            call.wiped.append(display(path, root) + ("/*" if broad else ""))
    for raw in [*cmd.writes, *cmd.deletes]:
        if raw.startswith("/dev/") and BLOCK_DEVICE.match(os.path.realpath(raw)):
            call.wiped.append(raw)  # a disk written directly: every file system on it is gone
    for raw in ruins(cmd):
        path = resolved(raw, "changes, recursively,")
        if path is not None and vital(path, root, home) and path != root:
            call.wiped.append(display(path, root))  # ``chmod -R 000 ~``: every file in it made unusable
    for raw in cmd.links:
        path = resolved(raw, "links to")
        if path is None:
            continue
        shown = display(path, root)
        if is_secret(path):
            call.secrets.append(shown)
        if protected_hit(path, [r for r in roots if str(r) not in protect.SYSTEM_READ_ONLY], False):
            call.protected.append(shown)  # a link to a system file (``ln -s /usr/bin/python3``) changes nothing
    for item in cmd.scans:
        path = resolved(item.path, "reads, recursively,")
        if path is None:
            continue
        try:
            found = scanning.secrets_in(item, path, is_secret)
        except scanning.TooLarge:
            cmd.opaque = (
                cmd.opaque or f"{cmd.name} reads {item.path} recursively, too large a tree to check for secrets"
            )
            continue
        call.secrets += [display(f, root) for f in found]
    if cmd.name == "git" and ".git/config" in cmd.writes and here is not None:
        config = _repo_config(here)  # ``git -C .git config …`` writes the repository's config too
        if config is not None and protected_hit(config, roots, False):
            call.protected.append(display(config, root))
    hides = {"--assume-unchanged", "--skip-worktree"} & set(cmd.argv)
    if cmd.name == "git" and "update-index" in cmd.argv and here is not None and hides:
        files = [a for a in cmd.argv[cmd.argv.index("update-index") + 1 :] if not a.startswith("-")]
        for raw in files:
            path = _absolute(raw, here)
            shown = display(path, root)
            if is_iac(shown, path):
                call.blind_iac.append(shown)


def _repo_config(here: Path) -> Path | None:
    """The config file of the repository git finds from ``here`` (a work tree, or a git directory itself)."""
    for folder in (here, *here.parents):
        if (folder / ".git").is_dir():
            return folder / ".git" / "config"
        if (folder / "HEAD").is_file() and (folder / "config").is_file() and (folder / "objects").is_dir():
            return folder / "config"
    return None


def _git_clean(cmd: Command, target: Path, here: Path | None) -> list[Path] | None:
    """What ``git clean -f`` without ``-x``/``-X`` would remove (asked of git with ``-n``); None: assume all of it."""
    import subprocess

    flags = [a for a in cmd.argv[2:] if a.startswith("-")]
    if cmd.name != "git" or here is None or any(re.fullmatch(r"-[a-zA-Z]*[xX][a-zA-Z]*", f) for f in flags):
        return None
    if any(f.startswith("-e") or f.startswith("--exclude") for f in flags):
        return None  # excludes only narrow what goes; not worth modelling
    directories = ["-d"] if any(re.fullmatch(r"-[a-zA-Z]*d[a-zA-Z]*", f) for f in flags) else []
    try:
        proc = subprocess.run(
            ["git", "-c", "core.fsmonitor=false", "-C", str(here), "clean", "-n", *directories, "--", str(target)],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    return [_absolute(line.removeprefix("Would remove "), here) for line in lines if line.startswith("Would remove ")]


def _spread(source: str, dest: str, here: Path | None) -> list[Path]:
    """Where ``cp -r SRC/GLOB DEST`` puts things: DEST/NAME per match; all of DEST when the glob matches nothing yet."""
    import glob as globlib

    folder = _absolute(local(dest, here) or dest, here or Path("/"))
    origin = local(source, here)
    if origin is None:
        return [folder]
    pattern = origin if os.path.isabs(origin) else str((here or Path("/")) / origin)
    names = {os.path.basename(m.rstrip("/")) for m in globlib.glob(pattern, include_hidden=True)[:1000]}
    return [folder / n for n in sorted(names)] if names else [folder]
