"""How bash reads the text of a word where the grammar reads it otherwise, for :mod:`agentctl.gate.shell_words`.

ANSI-C ``$'…'`` strings as bash's ``ansicstr`` makes them, where a ``$'…'`` ends, which word part may start
with a tilde prefix, and whether the grammar left text out of a command's words. Each is checked against bash
itself in ``tests/gate/test_words_vs_bash.py``.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
"""The start of a word written as an assignment (``a=~/x``: bash expands its tildes, as in an assignment)."""


def tilde_first(node: Any, raw: str) -> bool:
    """Whether a word part starting with ``~`` is a tilde prefix bash expands: in a concatenation, only the first
    part, and only when its prefix ends (at a ``/``) before the next part (``~"/x"``, ``~''`` and ``''~`` are
    the text ``~``), with no backslash in it."""
    parent = node.parent
    if parent is None or parent.type != "concatenation":
        return True
    head, slash, _ = raw.partition("/")
    return node.prev_sibling is None and bool(slash) and "\\" not in head


MISREAD = "the shell text does not parse as bash reads it (a $'…' string ends elsewhere)"
"""Why a command is opaque when the grammar ends a ``$'…'`` elsewhere than bash (``$'\\\\' …'`` runs on)."""


def closing(text: str, at: int, delimiter: str) -> int:
    """The index just past the first ``delimiter`` from ``at`` that no backslash escapes (-1: none): the end of a
    ``"…"``, a backquoted text, a ``$'…'`` string, a sed ``s/…/…/`` part."""
    while at < len(text):
        if text[at] == "\\":
            at += 2
        elif text[at] == delimiter:
            return at + 1
        else:
            at += 1
    return -1


def ansi_end(raw: str) -> int:
    """Where bash ends the ``$'…'`` string ``raw`` starts with: its first ``'`` not escaped (-1: none)."""
    end = closing(raw, 2, "'")
    return end - 1 if end >= 0 else -1


_ANSI = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "v": "\v"}
_ANSI_TOKEN = re.compile(r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|c\\\\|c.|.)", re.DOTALL)


def ansi_c(body: str) -> str:
    """The text of ``$'…'`` as bash's ``ansicstr`` makes it: an unknown escape (``\\q``, ``\\x`` without digits,
    ``\\c`` at the end) keeps its backslash, ``\\cX`` is a control character, an octal or hex escape is one byte,
    and a NUL ends the string (``$'apply\\0junk'`` is ``apply``)."""

    def one(match: re.Match[str]) -> str:
        token = match.group(1)
        head = token[0]
        if head in _ANSI:
            return _ANSI[head]
        if head in "\\'\"?":
            return head
        if head == "c" and len(token) > 1:
            return "\x7f" if token[1] == "?" else chr(ord(token[1].upper()) & 0x1F)
        if head in "xuU" and len(token) > 1:
            value = int(token[1:], 16)
            if head == "x":
                return bytes([value]).decode("utf-8", "replace")
            return chr(value) if value < 0xD800 or 0xE000 <= value <= 0x10FFFF else "\ufffd"
        if head in "01234567":
            return bytes([int(token, 8) & 0xFF]).decode("utf-8", "replace")
        return "\\" + token

    text = _ANSI_TOKEN.sub(one, body)
    return text.partition("\x00")[0]


LOSS_MARKS = ("\\", '$"', "=~", "==")
"""Text without any of these has been read whole by the grammar: each loss found has one (an escaped blank, a
``$"…"``, an operator it takes out of a command's words)."""


def unknown(text: str) -> str:
    """The text of a word the gate cannot read exactly, as it passes it on: with a ``$`` in it, so that a path
    made of it is unresolvable (:func:`agentctl.gate.shell_paths.unresolvable`), as ``$X`` is."""
    return text if "$" in text or "`" in text else "${UNKNOWN}" + text


