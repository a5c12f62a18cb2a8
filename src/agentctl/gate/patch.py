"""Codex ``apply_patch`` patches, read and applied with Codex's own semantics.

The gate must judge the file Codex will actually write, so this follows the
behaviour of Codex's apply-patch crate (our own code; the facts carry over):

* boundaries: ``*** Begin Patch`` … ``*** End Patch`` after trimming the text,
  each marker compared trimmed; leniently also wrapped in ``<<EOF`` / ``<<'EOF'``
  / ``<<"EOF"`` … ``EOF`` lines;
* hunk headers compared trimmed (``*** Add File:``, ``*** Delete File:``,
  ``*** Update File:``), an optional ``*** Move to:`` right after an update
  header, added lines only while they start with ``+``;
* update chunks: ``@@`` or ``@@ CONTEXT`` (an anchor line searched for first;
  the chunk's lines must come after it), the first chunk may omit ``@@``,
  ``' '``/``-``/``+`` lines, an empty line is an empty context line, and
  ``*** End of File`` anchors the chunk at the end of the file;
* lines are found with ``seek_sequence``: exact, then ignoring trailing
  whitespace, then ignoring surrounding whitespace, then with Unicode
  punctuation (dashes, curly quotes, odd spaces) folded to ASCII;
* a chunk without old lines appends at the end of the file; the result always
  ends with a newline.

Anything Codex would refuse raises :class:`PatchError`; the gate denies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BEGIN = "*** Begin Patch"
END = "*** End Patch"
ADD = "*** Add File: "
DELETE = "*** Delete File: "
UPDATE = "*** Update File: "
MOVE = "*** Move to: "
EOF_MARKER = "*** End of File"


class PatchError(Exception):
    """The patch is malformed or does not apply to the file as it is."""


@dataclass
class Chunk:
    context: str | None
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    end_of_file: bool = False


@dataclass
class Hunk:
    action: str  # "add" | "delete" | "update"
    path: str
    contents: str = ""
    move_to: str | None = None
    chunks: list[Chunk] = field(default_factory=list)


def _lines(text: str) -> list[str]:
    """Rust's ``str::lines``: split on LF, drop a CR before it, no trailing empty line."""
    if not text:
        return []
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


def parse(text: str) -> list[Hunk]:
    lines = _lines(text.strip())
    body = _boundaries(lines)
    hunks: list[Hunk] = []
    index, number = 0, 2
    while index < len(body):
        hunk, used = _hunk(body[index:], number)
        hunks.append(hunk)
        index += used
        number += used
    return hunks


def _strict(lines: list[str]) -> list[str]:
    first = lines[0].strip() if lines else None
    last = lines[-1].strip() if lines else None
    if first != BEGIN:
        raise PatchError("the first line of the patch must be '*** Begin Patch'")
    if last != END or len(lines) < 2:
        raise PatchError("the last line of the patch must be '*** End Patch'")
    return lines[1:-1]


def _boundaries(lines: list[str]) -> list[str]:
    try:
        return _strict(lines)
    except PatchError:
        if len(lines) >= 4 and lines[0] in ("<<EOF", "<<'EOF'", '<<"EOF"') and lines[-1].endswith("EOF"):
            return _strict(lines[1:-1])
        raise


def _hunk(lines: list[str], number: int) -> tuple[Hunk, int]:
    first = lines[0].strip()
    if first.startswith(ADD):
        added: list[str] = []
        for line in lines[1:]:
            if not line.startswith("+"):
                break
            added.append(line[1:] + "\n")
        return Hunk("add", first[len(ADD) :], contents="".join(added)), 1 + len(added)
    if first.startswith(DELETE):
        return Hunk("delete", first[len(DELETE) :]), 1
    if first.startswith(UPDATE):
        path = first[len(UPDATE) :]
        rest, used = lines[1:], 1
        move = rest[0][len(MOVE) :] if rest and rest[0].startswith(MOVE) else None
        if move is not None:
            rest, used = rest[1:], used + 1
        chunks: list[Chunk] = []
        while rest:
            if not rest[0].strip():
                rest, used = rest[1:], used + 1
                continue
            if rest[0].startswith("*"):
                break
            chunk, taken = _chunk(rest, number + used, not chunks)
            chunks.append(chunk)
            rest, used = rest[taken:], used + taken
        if not chunks:
            raise PatchError(f"invalid hunk at line {number}: update file hunk for path '{path}' is empty")
        return Hunk("update", path, move_to=move, chunks=chunks), used
    raise PatchError(
        f"invalid hunk at line {number}: '{first}' is not a valid hunk header "
        "(expected '*** Add File:', '*** Delete File:' or '*** Update File:')"
    )


def _chunk(lines: list[str], number: int, first_chunk: bool) -> tuple[Chunk, int]:
    if lines[0] == "@@":
        chunk, start = Chunk(None), 1
    elif lines[0].startswith("@@ "):
        chunk, start = Chunk(lines[0][3:]), 1
    elif first_chunk:
        chunk, start = Chunk(None), 0
    else:
        raise PatchError(f"invalid hunk at line {number}: expected a @@ context marker, got '{lines[0]}'")
    if start >= len(lines):
        raise PatchError(f"invalid hunk at line {number + 1}: update hunk does not contain any lines")
    taken = 0
    for line in lines[start:]:
        if line == EOF_MARKER:
            if taken == 0:
                raise PatchError(f"invalid hunk at line {number + 1}: update hunk does not contain any lines")
            chunk.end_of_file = True
            taken += 1
            break
        marker = line[:1]
        if marker == "":
            chunk.old.append("")
            chunk.new.append("")
        elif marker == " ":
            chunk.old.append(line[1:])
            chunk.new.append(line[1:])
        elif marker == "+":
            chunk.new.append(line[1:])
        elif marker == "-":
            chunk.old.append(line[1:])
        elif taken == 0:
            raise PatchError(
                f"invalid hunk at line {number + 1}: unexpected line '{line}' "
                "(every line should start with ' ', '+' or '-')"
            )
        else:
            break
        taken += 1
    return chunk, taken + start


