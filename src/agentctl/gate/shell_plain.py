"""Shortcuts of the shell walk for text with nothing to evaluate: its words and redirect targets read from the text.

Most commands an agent runs are plain words and simple quotes (``find . -name '*.pyc' -delete``,
``git commit -m "fix the build"``) with plain redirects (``>/dev/null``, ``2>&1``, ``> notes.md``).
Reading those from the text gives what the node-by-node walk of :class:`agentctl.gate.shell.Walker`
gives, without visiting a node per word. Each shortcut answers None when the text holds anything
else (an expansion, an escape, a glob or brace outside quotes, a line break, a word the grammar counts
otherwise), and the walk then evaluates it node by node. ``tests/gate/test_shell_walk.py`` checks that
the walk finds the same commands with the shortcuts switched off.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentctl.gate.shell import Walker

_BARE = "A-Za-z0-9_./:,@%+=-"
"""Characters of an unquoted plain word (as ``agentctl.gate.shell._PLAIN_CHARS``, without blanks)."""
_NAME = r"\$[A-Za-z0-9_]++(?![ \t]++\$)"
"""``$name`` in double quotes. Not before blanks and another ``$``: after an expansion, an escape or the opening
quote, the grammar counts the blanks into the next ``$name`` node (``"$a $b"``), and the walk keeps its text
(an escaped blank is such a blank: escaped blanks are left to the walk)."""
_DQ = rf"""(?:[^"$`\\\n]++|\\[^\n \t](?![ \t]++\$)|{_NAME})*+"""
_TOKEN = rf"""(?:[{_BARE}]++|'[^'\n]*+'|"(?![ \t]++\$){_DQ}")++"""
"""One word: plain characters, ``'…'`` (any text but a line break), ``"…"`` (text, escapes and ``$name``)."""
_LINE = re.compile(rf"[ \t]*+{_TOKEN}(?:[ \t]++{_TOKEN})*+[ \t]*+")
_WORD = re.compile(_TOKEN)
_PIECE = re.compile(rf"""[{_BARE}]++|'([^']*+)'|"((?:[^"\\]|\\.)*+)\"""")
_VARIABLE = re.compile(r"\$([A-Za-z0-9_]++)")
_ESCAPED = re.compile(r"\\(.)|\$([A-Za-z0-9_]++)")
"""In ``"…"``: an escaped character, or ``$name``."""


def words(whole: str, node: Any, walker: Walker) -> tuple[list[str], list[bool]] | None:
    """The argv of a command of plain words and quotes (``awk '{print $2}'``, ``echo "in $dir"``) and whether
    each word is known, as the walk evaluates them; None when the command holds anything else, when its first
    word holds a ``=`` or ``$`` (an assignment, a computed name: the walk decides), or when the grammar does
    not count one node per word (it read the text otherwise)."""
    if ("'" not in whole and '"' not in whole) or "==" in whole or "$(" in whole:
        return None  # (no quotes: plain words are the caller's shortcut; ``=='x'``: the grammar leaves == out)
    argv = _WORD.findall(whole)
    if " ".join(argv) != whole and _LINE.fullmatch(whole) is None:  # (words one blank apart: the text is valid)
        return None
    first = argv[0]
    if "=" in first or "$" in first or node.named_child_count != len(argv) or node.has_error:
        return None
    literal = [True] * len(argv)
    for index, word in enumerate(argv):
        if "'" in word or '"' in word:
            argv[index], literal[index] = _unquote(word, walker)
    return argv, literal


def _unquote(word: str, walker: Walker) -> tuple[str, bool]:
    """One word with quotes: ``"$name"`` holds the value the walk knows (else its text: the word is not known)."""
    if "\\" not in word:  # (an escaped quote does not end ``"…"``)
        single, double = word.find("'"), word.find('"')
        start = single if double < 0 or 0 <= single < double else double
        quote = word[start]
        end = word.find(quote, start + 1)
        rest = word[end + 1 :]
        if "'" not in rest and '"' not in rest:  # one quoted part: ``'…'``, ``"…"``, ``-C="$dir"``
            inside, known = word[start + 1 : end], True
            if quote == '"' and "$" in inside:
                inside, known = _expand(inside, walker)
            return word[:start] + inside + rest, known
    text: list[str] = []
    known = True
    for piece in _PIECE.finditer(word):
        single_text, double_text = piece[1], piece[2]
        if double_text is None:
            text.append(piece[0] if single_text is None else single_text)
        elif "$" not in double_text and "\\" not in double_text:
            text.append(double_text)
        else:
            expanded, found = _expand(double_text, walker)
            text.append(expanded)
            known = known and found
    return "".join(text), known


def _expand(double: str, walker: Walker) -> tuple[str, bool]:
    """The text inside ``"…"`` with each ``$name`` replaced by its value when the walk knows it."""
    if double[:1] == "$" and double[1:].isidentifier():  # ``"$name"`` (ASCII: an identifier is a name)
        value = walker.quoted_variable(double[1:])
        return (double, False) if value is None else (value, True)
    if "\\" in double:
        return _expand_escaped(double, walker)
    text: list[str] = []
    known = True
    for index, part in enumerate(_VARIABLE.split(double)):  # text, name, text, name, …, text
        if index % 2 == 0:
            text.append(part)
            continue
        value = walker.quoted_variable(part)
        text.append("$" + part if value is None else value)
        known = known and value is not None
    return "".join(text), known


def _expand_escaped(double: str, walker: Walker) -> tuple[str, bool]:
    """:func:`_expand` of text with backslashes: an escaped double quote, dollar, backslash or backquote is that
    character (an escaped dollar starts no ``$name``); another escape keeps its backslash, as the walk's
    :func:`agentctl.gate.shell_words._unescape_dq` does."""
    text: list[str] = []
    known, at = True, 0
    for part in _ESCAPED.finditer(double):
        text.append(double[at : part.start()])
        escaped, name = part[1], part[2]
        if escaped is not None:
            text.append(escaped if escaped in '$`"\\' else "\\" + escaped)
        else:
            value = walker.quoted_variable(name)
            text.append("$" + name if value is None else value)
            known = known and value is not None
        at = part.end()
    text.append(double[at:])
    return "".join(text), known
