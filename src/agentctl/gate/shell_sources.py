"""The text of a file a command runs or reads its commands from, as it will be when the command runs.

``echo '{"scripts":…}' > package.json && npm test`` runs what ``echo`` wrote, not
what the repository holds: when earlier commands in the same shell text write
the file, its text is computed from what they write (``>`` replaces, ``>>``
appends) when that output is known literally; otherwise the command that runs
it is ``opaque``. A file nobody writes is read from the repository. A glob in a
script position (``bash scripts/d*.sh``) runs the files it matches in the repository.
"""

from __future__ import annotations

import functools
import posixpath
import re
from typing import TYPE_CHECKING

from agentctl.gate import shell_effects as fx
from agentctl.gate import shell_paths

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker


@functools.lru_cache(maxsize=4096)
def _absolute(cwd: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(cwd, path) if cwd and not path.startswith("/") else path)


def writers(cmd: Command, place: str, walker: Walker) -> list[tuple[Command, str]]:
    """Earlier commands of the same text that write ``place`` (a path as :func:`agentctl.gate.shell_effects.places`
    gives it), with the redirection operator ("" for another way)."""
    target = posixpath.normpath(place)
    found: list[tuple[Command, str]] = []
    for other in walker.out:
        if other is cmd or other.name in ("chmod", "touch", "mkdir", "chown"):
            continue
        for write in other.writes:
            written = _absolute(other.cwd, write)
            if target == written or target.startswith(written.rstrip("/") + "/"):
                operator = next((op for op, p in other.redirects if _absolute(other.cwd, p) == target), "")
                found.append((other, operator if target == written else ""))
                break
    return found


def _written(path: str, found: list[tuple[Command, str]], walker: Walker) -> str | None:
    text = walker.read_file(path) if walker.read_file is not None else None
    text = text or ""
    for writer, operator in found:
        output = fx.output_text(writer)
        if output is None or operator not in (">", ">|", ">>", "&>", "&>>"):
            return None
        text = text + output if operator.endswith(">>") else output
    return text


def texts(cmd: Command, path: str, walker: Walker, what: str) -> list[str] | None:
    """The text of ``path`` in each place ``cmd`` may run (none when it does not exist); None when it cannot be
    known (``cmd`` is made opaque, saying it runs ``what``)."""
    if walker.read_file is None:
        return []
    out: list[str] = []
    for place in fx.places(cmd, path):
        known, text = at(cmd, place, path, walker, what)
        if not known:
            return None
        if text is not None:
            out.append(text)
    return out


def at(cmd: Command, place: str, path: str, walker: Walker, what: str) -> tuple[bool, str | None]:
    """(known, text) of the file at ``place`` (``path`` as written): text None when it does not exist; not known
    (``cmd`` made opaque) when it is in an unknown directory, unreadable, or written in a way not known here."""
    if walker.read_file is None:
        return True, None
    if shell_paths.unresolvable(place):
        cmd.opaque = cmd.opaque or f"{cmd.name} runs {what} from a directory only known at run time"
        return False, None
    found = writers(cmd, place, walker)
    if found:
        text = _written(place, found, walker)
        if text is None:
            names = ", ".join(dict.fromkeys(w.name for w, _ in found))
            cmd.code_from += [w.name for w, _ in found if w.name not in cmd.code_from]
            cmd.opaque = cmd.opaque or f"{cmd.name} runs {what} from {path}, written by the same command ({names})"
            return False, None
        return True, text
    text = walker.read_file(place)
    if text is None and fx.unreadable(walker, place):
        cmd.opaque = cmd.opaque or f"{cmd.name} runs {what} from {path}, which agentctl cannot read"
        return False, None
    return True, text


def present(cmd: Command, path: str, walker: Walker) -> bool:
    """Whether ``path`` exists for ``cmd`` or an earlier command of the same text writes it."""
    if walker.read_file is None:
        return False
    return any(
        writers(cmd, place, walker) or walker.read_file(place) is not None or fx.unreadable(walker, place)
        for place in fx.places(cmd, path)
    )


def written_files(cmd: Command, walker: Walker, *suffixes: str) -> list[str]:
    """Files ending in one of ``suffixes`` that earlier commands of the same text write (relative to ``cmd``'s
    directory)."""
    here = _absolute(cmd.cwd, ".")
    found: list[str] = []
    seen: dict[str, bool] = {}  # per directory: whether its name holds a suffix (``cd x.py/sub; touch ..``)
    for other in walker.out:
        if other is cmd or not other.writes:
            continue
        cwd = other.cwd
        anywhere = seen.get(cwd)
        if anywhere is None:
            anywhere = seen[cwd] = any(s in cwd for s in suffixes)
        for write in other.writes:
            if not anywhere:  # normalising drops path parts, it never makes new ones
                for suffix in suffixes:
                    if suffix in write:
                        break
                else:
                    continue
            written = _absolute(cwd, write)
            if written.endswith(suffixes) and (here == "." or written.startswith(here.rstrip("/") + "/")):
                found.append(written if here == "." else posixpath.relpath(written, here))
    return list(dict.fromkeys(found))


GLOB = re.compile(r"[*?\[]")


def expand(cmd: Command, pattern: str, walker: Walker) -> list[str]:
    """The files a glob in a script position matches, in each place ``cmd`` may run (``cmd`` is opaque when
    that is unknown or too many)."""
    matcher = getattr(walker.read_file, "glob", None)
    if matcher is None:
        cmd.opaque = cmd.opaque or f"runs the files {pattern} matches, which agentctl cannot list"
        return []
    found: list[str] = []
    for place in fx.places(cmd, pattern):
        matches = None if shell_paths.unresolvable(place) else matcher(place)
        if matches is None:
            cmd.opaque = cmd.opaque or f"runs the files {pattern} matches: too many, or in an unknown directory"
            return []
        found += matches
    return list(dict.fromkeys(found))
