"""A parser for the CEL expression language (the grammar of the CEL spec, its precedence), for static analysis.

Only what :mod:`agentctl.engine.cel_prune` needs: expressions become nested
tuples (``("bin", op, left, right)``, ``("call", target, name, args)``,
``("sel", operand, field)``, ``("index", …)``, ``("id", name)``, ``("lit",
value)``…). String literals with escapes, raw, bytes or triple-quoted strings,
and message construction raise :class:`Unsupported`; numbers other than plain
decimal ints become :data:`UNKNOWN` literals. The runtime's own compiler has
already accepted the text; this parse never decides what a rule means on its own.
"""

from __future__ import annotations

import re
from typing import Any

UNKNOWN: Any = object()
"""The value of an expression (or literal) the analysis does not know."""

Node = tuple[Any, ...]


class Unsupported(Exception):
    """The text uses CEL outside the analysed subset (the rule is evaluated over every command)."""


_TOKEN = re.compile(
    r"""\s+|//[^\n]*|(?P<num>0x[0-9a-fA-F]+u?|\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+u?)"""
    r"""|(?P<str>"[^"\\\n]*"|'[^'\\\n]*')|(?P<id>[A-Za-z_][A-Za-z0-9_]*)"""
    r"""|(?P<op>\|\||&&|==|!=|<=|>=|[<>!+\-*/%?:.,()\[\]{}])"""
)
_RESERVED = {"true": True, "false": False, "null": None}


def _tokens(text: str) -> list[tuple[str, Any]]:
    if '"""' in text or "'''" in text:
        raise Unsupported("triple-quoted string")
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # escapes, raw/bytes/triple-quoted strings, anything unknown: not analysed
            raise Unsupported(text[pos : pos + 10])
        pos = match.end()
        kind = match.lastgroup
        if kind == "num":  # a plain decimal int is kept (``[0]``); other numbers are never compared here
            out.append(("lit", int(match.group()) if match.group().isdigit() else UNKNOWN))
        elif kind == "str":
            if match.start() > 0 and text[match.start() - 1] in "rRbB":  # a prefix glued to the quote
                raise Unsupported("prefixed string")
            out.append(("lit", match.group()[1:-1]))
        elif kind == "id":
            word = match.group()
            out.append(
                ("lit", _RESERVED[word]) if word in _RESERVED else ("op", "in") if word == "in" else ("id", word)
            )
        elif kind == "op":
            out.append(("op", match.group()))
    out.append(("end", None))
    return out


class _Parser:
    """Recursive descent over the CEL grammar (precedence as in the CEL spec)."""

    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, value: str) -> bool:
        return self.toks[self.i] == ("op", value)

    def take(self, value: str) -> None:
        if not self.peek(value):
            raise Unsupported(f"expected {value}")
        self.i += 1

    def parse(self) -> Node:
        node = self.expr()
        if self.toks[self.i][0] != "end":
            raise Unsupported("trailing text")
        return node

    def expr(self) -> Node:
        cond = self.binary(0)
        if self.peek("?"):
            self.i += 1
            yes = self.binary(0)
            self.take(":")
            return ("cond", cond, yes, self.expr())
        return cond

    _LEVELS = (("||",), ("&&",), ("==", "!=", "<", "<=", ">", ">=", "in"), ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.toks[self.i][0] == "op" and self.toks[self.i][1] in self._LEVELS[level]:
            op = self.toks[self.i][1]
            self.i += 1
            node = ("bin", op, node, self.binary(level + 1))
        return node

    def unary(self) -> Node:
        if self.peek("!") or self.peek("-"):
            op = self.toks[self.i][1]
            self.i += 1
            return ("un", op, self.unary())
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.peek("."):
                self.i += 1
                kind, name = self.toks[self.i]
                if kind != "id":
                    raise Unsupported("member name")
                self.i += 1
                node = ("call", node, name, self.args()) if self.peek("(") else ("sel", node, name)
            elif self.peek("["):
                self.i += 1
                index = self.expr()
                self.take("]")
                node = ("index", node, index)
            elif self.peek("{"):
                raise Unsupported("message construction")
            else:
                return node

    def args(self) -> list[Node]:
        self.take("(")
        return self.items(")")

    def items(self, close: str) -> list[Node]:
        out: list[Node] = []
        while not self.peek(close):
            out.append(self.expr())
            if not self.peek(close):
                self.take(",")
        self.take(close)
        return out

    def primary(self) -> Node:
        kind, value = self.toks[self.i]
        self.i += 1
        if kind == "lit":
            return ("lit", value)
        if kind == "id":
            return ("call", None, value, self.args()) if self.peek("(") else ("id", value)
        if value == "(":
            node = self.expr()
            self.take(")")
            return node
        if value == "[":
            return ("list", self.items("]"))
        if value == "{":
            entries: list[Node] = []
            while not self.peek("}"):
                key = self.expr()
                self.take(":")
                entries += [key, self.expr()]
                if not self.peek("}"):
                    self.take(",")
            self.take("}")
            return ("map", entries)
        raise Unsupported(f"unexpected {value}")


def parse(text: str) -> Node:
    return _Parser(text).parse()
