"""A parser for Terraform's native HCL syntax into a small JSON-able syntax tree.

Written here rather than taken from python-hcl2 because evaluation needs the
expressions themselves (python-hcl2 7.x flattens them back into ``"${…}"``
strings), the line of every attribute (to say which input changed), and
recovery: one malformed block is reported while the file's other blocks are
kept. It is also several times faster.

A body is a list of items: ``["a", name, expr, line]`` for an attribute and
``["b", type, [labels], body, start_line, end_line]`` for a block. Expression
nodes are lists tagged by their first element (see :func:`render`).

This module is the grammar (bodies, expressions); the scanner under it
(positions, whitespace and comments, tokens, strings and heredocs) is
:mod:`.scan`.
"""

from __future__ import annotations

import re

from agentctl.sources.terraform.scan import IDENT, SPACE, HclError, Node, Scanner

__all__ = ["HclError", "Node", "parse", "parse_template"]


_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INDEX = re.compile(r"[0-9]+")
"""A legacy index after a dot (``list.0``): thousands per configuration, so compiled once."""
_OPS = ("==", "!=", "<=", ">=", "&&", "||", "=>", "...")
_BINARY = [("||",), ("&&",), ("==", "!="), ("<=", ">=", "<", ">"), ("+", "-"), ("*", "/", "%")]
_OP_START = frozenset("|&=!<>+-*/%")
_PRECEDENCE = {op: level for level, ops in enumerate(_BINARY) for op in ops}


MAX_ERRORS = 20
"""After this many malformed blocks the rest of a file is not worth reading (it is probably not HCL)."""


def parse(text: str) -> tuple[Node, list[tuple[int, str]]]:
    """The file's body and the errors of blocks that could not be parsed (skipped)."""
    parser = _Parser(text)
    body: Node = []
    errors: list[tuple[int, str]] = []
    while len(errors) < MAX_ERRORS:
        try:
            parser.skip(newlines=True)
            if parser.pos >= parser.n:
                break
            body.append(parser.item())
        except HclError as exc:
            errors.append((exc.line, exc.message))
            if not parser.resync(exc.line):
                break
        except RecursionError:
            errors.append((parser.line(), "HCL nesting too deep to parse"))
            if not parser.resync(parser.line()):
                break
    return body, errors


