"""The scanner under the HCL parser (:mod:`.hcl`): positions, whitespace and comments, tokens, strings.

It knows nothing of HCL's grammar: the parser subclasses :class:`Scanner` and
moves its cursor (``pos``) through the text. ``nest`` counts open brackets,
inside which newlines are whitespace. Quoted strings and heredocs are scanned
here into template nodes; their ``${…}`` interpolations call back into the
parser's :meth:`Scanner.expression`.
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


IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
SPACE = re.compile(r"(?:[ \t\r\f\v]+|#[^\n]*|//[^\n]*|/\*.*?\*/)*", re.S)
_SPACE_NL = re.compile(r"(?:[ \t\r\n\f\v]+|#[^\n]*|//[^\n]*|/\*.*?\*/)*", re.S)
_SPACE_START = frozenset(" \t\r\n\f\v#/")
_TOP_START = re.compile(r"^[A-Za-z_][\w-]*", re.M)
_NEWLINE = re.compile("\n")
_LITERAL = re.compile(r'[^"\\$%\n]+')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


class Scanner:
    """A cursor over one text."""

    def __init__(self, text: str) -> None:
        self.src = text
        self.n = len(text)
        self.pos = 0
        self.nest = 0
        self._lines: list[int] | None = None

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
        pattern = _SPACE_NL if newlines or self.nest > 0 else SPACE
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
        match = IDENT.match(self.src, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        return match.group()

    def expression(self) -> Node:
        """Parse an expression (the parser provides it; templates interpolate expressions)."""
        raise NotImplementedError

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
            if literal:
                parts.append("".join(literal))
                literal.clear()
            directive = self._directive()
            if directive is None:  # a form we do not read: its value stays unknown
                end = src.find("}", self.pos)
                if end < 0:
                    raise self.error("unterminated template directive")
                parts.append(["unknown", src[self.pos : end + 1]])
                self.pos = end + 1
            else:
                parts.append(directive)
            return True
        return False

    def _directive(self) -> Node | None:
        """``%{ if C }``, ``%{ else }``, ``%{ endif }``, ``%{ for K, V in C }``, ``%{ endfor }`` as
        ``["dir", kind, strip before, strip after, text, expression, names]``; ``None`` for anything else."""
        start, saved = self.pos, self.nest
        self.pos += 2
        self.nest = 1
        try:
            strip_before = self.src.startswith("~", self.pos)
            if strip_before:
                self.pos += 1
            kind = self.ident()
            condition: Node | None = None
            names: list[str] = []
            if kind == "if":
                condition = self.expression()
            elif kind == "for":
                first = self.ident()
                second = self.ident() if self.take(",") else None
                if first is None or self.ident() != "in":
                    raise self.error("malformed for directive")
                names = [first] if second is None else [first, second]
                condition = self.expression()
            elif kind not in ("else", "endif", "endfor"):
                raise self.error("unknown directive")
            strip_after = self.take("~")
            self.expect("}")
        except HclError:
            self.pos, self.nest = start, saved
            return None
        self.nest = saved
        return ["dir", kind, strip_before, strip_after, self.src[start : self.pos], condition, names]

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
        return type(self)(body).bare_template()

    def bare_template(self) -> Node:
        """The whole text as a template (heredoc body, JSON string value): literal text with ``${…}`` inside."""
        parts: list[Any] = []
        literal: list[str] = []
        while self.pos < self.n:
            if not self._interpolation(parts, literal):
                literal.append(self.src[self.pos])
                self.pos += 1
        return _template_node(parts, literal)


def _template_node(parts: list[Any], literal: list[str]) -> Node:
    if literal:
        parts.append("".join(literal))
    for index, part in enumerate(parts):  # ``~`` strips the whitespace next to a directive
        if isinstance(part, list) and part[0] == "dir":
            if part[2] and index > 0 and isinstance(parts[index - 1], str):
                parts[index - 1] = parts[index - 1].rstrip()
            if part[3] and index + 1 < len(parts) and isinstance(parts[index + 1], str):
                parts[index + 1] = parts[index + 1].lstrip()
    if not parts:
        return ["lit", ""]
    if len(parts) == 1 and isinstance(parts[0], str):
        return ["lit", parts[0]]
    return ["tpl", parts]
