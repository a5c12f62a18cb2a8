"""What a tool call touches: files read and written, secrets, protected paths, IaC.

Shell text is parsed (:mod:`agentctl.gate.shell`) and each command's reads and
writes are resolved against the directory it runs in. Writes to Terraform or
Kubernetes files whose content after the call can be computed (a heredoc or
``echo`` redirected into the file, ``cp``/``mv`` of a readable file, ``rm``)
become :class:`~agentctl.gate.toolcall.FileWrite` previews that the IaC rules
judge exactly as an edit; the others are "blind" IaC writes.
"""

from __future__ import annotations

import functools
import glob as globlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from agentctl import protect
from agentctl.gate import listing, reach
from agentctl.gate.sensitive import CANDIDATES as CANDIDATES
from agentctl.gate.sensitive import Roots as Roots
from agentctl.gate.sensitive import glob_secret as glob_secret
from agentctl.gate.sensitive import is_iac as is_iac
from agentctl.gate.sensitive import is_secret as is_secret
from agentctl.gate.sensitive import protected_hit as protected_hit
from agentctl.gate.sensitive import protected_roots as protected_roots
from agentctl.gate.shell_paths import unresolvable

if TYPE_CHECKING:
    from agentctl.gate.shell import Command
    from agentctl.gate.toolcall import ToolCall

_DELETERS = {"rm", "rmdir", "mv", "find", "shred", "unlink", "rsync"}
_MAX_SCRIPT = 256 * 1024
_MAX_GLOB = 32
_MAX_WALK = 50_000
"""Directory entries walked to find the files a runner collects (``conftest.py``) before it counts as unknown."""
_NO_RECURSE = frozenset({"node_modules", "venv", "build", "dist", "__pycache__", "CVS", "_darcs", "{arch}"})
"""Scripts a glob in a script position (``bash scripts/d*.sh``) may expand to before it counts as unknown."""


class ScriptReader:
    """Reads the scripts a command runs (relative to the call's directory), for the shell parse to judge."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def _target(self, path: str) -> Path:
        target = Path(os.path.expanduser(path))
        return target if target.is_absolute() else self.cwd / target

    def __call__(self, path: str) -> str | None:
        target = self._target(path)
        try:
            if target.is_file() and target.stat().st_size <= _MAX_SCRIPT:
                return target.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        return None

    def unreadable(self, path: str) -> bool:
        """The file exists but cannot be judged (too large, or not readable): what it runs is unknown."""
        target = self._target(path)
        return target.exists() and self(path) is None

    def glob(self, pattern: str) -> list[str] | None:
        """The paths ``pattern`` expands to as the shell would (sorted, no dotfiles unless asked), None past
        :data:`_MAX_GLOB` matches; relative patterns give relative paths."""
        import glob as globlib

        base = str(self.cwd) if not os.path.isabs(os.path.expanduser(pattern)) else None
        try:
            found = globlib.glob(os.path.expanduser(pattern), root_dir=base)
        except (OSError, ValueError):
            return None
        return sorted(found) if len(found) <= _MAX_GLOB else None

    def find(self, directory: str, name: str) -> list[str] | None:
        """Files called ``name`` under ``directory`` (as paths joined to it), skipping hidden, virtual-environment
        and dependency directories as pytest does; None past :data:`_MAX_WALK` entries."""
        root = self._target(directory)
        found: list[str] = []
        stack, budget = [(str(root), directory)], _MAX_WALK
        while stack:
            folder, shown = stack.pop()
            listed = listing.entries(folder)
            if listed is None:
                continue
            size, folders, names = listed
            budget -= size
            if budget < 0:
                return None
            stack += [(os.path.join(folder, sub), f"{shown.rstrip('/')}/{sub}") for sub in folders if
                      not sub.startswith(".") and sub not in _NO_RECURSE]  # fmt: skip
            if name in names:
                found.append(f"{shown.rstrip('/')}/{name}")
        return sorted(found)

    def listdir(self, path: str) -> list[str] | None:
        """The names of the regular files in the directory ``path`` (None: not a readable directory, or too many)."""
        target = self._target(path)
        try:
            names = sorted(e.name for e in os.scandir(target) if e.is_file())
        except OSError:
            return None
        return names if len(names) <= _MAX_GLOB else None


def reader(cwd: Path) -> ScriptReader:
    return ScriptReader(cwd)


def apply_shell(call: ToolCall, cwd: Path, root: Path) -> None:
    """Parse ``call.command`` and fill the call's commands, reads, writes and previews."""
    from agentctl.gate import shell

    home = os.path.expanduser("~")
    try:
        call.commands = shell.parse(call.command, home=home, read_file=reader(cwd), base=str(cwd))
    except (RecursionError, ValueError, UnicodeError, IndexError) as exc:  # fail closed: opaque, never a crash
        reason = f"agentctl could not analyse this shell text ({type(exc).__name__})"
        call.commands = [shell.Command(argv=[], opaque=reason)]
    roots = protected_roots(root, cwd)
    home_dir = Path(os.path.realpath(home))
    cache = _Cache()
    for cmd in call.commands:
        cmd.reads = [_norm(r) for r in cmd.reads]
        cmd.writes = [_norm(w) for w in cmd.writes]
        for where in _unique([cmd.cwd, *cmd.alt_cwds]):  # a cd that may fail: judged in both places
            here = None if unresolvable(where) else cache.resolve(where, cwd) if where else cwd
            _judge_command(call, cmd, here, cwd, root, roots, home_dir, cache)
    call.writes = list({(w.path, w.deleted, w.content): w for w in call.writes}.values())  # the same, once
    for write in call.writes:
        if protected_hit(write.absolute, roots, write.deleted):
            call.protected.append(write.path)
        call.written.append(write.path)
    call.reads, call.secrets = _unique(call.reads), _unique(call.secrets)
    call.written, call.protected, call.blind_iac = (
        _unique(call.written),
        _unique(call.protected),
        _unique(call.blind_iac),
    )
    call.wiped = _unique(call.wiped)


