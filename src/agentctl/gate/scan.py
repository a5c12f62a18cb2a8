"""Recursive reads: which secrets a command that reads a whole directory would see.

``grep -r``, ``rg``, ``tar c``, ``zip -r``, a container's bind mount and Claude's
``Grep`` tool read every file under a directory, so the secrets in that tree
are read too. A search prints only the lines its pattern matches: when the
pattern is a plain string, a secret file that does not contain it prints
nothing and does not count (``grep -rn "terraform destroy" .`` is fine; ``grep
-r TOKEN .`` is not). A regular expression, an inverted match or a count is
assumed to reach every secret. A tree too large to walk within the budget is
reported as unknown, and the gate treats the command as opaque.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from agentctl.gate import braces

MAX_ENTRIES = 100_000
"""Directory entries walked per scan before the answer counts as unknown."""
_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", ".tox", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
_MAX_MATCH = 1 << 20


@dataclass(slots=True)
class Scan:
    """One directory (or file) read recursively."""

    path: str
    pattern: str | None = None
    """What a search looks for (None: every file counts, e.g. an archive, or a pattern we cannot model)."""
    regex: bool = False
    """``pattern`` is a (Rust/PCRE-like) regular expression, matched with Python's :mod:`re`."""
    ignore_case: bool = False
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    exclude_dir: list[str] = field(default_factory=list)
    hidden: bool = True
    """Whether dotfiles are read (ripgrep and Claude's Grep skip them unless asked)."""


class TooLarge(Exception):
    """The tree has more entries than the scan budget."""


def secrets_in(scan: Scan, absolute: Path, is_secret: object) -> list[Path]:
    """Secret files under ``absolute`` that ``scan`` would read (raises TooLarge past the budget)."""
    found: list[Path] = []
    budget = [MAX_ENTRIES]
    if absolute.is_file():
        candidates = [absolute]
    elif absolute.is_dir():
        candidates = list(_walk(absolute, scan, budget))
    else:
        return []
    for path in candidates:
        if is_secret(path) and _prints(scan, path):  # type: ignore[operator]
            found.append(path)
    return found


def _walk(base: Path, scan: Scan, budget: list[int]) -> list[Path]:
    out: list[Path] = []
    stack = [base]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        budget[0] -= len(entries)
        if budget[0] < 0:
            raise TooLarge(str(base))
        for entry in entries:
            name = entry.name
            if not scan.hidden and name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if name not in _SKIP_DIRS and not any(fnmatch.fnmatchcase(name, g) for g in scan.exclude_dir):
                    stack.append(Path(entry.path))
                continue
            if not _maybe_secret(name):
                continue  # cheap: most names cannot be a secret (see effects.is_secret)
            if scan.include and not any(_glob(name, entry.path, base, g) for g in scan.include):
                continue
            if any(_glob(name, entry.path, base, g) for g in scan.exclude):
                continue
            out.append(Path(entry.path))
    return out


_SECRET_EXT = (".key", ".p12", ".pfx", ".jks", ".keystore", ".pem", ".crt", ".cer")
_SECRET_WORDS = ("credentials", "config", "token", "msal", "netrc", "pgpass", "npmrc", "pypirc")


def _maybe_secret(name: str) -> bool:
    """A superset of the names :func:`agentctl.gate.effects.is_secret` can accept."""
    lower = name.lower()
    return name.startswith((".", "id_")) or lower.endswith(_SECRET_EXT) or any(word in lower for word in _SECRET_WORDS)


def _glob(name: str, path: str, base: Path, pattern: str) -> bool:
    negated = pattern.startswith("!")
    pattern = pattern[1:] if negated else pattern
    if "/" in pattern:
        hit = fnmatch.fnmatchcase(os.path.relpath(path, base), pattern.lstrip("/").replace("**/", "*"))
    else:
        hit = fnmatch.fnmatchcase(name, pattern)
    return hit != negated


def _prints(scan: Scan, path: Path) -> bool:
    """Whether reading ``path`` through this scan could put part of it in the output."""
    if scan.pattern is None:
        return True
    try:
        if path.stat().st_size > _MAX_MATCH:
            return True
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    if scan.regex:
        try:
            return re.search(scan.pattern, text, re.IGNORECASE if scan.ignore_case else 0) is not None
        except (re.error, RecursionError, OverflowError):
            return True
    if scan.ignore_case:
        return scan.pattern.lower() in text.lower()
    return scan.pattern in text


_REGEX_CHARS = re.compile(r"[.\[\]()*+?{}|^$\\]")
_BRE_SPECIAL = {"(": "(", ")": ")", "{": "{", "}": "}", "|": "|", "+": "+", "?": "?"}
_SAFE_ESCAPES = set("wWsSbB") | {"<", ">"}


def plain(pattern: str, fixed: bool) -> str | None:
    """The pattern as a plain string when it matches only itself, else None (assume it matches anything)."""
    if not pattern or "\n" in pattern:
        return None
    if fixed or not _REGEX_CHARS.search(pattern):
        return pattern
    return None


def regex(pattern: str, dialect: str) -> str | None:
    """A Python regular expression that matches at least what ``pattern`` matches in ``dialect``
    (``bre``: grep; ``ere``: grep -E; ``pcre``: grep -P, ripgrep), or None when that cannot be promised."""
    if not pattern or "\n" in pattern or "[:" in pattern or "[=" in pattern or "[." in pattern:
        return None
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if i + 1 >= len(pattern):
                return None
            nxt = pattern[i + 1]
            if dialect == "bre" and nxt in _BRE_SPECIAL:
                out.append(nxt)
            elif nxt in ("<", ">"):
                out.append(r"\b")
            elif nxt in _SAFE_ESCAPES or (dialect == "pcre" and nxt in "dD") or not nxt.isalnum():
                out.append("\\" + nxt)
            else:
                return None  # an escape whose meaning differs between the dialects
            i += 2
            continue
        if dialect == "bre" and char in _BRE_SPECIAL:
            out.append("\\" + char)
        else:
            out.append(char)
        i += 1
    text = "".join(out)
    try:
        re.compile(text)
    except (re.error, RecursionError, OverflowError):
        return None
    return text


def grep_tool(tool_input: dict[str, object], resolve: object) -> tuple[Scan, Path]:
    """Claude Code's ``Grep`` tool (ripgrep) as a scan: ``path`` (default: the working directory), ``glob``,
    ``type``, ``pattern``; dotfiles count (fail closed: whether the tool searches them is not ours to know)."""
    pattern = tool_input.get("pattern")
    glob = tool_input.get("glob")
    kind = tool_input.get("type")
    include = [str(glob)] if isinstance(glob, str) and glob else []
    include += [f"*.{kind}"] if isinstance(kind, str) and kind else []
    path = tool_input.get("path")
    target = resolve(str(path) if isinstance(path, str) and path else ".")  # type: ignore[operator]
    multiline = bool(tool_input.get("multiline"))
    search = Scan(
        str(target),
        pattern=regex(pattern, "pcre") if isinstance(pattern, str) and not multiline else None,
        regex=True,
        ignore_case=bool(tool_input.get("-i")),
        include=[g for item in include for g in _braces(item)],
    )
    return search, target


def _braces(glob: str) -> list[str]:
    """The globs ``{a,b}`` (and a glob's ``{a}``) stand for; everything (``*``) when there are too many to list."""
    return braces.expand(glob, lone=True) or ["*"]