class _Parser(Scanner):
    # -- bodies ----------------------------------------------------------
    def item(self) -> Node:
        start = self.pos
        name = self.ident()
        if name is None:
            raise self.error("expected an attribute or block")
        self.skip()
        if self.src.startswith("=", self.pos) and not self.src.startswith("==", self.pos):
            self.pos += 1
            line = self.line(start)
            value = self.expression()
            self.end_of_item()
            return ["a", name, value, line]
        labels: list[str] = []
        while True:
            self.skip()
            if self.src.startswith('"', self.pos):
                label = self.primary()
                if label[0] != "lit" or not isinstance(label[1], str):
                    raise self.error("block labels must be plain strings")
                labels.append(label[1])
            elif self.src.startswith("{", self.pos):
                break
            else:
                word = self.ident()
                if word is None:
                    raise self.error(f"expected '=' or '{{' after {name!r}")
                labels.append(word)
        self.pos += 1
        saved, self.nest = self.nest, 0
        body: Node = []
        while True:
            self.skip(newlines=True)
            if self.src.startswith("}", self.pos):
                self.pos += 1
                break
            if self.pos >= self.n:
                raise HclError(self.line(start), f"block {name!r} is never closed")
            body.append(self.item())
        self.nest = saved
        end_line = self.line(self.pos - 1)
        self.end_of_item()
        return ["b", name, labels, body, self.line(start), end_line]

    def end_of_item(self) -> None:
        self.skip()
        if self.pos >= self.n or self.src[self.pos] in "\n}":
            if self.pos < self.n and self.src[self.pos] == "\n":
                self.pos += 1
            return
        raise self.error("expected a newline after the attribute or block")

    # -- expressions -----------------------------------------------------
    def expression(self) -> Node:
        condition = self.binary(0)
        if self.peek("?"):
            self.pos += 1
            self.nest += 1
            yes = self.expression()
            self.expect(":")
            self.nest -= 1
            no = self.expression()
            return ["cond", condition, yes, no]
        return condition

    def binary(self, level: int) -> Node:
        """Operators of precedence ``level`` and tighter, left-associative (precedence climbing)."""
        left = self.unary()
        while True:
            self.skip()
            if self.pos >= self.n or self.src[self.pos] not in _OP_START:
                return left
            op = self._operator()
            if op is None or _PRECEDENCE[op] < level:
                return left
            self.pos += len(op)
            left = ["bin", op, left, self.binary(_PRECEDENCE[op] + 1)]

    def _operator(self) -> str | None:
        """The binary operator at the cursor; not ``=>``, ``...`` or a lone ``=``, ``!``, ``&``, ``|``."""
        rest = self.src[self.pos : self.pos + 3]
        if rest.startswith(_OPS):
            two = rest[:2]
            return two if two in _PRECEDENCE else None
        one = rest[:1]
        return one if one in _PRECEDENCE else None

    def unary(self) -> Node:
        self.skip()
        if self.src.startswith("!", self.pos) and not self.src.startswith("!=", self.pos):
            self.pos += 1
            return ["not", self.unary()]
        if self.src.startswith("-", self.pos):
            self.pos += 1
            return ["neg", self.unary()]
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            self.skip()
            if self.src.startswith("[*]", self.pos) or self.src.startswith(".*", self.pos):
                full = self.src[self.pos] == "["
                self.pos += 3 if full else 2
                return ["splat", node, self.postfix_ops(["it"], full)]
            if self.src.startswith(".", self.pos) and not self.src.startswith("...", self.pos):
                self.pos += 1
                node = self._dot(node)
            elif self.src.startswith("[", self.pos):
                self.pos += 1
                self.nest += 1
                key = self.expression()
                self.expect("]")
                self.nest -= 1
                node = ["idx", node, key]
            else:
                return node

    def _dot(self, node: Node) -> Node:
        self.skip()
        number = _INDEX.match(self.src, self.pos)
        if number is not None:
            self.pos = number.end()
            return ["idx", node, ["lit", int(number.group())]]
        name = self.ident()
        if name is None:
            raise self.error("expected an attribute name after '.'")
        return ["get", node, name]

    def postfix_ops(self, node: Node, full: bool) -> Node:
        while True:
            self.skip()
            if self.src.startswith("[*]", self.pos) or self.src.startswith(".*", self.pos):
                nested = self.src[self.pos] == "["
                self.pos += 3 if nested else 2
                return ["splat", node, self.postfix_ops(["it"], nested)]
            if self.src.startswith(".", self.pos) and not self.src.startswith("...", self.pos):
                self.pos += 1
                node = self._dot(node)
            elif full and self.src.startswith("[", self.pos) and not self.src.startswith("[*]", self.pos):
                self.pos += 1
                self.nest += 1
                key = self.expression()
                self.expect("]")
                self.nest -= 1
                node = ["idx", node, key]
            else:
                return node

    def primary(self) -> Node:
        self.skip()
        if self.pos >= self.n:
            raise self.error("expected an expression")
        char = self.src[self.pos]
        if char == '"':
            self.pos += 1
            return self.template('"')
        if self.src.startswith("<<", self.pos):
            return self.heredoc()
        if char.isdigit():
            match = _NUMBER.match(self.src, self.pos)
            assert match is not None
            self.pos = match.end()
            text = match.group()
            return ["lit", float(text) if any(c in text for c in ".eE") else int(text)]
        if char == "(":
            self.pos += 1
            self.nest += 1
            inner = self.expression()
            self.expect(")")
            self.nest -= 1
            return ["paren", inner]
        if char == "[":
            self.pos += 1
            return self.collection("]")
        if char == "{":
            self.pos += 1
            return self.collection("}")
        name = self.ident()
        if name is None:
            raise self.error("expected an expression")
        while self.src.startswith("::", self.pos):  # provider::name::function
            self.pos += 2
            name += "::" + (self.ident() or "")
        if name in ("true", "false"):
            return ["lit", name == "true"]
        if name == "null":
            return ["lit", None]
        if self.src.startswith("(", self.pos):
            return self.call(name)
        return ["ref", name]

    def call(self, name: str) -> Node:
        self.pos += 1
        self.nest += 1
        args: list[Node] = []
        expand = False
        while not self.take(")"):
            args.append(self.expression())
            if self.take("..."):
                expand = True
            if not self.take(","):
                self.expect(")")
                break
        self.nest -= 1
        return ["call", name, args, expand]

    def collection(self, close: str) -> Node:
        self.nest += 1
        self.skip()
        word = IDENT.match(self.src, self.pos)
        if word is not None and word.group() == "for" and re.match(r"\s", self.src[word.end() : word.end() + 1]):
            node = self.for_expr(close)
        elif close == "]":
            items: list[Node] = []
            while not self.take("]"):
                items.append(self.expression())
                if not self.take(","):
                    self.expect("]")
                    break
            node = ["tuple", items]
        else:
            pairs: list[Node] = []
            while not self.take("}"):
                pairs.append(self.object_item())
                self.take(",")
            node = ["object", pairs]
        self.nest -= 1
        return node

    def object_item(self) -> Node:
        self.skip()
        word = IDENT.match(self.src, self.pos)
        if word is not None:
            after = SPACE.match(self.src, word.end()).end()  # type: ignore[union-attr]
            if (self.src.startswith("=", after) and not self.src.startswith("==", after)) or self.src.startswith(
                ":", after
            ):
                self.pos = after + 1
                return [["lit", word.group()], self.expression()]
        key = self.expression()
        if not (self.take("=") or self.take(":")):
            raise self.error("expected '=' after an object key")
        return [key, self.expression()]

    def for_expr(self, close: str) -> Node:
        self.ident()  # "for"
        first = self.ident()
        second = self.ident() if self.take(",") else None
        if first is None or self.ident() != "in":
            raise self.error("malformed for expression")
        collection = self.expression()
        self.expect(":")
        key: Node | None = None
        if close == "}":
            key = self.expression()
            self.expect("=>")
        value = self.expression()
        group = self.take("...")
        condition: Node | None = None
        self.skip()
        if IDENT.match(self.src, self.pos) and self.src.startswith("if", self.pos):
            self.ident()
            condition = self.expression()
        self.expect(close)
        key_var, value_var = (first, second) if second is not None else (None, first)
        return ["for", key_var, value_var, collection, key, value, condition, group]


def parse_template(text: str) -> Node:
    """A bare template (heredoc body, JSON string value): literal text with ``${…}`` inside."""
    return _Parser(text).bare_template()