_PUNCTUATION = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
        **dict.fromkeys("\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "),
    }
)


def _fold(text: str) -> str:
    return text.strip().translate(_PUNCTUATION)


def seek(lines: list[str], pattern: list[str], start: int, end_of_file: bool) -> int | None:
    """Where ``pattern`` starts in ``lines`` at or after ``start``, with decreasing strictness."""
    if not pattern:
        return start
    if len(pattern) > len(lines):
        return None
    last = len(lines) - len(pattern)
    starts = [last, start] if end_of_file else [start]
    for compare in (
        lambda a, b: a == b,
        lambda a, b: a.rstrip() == b.rstrip(),
        lambda a, b: a.strip() == b.strip(),
        lambda a, b: _fold(a) == _fold(b),
    ):
        for first in starts:
            for position in range(first, last + 1):
                if all(compare(lines[position + k], p) for k, p in enumerate(pattern)):
                    return position
    return None


def apply(original: str, chunks: list[Chunk], path: str) -> str:
    """The file's content after the update chunks, as Codex computes it."""
    lines = original.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    replacements: list[tuple[int, int, list[str]]] = []
    cursor = 0
    for chunk in chunks:
        if chunk.context is not None:
            found = seek(lines, [chunk.context], cursor, False)
            if found is None:
                raise PatchError(f"failed to find context '{chunk.context}' in {path}")
            cursor = found + 1
        if not chunk.old:
            at = len(lines) - 1 if lines and lines[-1] == "" else len(lines)
            replacements.append((at, 0, list(chunk.new)))
            continue
        pattern, new = chunk.old, chunk.new
        position = seek(lines, pattern, cursor, chunk.end_of_file)
        if position is None and pattern[-1] == "":
            pattern = pattern[:-1]
            new = new[:-1] if new and new[-1] == "" else new
            position = seek(lines, pattern, cursor, chunk.end_of_file)
        if position is None:
            raise PatchError(f"failed to find the expected lines in {path}: " + " | ".join(chunk.old)[:300])
        replacements.append((position, len(pattern), list(new)))
        cursor = position + len(pattern)
    for position, length, new in sorted(replacements, key=lambda r: r[0], reverse=True):
        lines[position : position + length] = new
    if not lines or lines[-1] != "":
        lines.append("")
    return "\n".join(lines)


_HEREDOC = re.compile(
    r"""(?:^|&&|;|\n)[ \t]*(?:cd[ \t]+(?P<cd>'[^']*'|"[^"]*"|[^\s;&|]+)[ \t]*&&[ \t]*)?"""
    r"""(?:apply_patch|applypatch)[ \t]*<<-?[ \t]*(?P<q>['"]?)(?P<tag>[A-Za-z_][\w-]*)(?P=q)[^\n]*\n"""
    r"""(?P<body>.*?)\n[ \t]*(?P=tag)[ \t]*(?=\n|$)""",
    re.DOTALL,
)
_INVOCATION = re.compile(
    r"""(?:^|[;&|(\n`]|\$\()[ \t]*(?:(?:sudo|command|exec|env|nohup|time)[ \t]+)*"""
    r"""(?:[^\s;&|]*/)?(?:apply_patch|applypatch)\b"""
)


def from_shell(command: str | list[str]) -> tuple[list[tuple[str, str | None]], bool]:
    """The patches (with any ``cd`` directory) of ``apply_patch`` runs in a shell tool call, in order.

    Codex runs ``apply_patch <<'EOF' … EOF`` (optionally after ``cd DIR &&``)
    from ``exec_command``/``shell`` as a patch, ``["apply_patch", PATCH]`` as
    argv, and ``apply_patch`` is also a command its shell can run. The flag is
    true when some ``apply_patch`` runs with a patch that cannot be seen here
    (piped, read from a file or a substitution): the gate denies those.
    """
    if isinstance(command, list):
        argv = [str(a) for a in command]
        name = argv[0].rsplit("/", 1)[-1] if argv else ""
        if name in ("apply_patch", "applypatch"):
            return ([(argv[1], None)], False) if len(argv) >= 2 else ([], True)
        if len(argv) >= 3 and name in ("bash", "sh", "zsh", "dash") and argv[1] in ("-lc", "-c"):
            return from_shell(argv[2])
        return from_shell(" ".join(argv)) if any(_INVOCATION.search(a) for a in argv) else ([], False)
    patches: list[tuple[str, str | None]] = []
    for match in _HEREDOC.finditer(command):
        cd = match.group("cd")
        if cd and cd[0] in "'\"":
            cd = cd[1:-1]
        patches.append((match.group("body"), cd))
    return patches, len(_INVOCATION.findall(command)) > len(patches)