_PROTECTED_SAMPLES = [
    *(p.rsplit("/", 1)[-1] for p in protect.REPO_PROTECTED),
    *("tools.yaml", "policy.yml", "agentctl.db", "store.key", "settings.json", "settings.local.json"),
    *("pre-commit", "config", "config.toml", "ci.yml", "hooks.json"),
]


class _Cache:
    """Path resolution cached for one call: a long script names the same files and directories again and again."""

    def __init__(self) -> None:
        from agentctl.gate.toolcall import _display, _resolve

        self.expand = functools.cache(_expand)
        self.secret = functools.cache(is_secret)
        self.resolve = functools.cache(_resolve)
        self.display = functools.cache(_display)


def _judge_command(
    call: ToolCall, cmd: Command, here: Path | None, cwd: Path, root: Path, roots: Roots, home: Path, cache: _Cache
) -> None:
    """One command's reads, writes, secrets, protected paths and IaC previews, run in ``here``."""
    from agentctl.gate.toolcall import FileWrite
    from agentctl.gate.toolcall import _read as read_text

    display, expand = cache.display, cache.expand

    reach.judge(call, cmd, here, root, roots, home)
    here = here if here is not None else cwd  # relative paths are judged by name only; the command is opaque
    for raw in cmd.reads:
        for absolute in expand(_norm(reach.local(raw, here) or raw), here):
            call.reads.append(display(absolute, root))
            if cache.secret(absolute):
                call.secrets.append(display(absolute, root))
        if any(ch in raw for ch in "*?[") and glob_secret(raw):
            call.secrets.append(raw)
    for raw in cmd.writes:
        for absolute in expand(_norm(reach.local(raw, here) or raw), here):
            shown = display(absolute, root)
            call.written.append(shown)
            if protected_hit(absolute, roots, _deleting(cmd, raw)):
                call.protected.append(shown)
            if not is_iac(shown, absolute) or not absolute.is_relative_to(root):
                continue
            before = read_text(absolute)
            deleted, content = _content(cmd, raw, before, here)
            if content is None and not deleted:
                call.blind_iac.append(shown)
            else:
                call.writes.append(FileWrite(shown, absolute, content, before, deleted=deleted))
    if cmd.name in ("apply_patch", "applypatch") and cmd.stdin:
        from agentctl.gate.toolcall import _patch_writes

        call.writes += _patch_writes(cmd.stdin, here, root)


