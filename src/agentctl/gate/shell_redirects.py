"""Redirections of a simple command: the files it reads and writes, and the text on its standard input.

Called by :class:`agentctl.gate.shell.Walker` for the redirects of each command
(``> f``, ``2>>log``, ``< in``, ``<> f``), a here-string (``<<< text``: its
stdin) and a heredoc (its body is the stdin; an unquoted one runs the
substitutions in it). Duplicated descriptors (``2>&1``) and the terminal devices
are no files.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from agentctl.gate import shell_kinds as kinds

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_DEVICES = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"}
_PLAIN = re.compile(r"([0-9]*)(&>>|&>|>>|>&-|>&|>\||>|<&-|<&|<)[ \t]*([A-Za-z0-9_./:,@%+=-]+)")
"""A file redirect to a plain word (the descriptor, the operator, the target): what :func:`_file` finds in its
nodes, read from the text (``tests/gate/test_shell_walk.py`` compares the two)."""
_EVALUATED = frozenset("\\{~")
"""A target word holding one of these is evaluated (escapes, braces, a tilde); another is its text."""


def apply(walker: Walker, cmd: Command, redirects: list[Any]) -> None:
    chars = walker.chars
    for redirect in redirects:
        kind_id = redirect.kind_id
        if kind_id in kinds.FILE_REDIRECT:
            plain = _PLAIN.fullmatch(chars, redirect.start_byte, redirect.end_byte) if chars is not None else None
            if plain is not None and redirect.named_child_count == (2 if plain[1] else 1):
                _target(cmd, plain[2], plain[3])  # ``2>&1``, ``> notes.md``: read from the text
            else:  # (the grammar saw another shape: ``>&-`` has no target, ``> a b`` two)
                _file(walker, cmd, redirect)
        elif kind_id in kinds.HEREDOC_REDIRECT:
            _heredoc(walker, cmd, redirect)
        elif redirect.type == "herestring_redirect":
            words = [w for c in redirect.named_children for w in walker.words(c)]
            cmd.stdin = " ".join(w.text for w in words) + "\n"
        else:
            _file(walker, cmd, redirect)


def _heredoc(walker: Walker, cmd: Command, redirect: Any) -> None:
    children = redirect.named_children
    body = next((c for c in children if c.kind_id in kinds.HEREDOC_BODY), None)
    start = next((c for c in children if c.kind_id in kinds.HEREDOC_START), None)
    text = walker.text(body) if body is not None else ""
    chars = walker.chars
    head = chars[redirect.start_byte : redirect.start_byte + 4] if chars is not None else walker.text(redirect)[:4]
    if "<<-" in head:
        text = "\n".join(line.lstrip("\t") for line in text.split("\n"))
    quoted = start is not None and any(q in walker.text(start) for q in "'\"\\")
    if body is not None and not quoted:
        for child in body.named_children:  # substitutions inside an unquoted heredoc run
            walker.words(child)
    cmd.stdin = text
    for child in children:
        if child.kind_id in kinds.FILE_REDIRECT:
            apply(walker, cmd, [child])


def _file(walker: Walker, cmd: Command, redirect: Any) -> None:
    destinations = redirect.children_by_field_name("destination")
    head = walker.text(redirect)[: destinations[0].start_byte - redirect.start_byte] if destinations else ""
    operator = head.lstrip("0123456789").strip() or ">"  # ``2>&1``: the fd, then the operator
    paths = [walker.chars[c.start_byte : c.end_byte] for c in destinations] if walker.chars is not None else []
    if len(paths) != 1 or destinations[0].type != "word" or not _EVALUATED.isdisjoint(paths[0]):
        paths = [w.text for c in destinations for w in walker.words(c)]  # else: a plain word is its text
    for path in paths:
        _target(cmd, operator, path)


def _target(cmd: Command, operator: str, path: str) -> None:
    if operator in (">&", "<&") and (path.isdigit() or path == "-"):
        return
    if path.startswith("/dev/") and path in _DEVICES:
        return
    if operator.startswith("<") and operator != "<>":
        cmd.reads.append(path)
    else:
        cmd.writes.append(path)
        cmd.redirects.append((operator, path))
        if operator == "<>":
            cmd.reads.append(path)
