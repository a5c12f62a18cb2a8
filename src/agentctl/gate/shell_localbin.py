"""Commands found in a working-tree directory searched before the system's (``node_modules/.bin``).

``PATH=./node_modules/.bin:$PATH jest`` runs ``./node_modules/.bin/jest`` when that file
exists, else the system's ``jest``; ``npm run X`` and ``npx X`` search the package's
``node_modules/.bin`` first the same way. Instead of refusing every such command (the agent
can write there), each bare command name is looked up in those directories: a program found
there is judged as that file, like ``./node_modules/.bin/jest`` (a shell or Python script is
read and parsed; a binary, which agentctl cannot read, makes the command opaque); a name
found nowhere there is the system's program, judged by its name.

Only the one command's own ``PATH=… CMD`` (and what it runs) is relaxed so: an exported or
bare ``PATH=`` assignment stays opaque (see :mod:`agentctl.gate.shell_settings`).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_OWN = re.compile(r"^\$\{?PATH\}?$")
_SYSTEM = re.compile(r"^/(usr/(local/)?)?s?bin/?$")
_SAFE_DIR = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./@+-]*$")
_REMOVERS = frozenset({"rm", "rmdir", "unlink"})
SEARCH = "_agentctl_local_bins"
"""Key in ``walker.exported`` (not a valid shell name for a user to set) holding the directories in effect."""


def local_dirs(value: str, walker: Walker) -> list[str] | None:
    """The working-tree directories a literal ``PATH`` value searches before the system's; None when any entry
    before the system's is something else (``/tmp``, computed, outside the tree): that stays opaque."""
    found: list[str] = []
    base = walker.base.rstrip("/")
    for entry in value.split(":"):
        if _OWN.match(entry) or _SYSTEM.match(entry):
            return found
        if not _SAFE_DIR.match(entry.lstrip("/")) or ".." in entry.split("/"):
            return None
        if entry.startswith("/"):
            if not base or not (entry == base or entry.startswith(base + "/")):
                return None
        elif entry in (".", "./"):
            return None  # the current directory itself: every script in it shadows a system name
        found.append(entry.rstrip("/"))
    return None  # the system's directories are not searched at all


def enter(cmd: Command, walker: Walker) -> str | None:
    """``PATH=DIR:$PATH CMD``: DIR is searched first while CMD (and what it runs) is judged; the previous
    search list, for :func:`leave`."""
    saved = walker.exported.get(SEARCH)
    value = cmd.assigned.get("PATH")
    dirs = local_dirs(value, walker) if value and not cmd.opaque else None
    if dirs:
        walker.exported[SEARCH] = ":".join([*dirs, *([saved] if saved else [])])
    return saved


def leave(walker: Walker, saved: str | None) -> None:
    if saved is None:
        walker.exported.pop(SEARCH, None)
    else:
        walker.exported[SEARCH] = saved


@contextmanager
def searching(walker: Walker, dirs: list[str]) -> Iterator[None]:
    """While the commands a runner starts are walked, ``dirs`` are searched first."""
    saved = walker.exported.get(SEARCH)
    walker.exported[SEARCH] = ":".join([*dirs, *([saved] if saved else [])])
    try:
        yield
    finally:
        leave(walker, saved)


def resolve(cmd: Command, name: str, walker: Walker) -> str | None:
    """The working-tree file a bare command name runs (for the caller to judge), or None: the system's program."""
    from agentctl.gate.shell_effects import places, written_by
    from agentctl.gate.shell_paths import unresolvable

    dirs = [d for d in (walker.exported.get(SEARCH) or "").split(":") if d]
    if "npx" in cmd.via:
        dirs.append("node_modules/.bin")
    for directory in dirs:
        candidate = posixpath.join(directory, name)
        candidate = candidate if candidate.startswith(("/", "./", "../")) else f"./{candidate}"
        writers = written_by(cmd, candidate, walker)
        if set(writers) <= _REMOVERS and writers:
            return None  # ``rm -rf node_modules && npm ci``: gone, then installed again by the package manager
        if writers:
            return candidate  # the caller says it is opaque: written by the same command
        for place in places(cmd, candidate):
            place = posixpath.join(walker.base, place) if walker.base else place
            if not place.startswith("/") or unresolvable(place):
                cmd.opaque = cmd.opaque or f"{name} may be found in {directory}, in a directory only known at run time"
                return None
            if os.path.lexists(place):
                _binary(cmd, place, candidate)
                return candidate
    return None


def _binary(cmd: Command, place: str, shown: str) -> None:
    """A program agentctl cannot read (no ``#!`` line) shadowing a system name: what it does is unknown."""
    try:
        with open(place, "rb") as handle:
            head = handle.read(2)
    except OSError:
        head = b""
    if head != b"#!":
        cmd.opaque = cmd.opaque or f"{cmd.name} is {shown}, a program in the working tree that agentctl cannot read"