def joins(src: bytes, end: int, start: int) -> bool:
    """Whether a node starting at ``start`` is part of the word the last one (ending at ``end``) is part of: the
    grammar splits some words in nodes (``"ap"\\ply``, ``'a'\\ b``, ``ap\\<newline>ply``)."""
    return start == end or (start > end and _glue_gap(src[end:start]))


def _glue_gap(gap: bytes) -> bool:
    """Text between two nodes of one word: backslash-newlines and escaped blanks only."""
    return len(gap) % 2 == 0 and all(gap[at] == 0x5C and gap[at + 1] in b" \t\n" for at in range(0, len(gap), 2))


def glued_source(src: bytes, node: Any) -> str:
    """The source of the word ``node`` ends, when the grammar gave it as several nodes (:func:`joins`): from the
    first of them."""
    first = node
    before = node.prev_sibling
    while before is not None and not before.type.endswith(("redirect", "assignment")):
        if not joins(src, before.end_byte, first.start_byte):
            break
        first, before = before, before.prev_sibling
    return src[first.start_byte : node.end_byte].decode("utf-8", "surrogateescape")


def lost_words(src: bytes, node: Any, text: str, argv: list[str], literal: list[bool]) -> list[bool]:
    """``literal`` of a command's words, all unknown (and ``argv`` changed to say so) when the grammar left text
    out of them (:func:`lost_text`): what a word missing from the nodes, or joined with the next, is not known."""
    if not lost_text(src, node, text):
        return literal
    argv[:] = [unknown(word) for word in argv]
    return [False] * len(literal)


def lost_text(src: bytes, node: Any, text: str) -> bool:
    """Whether the grammar left part of a command's words out of its nodes: escaped blanks after a quoted word
    (past the one :func:`joins` glues: ``'h'\\ \\ a`` is one word), one that starts a word (``\\ 'g'``), a ``-$"x"``
    or ``=~`` it takes for an operator (the ``$`` of a ``$"…"``, a lone ``==`` word are no loss), a concatenation
    over a blank. What the words are is then not known. ``text``: the command's text when known, to skip the
    walk when it has none of ``LOSS_MARKS``."""
    if text and "\\" not in text and '$"' not in text and "=~" not in text and "==" not in text:  # LOSS_MARKS
        return False
    at = node.start_byte
    for child in node.children:
        gap = src[at : child.start_byte]
        if gap and gap.replace(b"\\\n", b"").strip(b" \t\n") and not (len(gap) == 2 and _glue_gap(gap)):
            return True  # (a longer gap, ``'a'\\ \\ b``, may have been passed over by the walk's fast path)
        if not child.is_named and child.end_byte > child.start_byte and not _passed(src, child):
            return True
        if child.type == "concatenation" and _gapped(child):  # ``"+"''- $"c"``: one node over two words
            return True
        at = child.end_byte
    return False


def _gapped(node: Any) -> bool:
    """Whether the parts of a concatenation do not follow each other (text between them is in no part)."""
    children = node.children
    return any(after.start_byte != before.end_byte for before, after in itertools.pairwise(children))


def _passed(src: bytes, node: Any) -> bool:
    """An unnamed node the walk can pass over: the ``$`` of a ``$"…"``, or an ``==``/``=~`` the grammar takes
    for an operator when it is a word of its own (``test "$x" == y``: the gate leaves that word out of argv)."""
    text = src[node.start_byte : node.end_byte]
    if text in (b"==", b"=~"):
        return src[node.start_byte - 1 : node.start_byte].isspace() and src[node.end_byte : node.end_byte + 1] in (
            b"",
            b" ",
            b"\t",
            b"\n",
        )
    return _translated(src, node)


def _translated(src: bytes, node: Any) -> bool:
    """A ``$`` node that is the ``$`` of a ``$"…"`` (the grammar's node for it at the start of a word)."""
    after = node.next_sibling
    if after is not None and after.type == "concatenation":  # ``$"a"$"b"``
        after = after.children[0]
    return (
        src[node.start_byte : node.end_byte] == b"$"
        and after is not None
        and after.type == "string"
        and after.start_byte == node.end_byte
    )
