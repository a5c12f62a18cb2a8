"""Redirections of a simple command: the files it reads and writes, and the text on its standard input.

Called by :class:`agentctl.gate.shell.Walker` for the redirects of each command
(``> f``, ``2>>log``, ``< in``, ``<> f``), a here-string (``<<< text``: its
stdin) and a heredoc (its body is the stdin; an unquoted one runs the
substitutions in it). Duplicated descriptors (``2>&1``) and the terminal devices
are no files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_DEVICES = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"}
_EVALUATED = frozenset("\\{~")
"""A target word holding one of these is evaluated (escapes, braces, a tilde); another is its text."""


def apply(walker: Walker, cmd: Command, redirects: list[Any]) -> None:
    for redirect in redirects:
        kind = redirect.type
        if kind == "herestring_redirect":
            words = [w for c in redirect.named_children for w in walker.words(c)]
            cmd.stdin = " ".join(w.text for w in words) + "\n"
            continue
        if kind == "heredoc_redirect":
            body = next((c for c in redirect.named_children if c.type == "heredoc_body"), None)
            start = next((c for c in redirect.named_children if c.type == "heredoc_start"), None)
            text = walker.text(body) if body is not None else ""
            if "<<-" in walker.text(redirect)[:4]:
                text = "\n".join(line.lstrip("\t") for line in text.split("\n"))
            quoted = start is not None and any(q in walker.text(start) for q in "'\"\\")
            if body is not None and not quoted:
                for child in body.named_children:  # substitutions inside an unquoted heredoc run
                    walker.words(child)
            cmd.stdin = text
            for child in redirect.named_children:
                if child.type == "file_redirect":
                    apply(walker, cmd, [child])
            continue
        destinations = redirect.children_by_field_name("destination")
        head = walker.text(redirect)[: destinations[0].start_byte - redirect.start_byte] if destinations else ""
        operator = head.lstrip("0123456789").strip() or ">"  # ``2>&1``: the fd, then the operator
        paths = [walker.chars[c.start_byte : c.end_byte] for c in destinations] if walker.chars is not None else []
        if len(paths) != 1 or destinations[0].type != "word" or not _EVALUATED.isdisjoint(paths[0]):
            paths = [w.text for c in destinations for w in walker.words(c)]  # else: a plain word is its text
        for path in paths:
            if operator in (">&", "<&") and (path.isdigit() or path == "-"):
                continue
            if path.startswith("/dev/") and path in _DEVICES:
                continue
            if operator.startswith("<") and operator != "<>":
                cmd.reads.append(path)
            else:
                cmd.writes.append(path)
                cmd.redirects.append((operator, path))
                if operator == "<>":
                    cmd.reads.append(path)
