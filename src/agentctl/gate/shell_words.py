"""Shell words as the shell evaluates them: quotes, escapes, expansions, substitutions, braces.

:class:`WordEvaluator` is the part of :class:`agentctl.gate.shell.Walker` that
turns one argument node into fields: quotes and escapes resolved, ``~`` and
known variables expanded, an unquoted ``$IFS`` splitting, ``a{b,c}`` brace
expansion, and the commands inside ``$(…)``/``<(…)``/``>(…)`` (and inside
arithmetic and arrays) walked, since they run too. A word whose text is only
known at run time is marked not ``literal``.
"""

from __future__ import annotations

import operator
import re
from typing import TYPE_CHECKING, Any, cast

from agentctl.gate import braces, shell_code, shell_paths, shell_quoting
from agentctl.gate import shell_kinds as kinds
from agentctl.gate.shell_command import Command as Cmd

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker


MAX_NESTING = 100
"""How deep statements and words may nest (``$(… $(…))``, ``${a:-${b:-…}}``, ``( ( … ) )``, long ``&&`` chains)
before the walk gives up: past it the text counts as opaque (a RecursionError, as Python's own limit would raise;
a compiled walk has no such limit of its own)."""


class Word:
    """One field of a command's argv: its text, whether the text is fully known, and the commands substituted in."""

    __slots__ = ("computed", "literal", "subs", "text")

    def __init__(self, text: str, literal: bool = True, subs: list[str] | None = None, computed: bool = False) -> None:
        self.text = text
        self.literal = literal
        self.subs: list[str] = subs if subs is not None else []
        """Names of commands whose output is substituted into this word."""
        self.computed = computed
        """Its text comes from a command substitution the gate evaluated (``$(pwd)``): known, but not a name."""


_SPLIT = object()
"""A field break (an unquoted ``$IFS``)."""


