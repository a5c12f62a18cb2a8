"""Node kind ids of the tree-sitter-bash grammar, by name, for the shell walk's hot paths.

A node's ``kind_id`` is an int read from the tree, while its ``type`` builds a new str on every call: the
walk tests ids. The grammar gives some names several ids (``word`` has four, ``pipeline`` two), so each name
maps to the set of all its ids, and ``node.kind_id in WORD`` is the same test as ``node.type == "word"``.
:func:`load` fills the sets once, when :func:`agentctl.gate.shell._parser` builds the parser.
"""

from __future__ import annotations

from typing import Any

Ids = frozenset[int]

COMMAND: Ids = frozenset()
COMMAND_NAME: Ids = frozenset()
COMMENT: Ids = frozenset()
CONCATENATION: Ids = frozenset()
EXPANSION: Ids = frozenset()
FILE_REDIRECT: Ids = frozenset()
HEREDOC_BODY: Ids = frozenset()
HEREDOC_REDIRECT: Ids = frozenset()
HEREDOC_START: Ids = frozenset()
LIST_OR_PIPELINE: Ids = frozenset()
NUMBER: Ids = frozenset()
RAW_STRING: Ids = frozenset()
REDIRECT: Ids = frozenset()
"""Every kind whose name ends in ``redirect`` (file, heredoc, herestring)."""
SIMPLE_EXPANSION: Ids = frozenset()
STATEMENT: Ids = frozenset()
"""The statements a redirect may hold (``cat <<EOF | sh``: the pipeline continues inside the heredoc redirect)."""
COMMAND_OR_REDIRECTED: Ids = frozenset()
STRING: Ids = frozenset()
STRING_CONTENT: Ids = frozenset()
VARIABLE_ASSIGNMENT: Ids = frozenset()
WORD: Ids = frozenset()

STATEMENTS = ("pipeline", "list", "command", "redirected_statement", "subshell", "compound_statement")

by_name: dict[str, Ids] = {}
"""Every name of the grammar, with its ids (named and anonymous kinds alike, as ``node.type`` names them)."""


def ids(*names: str) -> Ids:
    """The ids of these kind names (an unknown name has none)."""
    return frozenset(i for name in names for i in by_name.get(name, ()))


def load(language: Any) -> None:
    global COMMAND, COMMAND_NAME, COMMENT, CONCATENATION, EXPANSION, FILE_REDIRECT, HEREDOC_BODY
    global HEREDOC_REDIRECT, HEREDOC_START, LIST_OR_PIPELINE, NUMBER, RAW_STRING, REDIRECT, SIMPLE_EXPANSION
    global STATEMENT, COMMAND_OR_REDIRECTED, STRING, STRING_CONTENT, VARIABLE_ASSIGNMENT, WORD
    names: dict[str, set[int]] = {}
    for kind_id in range(language.node_kind_count):
        name = language.node_kind_for_id(kind_id)
        if name is not None:
            names.setdefault(name, set()).add(kind_id)
    by_name.update({name: frozenset(found) for name, found in names.items()})
    COMMAND, COMMAND_NAME, COMMENT = ids("command"), ids("command_name"), ids("comment")
    CONCATENATION, EXPANSION, FILE_REDIRECT = ids("concatenation"), ids("expansion"), ids("file_redirect")
    HEREDOC_BODY, HEREDOC_START = ids("heredoc_body"), ids("heredoc_start")
    HEREDOC_REDIRECT = ids("heredoc_redirect")
    LIST_OR_PIPELINE, NUMBER, RAW_STRING = ids("list", "pipeline"), ids("number"), ids("raw_string")
    REDIRECT = ids(*(name for name in by_name if name.endswith("redirect")))
    SIMPLE_EXPANSION, STATEMENT = ids("simple_expansion"), ids(*STATEMENTS)
    COMMAND_OR_REDIRECTED = ids("command", "redirected_statement")
    STRING, STRING_CONTENT = ids("string"), ids("string_content")
    VARIABLE_ASSIGNMENT, WORD = ids("variable_assignment"), ids("word")
