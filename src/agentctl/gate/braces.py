"""Brace expansion as bash does it: ``a{b,c}d`` is ``abd acd``, ``{1..3}`` and ``{a..c..2}`` are sequences.

Used for shell words (:mod:`agentctl.gate.shell_words`) and for the ``glob`` of a Grep call
(:mod:`agentctl.gate.scan`). The text is hostile: a group is matched with its own closing brace (so
``{a,{b,c}}`` is ``a b c``, not four words), and the result is bounded — ``{a,b}`` twenty times over is a
million words — so :func:`expand` returns None when the words would pass ``limit`` or the groups nest past
``MAX_DEPTH``; the caller then judges the text as unknown.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from agentctl.gate import shell_quoting

MAX_WORDS = 1024
"""The most words one text may expand to before it counts as unknown."""
MAX_DEPTH = 64
"""The deepest nesting of groups followed."""


def expand(text: str, lone: bool = False) -> list[str] | None:
    """The words ``text`` expands to, in bash's order; None past ``MAX_WORDS`` words or ``MAX_DEPTH`` nested
    groups. ``lone``: a group without a comma is an alternative of one (``*.{py}`` is ``*.py``), as in a glob."""
    return _expand(text, text, 0, lone)


def expand_word(raw: str, tilde: Callable[[str], tuple[str, bool]] | None = None) -> list[tuple[str, bool]] | None:
    """A shell word's source text (quotes and all) brace-expanded as bash does it, before quote removal: a brace
    or comma inside quotes, escaped, or inside ``${…}``/``$(…)``/backquotes does not count. Each word comes with
    whether its text is known (quotes removed; one with an expansion left in it is not). None: the word has no
    brace group; one unknown word when it cannot be told (too many words, an unclosed quote). ``tilde``: how a
    word that starts with an unquoted tilde prefix expands (``~{/a,/b}``), after the braces, as in bash."""
    shadow = _shadow(raw)
    if shadow is None:
        return [(raw, False)] if "{" in raw else None
    variants = _expand(raw, shadow, 0, False)
    if variants is None:
        return [(raw, False)]
    if variants == [raw]:
        return None
    words: list[tuple[str, bool]] = []
    for variant in variants:
        text = unquote(variant)
        if text is None:
            words.append((variant, False))
        elif variant and tilde is not None and variant[:1] == "~" and _plain_prefix(variant):
            words.append(tilde(text))
        elif variant:  # an empty unquoted word is dropped (a quoted one, ``{"",x}``, is kept)
            words.append((text, True))
    return words


def _plain_prefix(variant: str) -> bool:
    """Whether the tilde prefix of a word's source text (to its first ``/`` or ``:``) has nothing quoted."""
    end = min((at for at in (variant.find("/"), variant.find(":")) if at >= 0), default=len(variant))
    return not any(char in "'\"\\$`" for char in variant[:end])


def _expand(text: str, shadow: str, depth: int, lone: bool) -> list[str] | None:
    """:func:`expand` of ``text``, whose groups are found in ``shadow`` (the same text, quoted parts masked)."""
    if depth > MAX_DEPTH:
        return None
    group = _first_group(shadow, lone)
    if group is None:
        return [text]
    start, commas, end = group
    head = text[:start]
    bounds = [start, *commas, end]
    tails = _expand(text[end + 1 :], shadow[end + 1 :], depth + 1, lone)
    if tails is None:
        return None
    words: list[str] = []
    if not commas and not lone:  # ``{1..3}``, ``x{a..e..2}``: a sequence
        options = _sequence(shadow[start + 1 : end])
        if options is None or len(options) * len(tails) > MAX_WORDS:
            return None
        return [head + option + rest for option in options for rest in tails]
    for left, right in itertools.pairwise(bounds):
        options = _expand(text[left + 1 : right], shadow[left + 1 : right], depth + 1, lone)
        if options is None or len(words) + len(options) * len(tails) > MAX_WORDS:
            return None
        words += [head + option + rest for option in options for rest in tails]
    return words


def _first_group(text: str, lone: bool) -> tuple[int, list[int], int] | None:
    """The first ``{…,…}`` with its own closing brace and a comma at its top level: (start, commas, end).

    A ``{`` without such a group (``{x}``, an unclosed ``{``) stays literal, and a group inside it still
    expands (``{x{a,b}}`` is ``{xa} {xb}``). One pass, whatever the text."""
    open_groups: list[tuple[int, list[int]]] = []
    first: tuple[int, list[int], int] | None = None
    for at, char in enumerate(text):
        if char == "{":
            open_groups.append((at, []))
        elif char == "," and open_groups:
            open_groups[-1][1].append(at)
        elif char == "}" and open_groups:
            start, commas = open_groups.pop()
            sequence = not commas and not lone and _SEQUENCE.fullmatch(text, start + 1, at) is not None
            if (commas or lone or sequence) and (first is None or start < first[0]):
                first = (start, commas, at)
    return first


