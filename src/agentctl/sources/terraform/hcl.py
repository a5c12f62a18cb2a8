"""A parser for Terraform's native HCL syntax into a small JSON-able syntax tree.

Written here rather than taken from python-hcl2 because evaluation needs the
expressions themselves (python-hcl2 7.x flattens them back into ``"${…}"``
strings), the line of every attribute (to say which input changed), and
recovery: one malformed block is reported while the file's other blocks are
kept. It is also several times faster.

A body is a list of items: ``["a", name, expr, line]`` for an attribute and
``["b", type, [labels], body, start_line, end_line]`` for a block. Expression
nodes are lists tagged by their first element (see :func:`render`).
"""

from __future__ import annotations

import bisect
import re
from typing import Any

Node = list[Any]


class HclError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SPACE = re.compile(r"(?:[ \t\r\f\v]+|#[^\n]*|//[^\n]*|/\*.*?\*/)*", re.S)
_SPACE_NL = re.compile(r"(?:[ \t\r\n\f\v]+|#[^\n]*|//[^\n]*|/\*.*?\*/)*", re.S)
_OPS = ("==", "!=", "<=", ">=", "&&", "||", "=>", "...")
_BINARY = [("||",), ("&&",), ("==", "!="), ("<=", ">=", "<", ">"), ("+", "-"), ("*", "/", "%")]
_OP_START = frozenset("|&=!<>+-*/%")
_SPACE_START = frozenset(" \t\r\n\f\v#/")
_TOP_START = re.compile(r"^[A-Za-z_][\w-]*", re.M)
_NEWLINE = re.compile("\n")
_LITERAL = re.compile(r'[^"\\$%\n]+')
_PRECEDENCE = {op: level for level, ops in enumerate(_BINARY) for op in ops}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


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


