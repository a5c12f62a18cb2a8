"""A simple command's words, evaluated node by node into its argv (the walk's slow path).

:meth:`agentctl.gate.shell.Walker.command_at` reads a command made of plain words and simple quotes straight
from its text (:mod:`agentctl.gate.shell_plain`); any other command comes here: each argument node evaluated by
:meth:`agentctl.gate.shell_words.WordEvaluator.words` (quotes, escapes, expansions, substitutions), words the
grammar split in two joined as bash reads them (:func:`glue`), assignments and the command's own redirects set
apart.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from agentctl.gate import braces, shell_quoting
from agentctl.gate import shell_kinds as kinds
from agentctl.gate.shell_command import Command as Cmd
from agentctl.gate.shell_words import PLAIN_SKIPS, Word

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker


def evaluate(walker: Walker, node: Any, feed: Command | None, whole: str) -> tuple[Command, list[Any]]:
    """A command's words evaluated node by node (quotes, escapes, expansions, substitutions, assignments),
    and its own redirects (applied by :meth:`agentctl.gate.shell.Walker.command_at`, after its stdin from a pipe)."""
    argv: list[str] = []
    literal: list[bool] = []
    subs: dict[int, list[str]] = {}  # per word index: the commands substituted into it
    assigned: dict[str, str] = {}
    inner_redirects: list[Any] = []
    saved_feed, walker.outfeed = walker.outfeed, feed
    joined_at = -1  # the end byte of the last word, to join words split by ``\\<newline>``
    node_from = 0  # where the argv words of the last argument node start
    src, chars = walker.src, walker.chars
    word_ids, name_ids, raw_ids = kinds.WORD, kinds.COMMAND_NAME, kinds.RAW_STRING
    for child in node.named_children:
        kind_id = child.kind_id
        if kind_id in name_ids:
            child = child.named_child(0) or child
            kind_id = child.kind_id
        if kind_id in word_ids:  # the common case, kept fast: no quotes, no expansions
            start, end = child.start_byte, child.end_byte
            text = chars[start:end] if chars is not None else src[start:end].decode("utf-8", "surrogateescape")
            # else: words() sees it whole (and a word glued to the last one, ``"ap"\\ply``, joins it)
            if start != joined_at + 2 and start != joined_at and PLAIN_SKIPS.isdisjoint(text):
                node_from = len(argv)
                argv.append(text)
                literal.append(True)
                joined_at = end
                continue
            more = walker.words(child)
        elif kind_id in raw_ids and chars is not None and child.start_byte not in (joined_at, joined_at + 2):
            node_from = len(argv)
            argv.append(chars[child.start_byte + 1 : child.end_byte - 1])  # ``'text'``: the text, as it is
            literal.append(True)
            joined_at = child.end_byte
            continue
        elif kind_id in kinds.VARIABLE_ASSIGNMENT:
            pair = walker.assignment(child, store=False)
            if pair:
                assigned[pair[0]] = pair[1]
            continue
        elif kind_id in kinds.REDIRECT:
            inner_redirects.append(child)
            continue
        elif kind_id in kinds.COMMENT:
            continue
        else:
            more = walker.words(child)
        if argv and more and shell_quoting.joins(src, joined_at, child.start_byte):  # ``"ap"\\ply``: one word
            more = glue(argv, literal, subs, node_from, more, shell_quoting.glued_source(src, child))
        node_from = len(argv)
        for word in more:
            if word.subs:
                subs[len(argv)] = word.subs
            argv.append(word.text)
            literal.append(word.literal and not (word.computed and len(argv) == 1))  # ``$(pwd)`` is no name
        joined_at = child.end_byte
    walker.outfeed = saved_feed
    # ``-$"x"``, ``\\ 'g'``: text the grammar leaves out of every word: the words are unknown
    literal = shell_quoting.lost_words(src, node, whole, argv, literal)
    cmd = Cmd.simple(argv, walker.cwd, walker.alts[:], walker.via[:], literal)
    cmd.assigned = assigned
    if subs:
        if argv and not literal[0]:
            cmd.opaque = f"the command name is computed at run time ({argv[0]})"
            cmd.code_from = list(subs.get(0, []))
        for index, names in subs.items():
            if index:
                cmd.code_from += [n for n in names if n not in cmd.code_from]
    elif argv and not literal[0]:
        cmd.opaque = f"the command name is computed at run time ({argv[0]})"
    if "\n" in (whole or walker.text(node)) and _joins_lines(src, node):
        cmd.opaque = cmd.opaque or "the parse runs two lines together as one command (bash runs them apart)"
    return cmd, inner_redirects


def _joins_lines(src: bytes, node: Any) -> bool:
    """A line break between two words of one command (not ``\\<newline>``): tree-sitter-bash sometimes reads the
    next line into the command before it (after ``… | awk '{print $1}' | xargs echo``, a ``terraform apply <<'EOF'``
    line became arguments of that echo)."""
    pairs = itertools.pairwise(node.named_children)
    return any(b"\n" in src[a.end_byte : b.start_byte].replace(b"\\\n", b"") for a, b in pairs)


def glue(
    argv: list[str], literal: list[bool], subs: dict[int, list[str]], start: int, more: list[Word], raw: str
) -> list[Word]:
    """``"ap"\\ply``, ``'a'\\b``, ``ap\\<newline>ply``: the grammar gives a word as two nodes; bash reads one. The
    fields of the last node (``argv[start:]``, taken off ``argv``) joined with ``more``, the next node's; ``raw``:
    the source of the whole word. One field each side is one word. A brace group (it may span both nodes:
    ``{\\~,x}``) is expanded over ``raw`` as a whole; what cannot be told exactly is unknown (its text has a
    ``$``, as :func:`shell_quoting.unknown` makes it)."""
    before, known = argv[start:], all(literal[start:])
    names = [n for at in range(start, len(argv)) for n in subs.pop(at, [])]
    del argv[start:], literal[start:]
    names += [n for w in more for n in w.subs]
    known = known and all(w.literal for w in more)
    if "{" in raw:
        if "\\\n" in raw and not any(quote in raw for quote in "'\"$"):  # outside quotes, a line join is nothing
            raw = raw.replace("\\\n", "")
        braced = braces.expand_word(raw) if known and "\\\n" not in raw else [(raw, False)]
        if braced is not None:
            if all(lit and not text.startswith("~") for text, lit in braced):  # a tilde: not for this walk
                return [Word(text, True, names) for text, _ in braced]
            return [Word(shell_quoting.unknown(raw), False, names)]
    if len(before) == 1 and len(more) == 1:
        first = more[0]
        exact = braces.unquote(raw) if known and raw[:1] != "~" else None
        if exact is None and ("\\ " in raw or "\\\t" in raw):  # ``'a'\\ b``: the blank is in no node
            known = False
        text = exact if exact is not None else before[0] + first.text
        return [Word(text if known else shell_quoting.unknown(text), known, names, first.computed)]
    if len(before) * len(more) > braces.MAX_WORDS:
        return [Word(shell_quoting.unknown("".join(before) + "".join(w.text for w in more)), False, names)]
    return [Word(shell_quoting.unknown(left + right.text), False, names) for left in before for right in more]