class WordEvaluator:
    """Word evaluation for the walker (it provides the source text, variables and statement walking)."""

    src: bytes
    chars: str | None
    home: str
    vars: dict[str, str]
    cwd: str
    oldpwd: str | None
    dirs: list[str]
    alts: list[str]
    via: list[str]
    out: list[Command]
    outfeed: Command | None
    nesting: int

    def text(self, node: Any) -> str:
        raise NotImplementedError

    def node(self, node: Any, feed: Command | None) -> list[Command]:
        raise NotImplementedError

    def apply_redirects(self, cmd: Command, redirects: list[Any]) -> None:
        raise NotImplementedError

    def words(self, node: Any) -> list[Word]:
        """Evaluate one argument node into fields (unquoted ``$IFS`` splits)."""
        kind_id = node.kind_id
        if kind_id in kinds.WORD:  # the common case, kept fast
            raw = self.text(node)
            if "\\" in raw and "{" in raw:  # ``{a\\,b,c}``: an escaped comma or brace does not count
                braced = braces.expand_word(raw, self.brace_tilde)
                if braced is not None:
                    return [Word(text if literal else shell_quoting.unknown(text), literal) for text, literal in braced]
            text = _unescape(raw) if "\\" in raw else raw
            known = True
            if "{" in text:  # ``{~,x}``, ``~{,/x}``: brace expansion comes first, then each word's tilde
                return [self.tilded(word) for word in _braces(Word(text))]
            if text[:1] == "~" and raw[:1] == "~" and "\\" not in raw.partition("/")[0]:  # ``~\\/x``: quoted
                text, known = shell_paths.tilde(cast("Walker", self), text)
            elif "=~" in raw or ":~" in raw:
                text, known = self.assigned_tilde(text)
            return [Word(text, known)]
        if kind_id in kinds.RAW_STRING:
            return [Word(self.text(node)[1:-1])]
        if kind_id in kinds.NUMBER:  # ``2>&1``'s ``1``: digits, nothing to evaluate
            return [Word(self.text(node))]
        if kind_id in kinds.STRING:
            return [self.string(node)]
        if node.type == "brace_expression":  # ``{1..3}``: the grammar's node for a sequence of numbers
            return _braces(Word(self.text(node)))
        pieces = self.pieces(node, quoted=False)
        concatenation = kind_id in kinds.CONCATENATION
        if len(pieces) == 1 and pieces[0] is not _SPLIT and not concatenation:
            return pieces  # one piece is one field (a quoted string, one expansion, one substitution)
        fields: list[Word] = []
        current: Word | None = None
        for piece in pieces:
            if piece is _SPLIT:
                if current is not None:
                    fields.append(current)
                current = None
                continue
            assert isinstance(piece, Word)
            if current is None:
                current = Word("", True, [])
            current.text += piece.text
            current.literal &= piece.literal
            current.subs += piece.subs
            current.computed |= piece.computed
        if current is not None:
            fields.append(current)
        if concatenation and any("{" in f.text for f in fields):
            raw = self.text(node)
            if "\\" not in raw and all(c.type == "word" for c in _leaves(node)):
                return [self.tilded(w) for f in fields for w in _braces(f)]
            # ``{"apply",x}``, ``{a\\,b}``: quotes or escapes in a brace group
            braced = braces.expand_word(raw, self.brace_tilde)
            if braced is not None and all(literal for _, literal in braced):
                return [Word(text) for text, _ in braced]
            if braced is not None:  # its substitutions were walked above; what the words are is unknown
                return [Word(shell_quoting.unknown(f.text), False, f.subs, f.computed) for f in fields]
        return fields

    def string(self, node: Any) -> Word:
        """A ``"…"`` word: its one field, as :meth:`pieces` and :meth:`words` build it, without a Word per piece
        for its text and ``$name`` parts (the common ones)."""
        cursor, end = node.start_byte + 1, node.end_byte - 1
        chars, src = self.chars, self.src
        text: list[str] = []
        literal, computed = True, False
        subs: list[str] = []
        content_ids, simple_ids = kinds.STRING_CONTENT, kinds.SIMPLE_EXPANSION
        for child in node.named_children:
            start, stop = child.start_byte, child.end_byte
            if start > cursor:
                gap = chars[cursor:start] if chars is not None else src[cursor:start].decode("utf-8", "replace")
                text.append(_unescape_dq(gap))
            raw = chars[start:stop] if chars is not None else self.text(child)
            kind_id = child.kind_id
            if kind_id in content_ids:
                text.append(_unescape_dq(raw) if "\\" in raw else raw)
            elif kind_id in simple_ids:  # ``$name`` (the grammar may count blanks before the ``$`` in it)
                value = self.quoted_variable(raw[1:])
                text.append(raw if value is None else value)
                literal &= value is not None
            else:
                for piece in self.pieces(child, quoted=True):
                    text.append(piece.text)
                    literal &= piece.literal
                    subs += piece.subs
                    computed |= piece.computed
            cursor = stop
        if end > cursor:
            text.append(
                _unescape_dq(chars[cursor:end] if chars is not None else src[cursor:end].decode("utf-8", "replace"))
            )
        return Word("".join(text), literal, subs, computed)

    def quoted_variable(self, name: str) -> str | None:
        """``"$name"``: its value when the walk knows it (as :meth:`expansion` finds it), else None."""
        if name == "IFS":
            return " "
        if name == "HOME":
            return self.home
        if name in self.vars:
            return self.vars[name]
        return shell_paths.variable(cast("Walker", self), name)

    def pieces(self, node: Any, quoted: bool) -> list[Any]:
        self.nesting += 1
        try:
            return self.piece_of(node, quoted)
        finally:
            self.nesting -= 1

    def piece_of(self, node: Any, quoted: bool) -> list[Any]:
        if self.nesting > MAX_NESTING:
            raise RecursionError("shell words nested too deep to judge")
        kind_id = node.kind_id  # the common kinds first; the text is only sliced where it is needed
        if kind_id in kinds.STRING:  # one piece: nothing in quotes splits
            return [self.string(node)]
        if kind_id in kinds.SIMPLE_EXPANSION or kind_id in kinds.EXPANSION:
            return self.expansion(node, self.text(node), quoted)
        if kind_id in kinds.CONCATENATION:
            return [p for child in node.children for p in self.pieces(child, quoted)]
        if kind_id in kinds.WORD:
            raw = self.text(node)
            text = _unescape(raw)
            if text.startswith("~") and raw.startswith("~") and not quoted and shell_quoting.tilde_first(node, raw):
                text, known = shell_paths.tilde(cast("Walker", self), text)
                return [Word(text, known)]
            return [Word(text)]
        if kind_id in kinds.RAW_STRING:
            return [Word(self.text(node)[1:-1])]
        kind = node.type
        if kind == "translated_string":
            out: list[Any] = []
            cursor, end = node.start_byte + 2, node.end_byte - 1
            for child in node.named_children:
                if child.start_byte > cursor:
                    out.append(Word(_unescape_dq(self.src[cursor : child.start_byte].decode("utf-8", "replace"))))
                if child.type == "string_content":
                    out.append(Word(_unescape_dq(self.text(child))))
                else:
                    out += self.pieces(child, quoted=True)
                cursor = child.end_byte
            if end > cursor:
                out.append(Word(_unescape_dq(self.src[cursor:end].decode("utf-8", "replace"))))
            return out or [Word("")]
        raw = self.text(node)
        if kind == "$":
            return [_translated_prefix(node, raw)]
        if kind == "ansi_c_string":
            if shell_quoting.ansi_end(raw) != len(raw) - 1:  # ``$'\\\\'; rm x #'``: bash ends it at the 2nd quote
                self.out.append(Cmd(argv=[], opaque=shell_quoting.MISREAD, via=list(self.via), cwd=self.cwd))
                return [Word(raw, False)]
            if "\\x{" in raw:  # ``\\x{…}``: a form bash reads its own way
                return [Word(shell_quoting.unknown(raw), False)]
            return [Word(shell_quoting.ansi_c(raw[2:-1]))]
        if kind in ("command_substitution", "process_substitution"):
            added: list[Command] = []
            saved = (self.cwd, self.oldpwd, list(self.dirs), list(self.alts))
            feed = None
            if raw.startswith(">(") and self.outfeed is not None:  # ``tee >(sh)``: sh reads what tee reads
                feed = self.outfeed
            elif raw.startswith(">("):
                feed = Cmd(argv=["(the command's output)"], name="(the command's output)", opaque="unknown")
            for child in node.named_children:
                if child.type == "file_redirect":  # ``$(<file)`` reads the file
                    holder = Cmd(argv=["cat"], name="cat", literal=[True], cwd=self.cwd, via=list(self.via))
                    self.apply_redirects(holder, [child])
                    self.out.append(holder)
                    added.append(holder)
                    continue
                added += self.node(child, feed)
            self.cwd, self.oldpwd, self.dirs, self.alts = saved
            value = shell_paths.substitution(added, cast("Walker", self)) if kind == "command_substitution" else None
            if value is not None:
                return [Word(value, True, [], computed=True)]
            names = dedupe([c.name or (c.argv[0] if c.argv else "") for c in added])
            text = "/dev/fd/63" if kind == "process_substitution" else f"$({', '.join(names)})"
            return [Word(text, False, names)]
        if kind in ("arithmetic_expansion", "array"):  # ``$(( $(x) + 1 ))``, ``a=($(x))``: the substitutions run
            return [Word(raw, False, [n for child in node.named_children for n in self._subs_in(child)])]
        return [Word(raw)]

    def tilded(self, word: Word) -> Word:
        """A word brace expansion made, its tilde prefix expanded (``{~,x}`` is ``$HOME x``)."""
        if word.text[:1] != "~" or not word.literal:
            return word
        text, known = shell_paths.tilde(cast("Walker", self), word.text)
        return Word(text, known, word.subs, word.computed)

    def brace_tilde(self, text: str) -> tuple[str, bool]:
        """:func:`shell_paths.tilde` for :func:`braces.expand_word`: a word it made, starting with ``~``."""
        return shell_paths.tilde(cast("Walker", self), text)

    def assigned_tilde(self, text: str) -> tuple[str, bool]:
        """``a=~/x``, ``a=b:~/x``: an argument written as an assignment has its tildes after the ``=`` and after
        each ``:`` expanded, as bash does (not in POSIX mode). ``text``: a word without quotes."""
        match = shell_quoting.ASSIGNMENT.match(text)
        if match is None:
            return text, True
        known = True
        parts = []
        for part in text[match.end() :].split(":"):
            if part[:1] == "~":
                part, seen = shell_paths.tilde(cast("Walker", self), part)
                known &= seen
            parts.append(part)
        return match.group(0) + ":".join(parts), known

    def expansion(self, node: Any, raw: str, quoted: bool) -> list[Any]:
        if node.kind_id in kinds.SIMPLE_EXPANSION:  # ``$name``: no operators, nothing substituted inside
            simple, name = True, raw[1:]
        else:
            children = node.named_children
            names = [c for c in children if c.type in ("variable_name", "special_variable_name")]
            name = self.text(names[0]) if names else ""
            simple = len(children) == 1 and bool(names) and raw == "${" + name + "}"  # not ``${!x}``, ``${x,,}``
            pattern = next((self.text(c) for c in children if c.type in ("regex", "word")), None)
            shell_code.in_expansion(cast("Walker", self), raw, pattern, name)
        if simple and name == "IFS":
            return [Word(" ")] if quoted else [_SPLIT]
        if simple and name == "HOME":
            return [Word(self.home)]
        known = None if not simple or name in self.vars else shell_paths.variable(cast("Walker", self), name)
        if not simple and shell_paths.is_parameter(raw):
            known = shell_paths.parameter(cast("Walker", self), raw)
        if known is not None:
            return [Word(known)]
        if simple and name in self.vars:
            value = self.vars[name]
            if quoted:
                return [Word(value)]
            out: list[Any] = []
            for index, part in enumerate(shell_paths.ifs_split(cast("Walker", self), value)):
                if index:
                    out.append(_SPLIT)
                out.append(Word(part))
            return out or [Word("")]
        if simple:
            return [Word(raw, False)]
        subs = [n for child in node.named_children for n in self._subs_in(child)]
        return [Word(raw, False, subs)]

    def _subs_in(self, node: Any, depth: int = 0) -> list[str]:
        if self.nesting + depth > MAX_NESTING:
            raise RecursionError("shell words nested too deep to judge")
        if node.type in ("command_substitution", "process_substitution", "expansion", "simple_expansion"):
            return [w for p in self.pieces(node, True) if isinstance(p, Word) for w in p.subs]
        return [n for child in node.named_children for n in self._subs_in(child, depth + 1)]