class _Parser:
    def __init__(self, text: str) -> None:
        self.src = text
        self.n = len(text)
        self.pos = 0
        self.nest = 0
        self._lines: list[int] | None = None

    # -- positions -------------------------------------------------------
    def line(self, pos: int | None = None) -> int:
        if self._lines is None:
            self._lines = [m.start() for m in _NEWLINE.finditer(self.src)]
        return bisect.bisect_left(self._lines, self.pos if pos is None else pos) + 1

    def error(self, message: str) -> HclError:
        found = self.src[self.pos : self.pos + 12].split("\n")[0]
        return HclError(self.line(), f"{message} (at {found!r})" if found else f"{message} (at end of file)")

    def resync(self, error_line: int) -> bool:
        """Skip to the next line after ``error_line`` that starts a top-level item."""
        start = 0
        for _ in range(error_line):
            nl = self.src.find("\n", start)
            if nl < 0:
                self.pos = self.n
                return False
            start = nl + 1
        start = max(start, self.pos if self.src.rfind("\n", 0, self.pos) < start else start)
        match = _TOP_START.search(self.src, start)
        if match is None:
            self.pos = self.n
            return False
        self.pos = match.start()
        self.nest = 0
        return True

    def skip(self, newlines: bool = False) -> None:
        if self.pos < self.n and self.src[self.pos] not in _SPACE_START:
            return
        pattern = _SPACE_NL if newlines or self.nest > 0 else _SPACE
        self.pos = pattern.match(self.src, self.pos).end()  # type: ignore[union-attr]

    def peek(self, token: str) -> bool:
        self.skip()
        return self.src.startswith(token, self.pos)

    def take(self, token: str) -> bool:
        if self.peek(token):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.take(token):
            raise self.error(f"expected {token!r}")

    def ident(self) -> str | None:
        self.skip()
        match = _IDENT.match(self.src, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

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
        number = re.compile(r"[0-9]+").match(self.src, self.pos)
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
        word = _IDENT.match(self.src, self.pos)
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
        word = _IDENT.match(self.src, self.pos)
        if word is not None:
            after = _SPACE.match(self.src, word.end()).end()  # type: ignore[union-attr]
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
        if _IDENT.match(self.src, self.pos) and self.src.startswith("if", self.pos):
            self.ident()
            condition = self.expression()
        self.expect(close)
        key_var, value_var = (first, second) if second is not None else (None, first)
        return ["for", key_var, value_var, collection, key, value, condition, group]

    # -- templates -------------------------------------------------------
    def template(self, close: str) -> Node:
        """The parts of a quoted string (``close`` is ``"``) up to its closing quote."""
        parts: list[Any] = []
        literal: list[str] = []
        src = self.src
        while True:
            if self.pos >= self.n or src[self.pos] == "\n":
                raise self.error("unterminated string")
            char = src[self.pos]
            if char == close:
                self.pos += 1
                break
            if char == "\\" and close == '"':
                escape = src[self.pos + 1 : self.pos + 2]
                if escape in _ESCAPES:
                    literal.append(_ESCAPES[escape])
                    self.pos += 2
                elif escape in ("u", "U"):
                    width = 4 if escape == "u" else 8
                    digits = src[self.pos + 2 : self.pos + 2 + width]
                    try:
                        literal.append(chr(int(digits, 16)))
                    except ValueError:
                        raise self.error("invalid unicode escape") from None
                    self.pos += 2 + width
                else:
                    raise self.error("invalid escape sequence")
                continue
            if self._interpolation(parts, literal):
                continue
            run = _LITERAL.match(src, self.pos + 1)
            end = run.end() if run is not None else self.pos + 1
            literal.append(src[self.pos : end])
            self.pos = end
        return _template_node(parts, literal)

    def _interpolation(self, parts: list[Any], literal: list[str]) -> bool:
        src = self.src
        if src.startswith("$${", self.pos) or src.startswith("%%{", self.pos):
            literal.append(src[self.pos + 1 : self.pos + 3])
            self.pos += 3
            return True
        if src.startswith("${", self.pos):
            if literal:
                parts.append("".join(literal))
                literal.clear()
            self.pos += 2
            self.take("~")
            saved, self.nest = self.nest, 1
            parts.append(self.expression())
            self.take("~")
            self.expect("}")
            self.nest = saved
            return True
        if src.startswith("%{", self.pos):
            end = src.find("}", self.pos)
            if end < 0:
                raise self.error("unterminated template directive")
            if literal:
                parts.append("".join(literal))
                literal.clear()
            parts.append(["unknown", src[self.pos : end + 1]])
            self.pos = end + 1
            return True
        return False

    def heredoc(self) -> Node:
        match = re.compile(r"<<(-?)([A-Za-z_][\w-]*)[ \t]*\r?\n").match(self.src, self.pos)
        if match is None:
            raise self.error("malformed heredoc")
        marker = match.group(2)
        end = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*\r?$", re.M).search(self.src, match.end())
        if end is None:
            raise self.error(f"heredoc {marker} is never closed")
        body = self.src[match.end() : end.start()]
        if match.group(1):
            lines = body.split("\n")
            indents = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
            cut = min(indents) if indents else 0
            body = "\n".join(line[cut:] for line in lines)
        self.pos = end.end()
        return parse_template(body)


def parse_template(text: str) -> Node:
    """A bare template (heredoc body, JSON string value): literal text with ``${…}`` inside."""
    inner = _Parser(text)
    parts: list[Any] = []
    literal: list[str] = []
    while inner.pos < inner.n:
        if not inner._interpolation(parts, literal):
            literal.append(text[inner.pos])
            inner.pos += 1
    return _template_node(parts, literal)


def _template_node(parts: list[Any], literal: list[str]) -> Node:
    if literal:
        parts.append("".join(literal))
    if not parts:
        return ["lit", ""]
    if len(parts) == 1 and isinstance(parts[0], str):
        return ["lit", parts[0]]
    return ["tpl", parts]
