"""Claude Code's ``Edit`` / ``MultiEdit``, computed the way Claude Code computes them.

The gate judges the content Claude will actually write, so it follows Claude
Code's behaviour (observed in the pinned CLI; our own code):

* the file is read with CRLF turned into LF;
* ``old_string`` is looked up exactly; failing that, with curly quotes
  (U+2018, U+2019, U+201C, U+201D) folded to straight ones on both sides, and the file's own text at
  that position is what gets replaced; failing that, ``\\uXXXX`` escapes in
  ``old_string`` are decoded (and ``new_string`` decoded the same way);
* when the match needed the quote folding, ``new_string`` takes the file's
  quote style: straight quotes become curly ones (opening after whitespace,
  an opening bracket or a dash, closing otherwise; an apostrophe between
  letters stays a closing single quote);
* deleting text (``new_string`` empty) also removes the newline after it;
* more than one match without ``replace_all`` is refused.

Anything Claude would refuse raises :class:`EditError`; for IaC files the gate
denies it (it cannot know what will be written).
"""

from __future__ import annotations

import re
from typing import Any

_LSQ, _RSQ, _LDQ, _RDQ = "\u2018", "\u2019", "\u201c", "\u201d"
_ESCAPE = re.compile(r"(\\\\)|\\u([0-9a-fA-F]{4})")


class EditError(Exception):
    """The edit cannot be applied (Claude Code would refuse it too)."""


def fold_quotes(text: str) -> str:
    return text.replace(_LSQ, "'").replace(_RSQ, "'").replace(_LDQ, '"').replace(_RDQ, '"')


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: m.group(0) if m.group(1) else chr(int(m.group(2), 16)), text)


def find_actual(content: str, old: str) -> str | None:
    """The text of ``content`` that ``old`` stands for, or ``None``."""
    if old in content:
        return old
    position = fold_quotes(content).find(fold_quotes(old))
    if position != -1:
        return content[position : position + len(old)]
    if re.search(r"\\u[0-9a-fA-F]{4}", old):
        decoded = _unescape(old)
        if decoded != old and decoded in content:
            return decoded
    return None


def _opens(chars: list[str], index: int) -> bool:
    return index == 0 or chars[index - 1] in " \t\n\r([{\u2014\u2013"


def keep_quote_style(old: str, actual: str, new: str) -> str:
    """``new`` in the file's quote style when ``old`` matched only after folding quotes."""
    if old == actual:
        return new
    doubles = _LDQ in actual or _RDQ in actual
    singles = _LSQ in actual or _RSQ in actual
    if not doubles and not singles:
        return new
    chars = list(new)
    out: list[str] = []
    for index, char in enumerate(chars):
        if char == '"' and doubles:
            out.append(_LDQ if _opens(chars, index) else _RDQ)
        elif char == "'" and singles:
            before = chars[index - 1] if index > 0 else ""
            after = chars[index + 1] if index + 1 < len(chars) else ""
            if before.isalpha() and after.isalpha():
                out.append(_RSQ)
            else:
                out.append(_LSQ if _opens(chars, index) else _RSQ)
        else:
            out.append(char)
    return "".join(out)


def _new_string(old: str, actual: str, new: str) -> str:
    new = keep_quote_style(old, actual, new)
    if old != actual and re.search(r"\\u[0-9a-fA-F]{4}", old) and _unescape(old) == actual:
        return _unescape(new)
    return new


def apply_one(content: str, edit: dict[str, Any]) -> str:
    old, new = edit.get("old_string"), edit.get("new_string")
    if not isinstance(old, str) or not isinstance(new, str):
        raise EditError("old_string and new_string must be strings")
    if old == "":
        if content:
            raise EditError("old_string is empty but the file is not")
        return new
    actual = find_actual(content, old)
    if actual is None:
        raise EditError("old_string was not found in the file")
    replacement = _new_string(old, actual, new)
    every = bool(edit.get("replace_all"))
    if not every and content.count(actual) > 1:
        raise EditError("old_string matches more than once and replace_all is not set")
    if replacement == "" and not actual.endswith("\n") and actual + "\n" in content:
        actual += "\n"
    return content.replace(actual, replacement) if every else content.replace(actual, replacement, 1)


def after(name: str, tool_input: dict[str, Any], before: str | None) -> str:
    """The file's content after an ``Edit``/``MultiEdit`` (raises :class:`EditError`)."""
    content = before.replace("\r\n", "\n") if before is not None else None
    edits = tool_input.get("edits") if name == "MultiEdit" else [tool_input]
    if not isinstance(edits, list) or not edits:
        raise EditError("no edits given")
    for edit in edits:
        if not isinstance(edit, dict):
            raise EditError("an edit is not an object")
        if content is None:
            if edit.get("old_string") != "":
                raise EditError("the file does not exist")
            content = ""
        content = apply_one(content, edit)
    assert content is not None
    return content
