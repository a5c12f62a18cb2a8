"""Statements of the shell walk that set state: ``for`` loops, declarations (``export``/``declare``), assignments.

Called by :class:`agentctl.gate.shell.Walker`: a ``for`` loop over a few literal words is walked once per
word with the variable set; ``export X=v`` and ``declare -x`` change the environment of every later command;
``x=v`` is kept as a known variable when its value is literal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentctl.gate import shell_code, shell_paths
from agentctl.gate.shell_command import Command
from agentctl.gate.shell_words import Word

if TYPE_CHECKING:
    from agentctl.gate.shell import Walker

MAX_LOOP = 16
"""A ``for`` loop over at most this many literal words is walked once per word."""


def for_loop(walker: Walker, node: Any, feed: Command | None) -> None:
    """``for x in a b; do …; done``: the body once per literal value (a few), else with ``x`` unknown."""
    name = walker.text(node.child_by_field_name("variable"))
    values = [w for v in node.children_by_field_name("value") for w in walker.words(v)]
    body = node.child_by_field_name("body")
    known = values and len(values) <= MAX_LOOP and all(w.literal for w in values)
    for word in values if known else [None]:
        if word is None:
            walker.vars.pop(name, None)
        else:
            walker.vars[name] = word.text
        if body is not None:
            walker.visit(body, feed)
    walker.vars.pop(name, None)


def declaration(walker: Walker, node: Any) -> None:
    """``export X=v`` / ``declare -x X``: assignments, and the environment of later commands."""
    from agentctl.gate import shell_runners

    keyword = walker.text(node.children[0]) if node.children else ""
    exporting = keyword == "export"
    exported: dict[str, str | None] = {}
    flags = ""
    for child in node.named_children:
        if child.type == "word" and keyword in ("declare", "typeset", "local") and walker.text(child)[:1] == "-":
            exporting |= "x" in walker.text(child)
            flags += walker.text(child)[1:]
        elif child.type == "variable_assignment":
            pair = walker.assignment(child, store=True)
            if pair:
                shell_paths.attributes(walker, pair[0], flags)
            if pair and exporting:  # a computed value keeps its text (``$HOME/bin:$PATH``): "$" marks it
                exported[pair[0]] = walker.vars.get(pair[0], pair[1])
        elif child.type == "variable_name" and exporting:
            exported[walker.text(child)] = walker.vars.get(walker.text(child), "")
        else:
            walker.visit(child, None)
    walker.exported.update(exported)
    if shell_runners.WATCHED.intersection(exported):  # judged where it is set: every later command inherits it
        holder = Command(argv=[keyword], name=keyword, literal=[True], cwd=walker.cwd, via=list(walker.via))
        walker.out.append(holder)
        shell_runners.environment(holder, {**walker.exported, **exported}, walker)


def assignment(walker: Walker, node: Any, store: bool) -> tuple[str, str] | None:
    name_node = node.child_by_field_name("name")
    value = node.child_by_field_name("value")
    name = walker.text(name_node) if name_node is not None else ""
    words = walker.words(value) if value is not None else [Word("")]
    text = " ".join(w.text for w in words)
    index = name_node.child_by_field_name("index") if name_node is not None else None
    if index is not None:  # ``a[$(x)]=1``: the subscript's substitutions run
        walker.words(index)
    if store and name and all(w.literal for w in words):
        shell_code.assigned(walker, name, text)
    if store and name:
        if all(w.literal for w in words):
            walker.vars[name] = text
        else:
            walker.vars.pop(name, None)
    return name, text