_SEQUENCE = re.compile(r"(?:([-+]?[0-9]+)\.\.([-+]?[0-9]+)|([A-Za-z])\.\.([A-Za-z]))(?:\.\.([-+]?[0-9]+))?")
"""A sequence expression, ``{x..y[..step]}``: two integers, or two letters."""


def _sequence(body: str) -> list[str] | None:
    """The words of a sequence expression (a ``_SEQUENCE`` match), as bash counts them: the step's sign does not
    matter (0 is 1), a number written with a leading zero pads them all to its width. None past ``MAX_WORDS``
    words, for numbers too long to be exact, and for letters that run through punctuation (``{Z..a}``)."""
    match = _SEQUENCE.fullmatch(body)
    if match is None or any(len(part) > 18 for part in match.groups() if part):
        return None
    low, high, first, last, step_text = match.groups()
    step = max(abs(int(step_text or "1")), 1)
    if first is not None:
        begin, end = ord(first), ord(last)
    else:
        begin, end = int(low), int(high)
    count = abs(end - begin) // step + 1
    if count > MAX_WORDS:
        return None
    values = range(begin, end + 1, step) if begin <= end else range(begin, end - 1, -step)
    if first is not None:
        chars = [chr(value) for value in values]
        return chars if all(char.isalpha() for char in chars) else None
    width = 0
    for number in (low, high):
        if (number[:1] == "0" and len(number) > 1) or (number[:2] == "-0" and len(number) > 2):
            width = max(width, len(number))
    return [f"{value:0{width}d}" for value in values]


_MASK = "\x00"


def _shadow(raw: str) -> str | None:
    """``raw`` with every character that brace expansion does not see masked: quoted text, an escaped
    character, ``${…}``, ``$(…)``, ``$((…))`` and backquotes. None when a quote or bracket is not closed."""
    out = list(raw)
    at, size = 0, len(raw)
    while at < size:
        char = raw[at]
        if char == "\\":
            end = at + 2
        elif char == "'":
            end = raw.find("'", at + 1) + 1 or -1
        elif raw.startswith("$'", at):
            end = shell_quoting.closing(raw, at + 2, "'")
        elif char == '"' or char == "`":
            end = shell_quoting.closing(raw, at + 1, char)
        elif raw.startswith(("${", "$("), at):
            end = _bracket_end(raw, at + 1)
        else:
            at += 1
            continue
        if end <= 0:
            return None
        out[at:end] = _MASK * (min(end, size) - at)
        at = end
    return "".join(out)


def _bracket_end(raw: str, at: int) -> int:
    """The index just past the bracket that closes the one at ``at`` (``${…}``, ``$(…)``), quotes skipped."""
    opening = raw[at]
    closing = "}" if opening == "{" else ")"
    depth = 0
    while at < len(raw):
        char = raw[at]
        if char == "\\":
            at += 2
            continue
        if char in "'\"`":
            end = raw.find("'", at + 1) + 1 if char == "'" else shell_quoting.closing(raw, at + 1, char)
            if end <= 0:
                return -1
            at = end
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return at + 1
        at += 1
    return -1


def unquote(raw: str) -> str | None:
    """The text of a word without expansions once its quotes are removed (an ANSI-C ``$'…'`` string as bash
    reads it, a ``$"…"`` as its text); None when it has an expansion (``$``, a backquote)."""
    out: list[str] = []
    at, size = 0, len(raw)
    while at < size:
        char = raw[at]
        if raw.startswith("$'", at):
            close = shell_quoting.ansi_end(raw[at:])
            if close < 0 or "\\x{" in raw[at : at + close]:
                return None
            out.append(shell_quoting.ansi_c(raw[at + 2 : at + close]))
            at += close + 1
            continue
        if raw.startswith('$"', at):
            at += 1
            continue
        if char in "$`":
            return None
        if char == "\\":
            out.append(raw[at + 1 : at + 2] if raw[at + 1 : at + 2] != "\n" else "")  # a line join is nothing
            at += 2
        elif char == "'":
            close = raw.find("'", at + 1)
            if close < 0:
                return None
            out.append(raw[at + 1 : close])
            at = close + 1
        elif char == '"':
            close = shell_quoting.closing(raw, at + 1, '"') - 1
            if close < 0:
                return None
            inner = raw[at + 1 : close]
            if "$" in inner or "`" in inner:
                return None
            out.append(re.sub(r'\\([\\"$`\n])', lambda m: "" if m.group(1) == "\n" else m.group(1), inner))
            at = close + 1
        else:
            out.append(char)
            at += 1
    return "".join(out)