def _deleting(cmd: Command, raw: str) -> bool:
    """Whether writing ``raw`` removes what is inside it (a delete, a move's source; not a move's destination)."""
    if cmd.name not in _DELETERS or not _unfiltered(cmd):
        return False
    if cmd.name == "mv" or (cmd.name == "rsync" and not any(a.startswith("--delete") for a in cmd.argv)):
        return len(cmd.writes) < 2 or raw != cmd.writes[-1]
    return True


def _unfiltered(cmd: Command) -> bool:
    """A delete that could reach everything under its roots (``find -name '*.pyc' -delete`` cannot)."""
    if cmd.name != "find":
        return True
    names = [cmd.argv[i + 1] for i, a in enumerate(cmd.argv[:-1]) if a in ("-name", "-iname")]
    if not names or any(a in ("-o", "-or", "!", "-not", "-path", "-regex") for a in cmd.argv):
        return True
    return any(_names_protected(name) for name in names)


@functools.lru_cache(maxsize=256)
def _names_protected(name: str) -> bool:
    """Whether the ``find -name`` pattern matches a protected file's name (cached: scripts repeat them)."""
    import fnmatch

    return any(fnmatch.fnmatch(sample, name) for sample in _PROTECTED_SAMPLES)


def _norm(path: str) -> str:
    if not path or any(ch in path for ch in "$`"):
        return path
    if path.startswith("/proc/") and reach.PROC_LINK.match(path):
        return path  # ``/proc/self/cwd/..``: the link is followed first (reach.local), then ``..``
    normal = os.path.normpath(path)
    return normal + "/*" if path.endswith("/*") and not normal.endswith("*") else normal


def _expand(raw: str, here: Path) -> list[Path]:
    if not raw or raw.startswith("$(") or raw == "$(stdin)":
        return []
    base = raw if os.path.isabs(raw) else str(here / raw)
    if any(ch in raw for ch in "*?["):
        found = [Path(os.path.realpath(p)) for p in sorted(globlib.glob(base))[:200]]
        return found or [Path(os.path.abspath(base))]
    return [Path(os.path.realpath(base))]


def _content(cmd: Command, raw: str, before: str | None, here: Path) -> tuple[bool, str | None]:
    """(deleted, content after the call) for one IaC file the command writes."""
    from agentctl.gate import shell_effects
    from agentctl.gate.toolcall import _read as read_text

    if cmd.name in ("rm", "unlink", "shred") or (cmd.name == "find" and "-delete" in cmd.argv):
        return True, None
    if cmd.name == "mv" and raw != cmd.writes[-1]:
        return True, None
    if cmd.name in ("cp", "mv", "install") and len(cmd.reads) == 1 and raw == cmd.writes[-1]:
        source = Path(cmd.reads[0]) if os.path.isabs(cmd.reads[0]) else here / cmd.reads[0]
        return False, read_text(Path(os.path.realpath(source)))
    if cmd.name == "git":
        return False, _git_restored(cmd.argv, raw, here)
    operator = next((op for op, target in cmd.redirects if _norm(target) == raw), None)
    output = shell_effects.output_text(cmd) if cmd.name != "tee" else cmd.stdin
    if cmd.name == "tee" and not cmd.redirects:
        operator = ">>" if any(a in ("-a", "--append") for a in cmd.argv) else ">"
    if operator is None or output is None:
        return False, None
    if operator in (">>", "&>>"):
        return False, (before or "") + output
    return False, output


def _git_restored(argv: list[str], raw: str, here: Path) -> str | None:
    """What ``git checkout [REV] -- PATH`` / ``git restore [--source=REV] PATH`` leaves in PATH, when it is known."""
    import subprocess

    sub = argv[1] if len(argv) > 1 else ""
    if sub == "checkout" and "--" in argv:
        revs = argv[2 : argv.index("--")]
        if len(revs) > 1 or any(r.startswith("-") for r in revs):
            return None
        source = revs[0] if revs else ""  # no revision: the index
    elif sub == "restore":
        flags = [a for a in argv[2:] if a.startswith("-")]
        source = next((a.split("=", 1)[1] for a in flags if a.startswith("--source=")), "")
        if "--staged" in flags or "-S" in flags or any(a in ("-s", "--source", "-p", "--patch") for a in flags):
            return None  # the working tree is not what changes, or a form we do not model
    else:
        return None
    try:
        proc = subprocess.run(
            ["git", "-C", str(here), "show", f"{source}:./{raw}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.decode("utf-8", errors="replace") if proc.returncode == 0 else None


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