PLAIN_SKIPS = frozenset("\\{~")
"""A plain word holding one of these goes through :meth:`Walker.words` (escapes, braces, a tilde)."""


def _leaves(node: Any) -> list[Any]:
    return [node] if node.type != "concatenation" else list(node.children)


_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPE_DQ = re.compile(r"\\([$`\"\\])")
_GROUP = operator.itemgetter(1)
"""The escaped character (a callable: ``re.sub`` with a template expands it in Python, match by match)."""


def _translated_prefix(node: Any, raw: str) -> Word:
    """A ``$`` the grammar gives as a node of its own in a concatenation: before a string it glues to (``a$"b"``,
    ``-$"x"``: the node is ``-$``) it starts a translated string, the same text in the C locale; else it is
    text."""
    after = node.next_sibling
    if after is None or after.type != "string" or after.start_byte != node.end_byte:
        return Word(raw, "\\" not in raw)
    return Word(raw[:-1], "\\" not in raw and "$" not in raw[:-1])


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE.sub(_GROUP, text.replace("\\\n", ""))


def _unescape_dq(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE_DQ.sub(_GROUP, text.replace("\\\n", ""))


def _braces(word: Word) -> list[Word]:
    """``a{b,c}`` as the words bash expands it to; one unknown word when there would be too many to judge."""
    texts = braces.expand(word.text)
    if texts is None:
        return [Word(shell_quoting.unknown(word.text), False, word.subs, word.computed)]
    return [Word(t, word.literal, word.subs, word.computed) for t in texts if t]  # bash drops empty words


def dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(filter(None, items)))
