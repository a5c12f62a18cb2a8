"""Template directives (``%{ if }`` / ``%{ else }`` / ``%{ endif }``, ``%{ for }`` / ``%{ endfor }``) and
``templatefile()``, carried out as Terraform does (``expr`` evaluates the interpolations).

A directive whose condition or collection is unknown makes the whole template
unknown; a template file is read the way ``file()`` reads one (only where a
file reader is set: the gate's preview and verify), and evaluated with the
variables map as its only scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentctl.sources.terraform.functions import EvalError, Unknown, contains_unknown, read_file, tostring
from agentctl.sources.terraform.hcl import Node
from agentctl.sources.terraform.render import render

Evaluate = Callable[[Node, dict[str, Any]], Any]
MAX_FOR_ITEMS = 10_000
MAX_TEXT = 1_000_000


_IN_TEMPLATEFILE = "%templatefile"
"""A scope key no HCL name can take: set while a ``templatefile()`` template is evaluated (Terraform forbids
calling ``templatefile`` from one)."""


def templatefile(node: Node, path: Any, variables: Any, env: dict[str, Any], evaluate: Evaluate) -> Any:
    """``templatefile(path, vars)``: the file read as ``file()`` reads it, evaluated with ``vars`` as its only scope."""
    from agentctl.sources.terraform.hcl import HclError, parse_template

    if _IN_TEMPLATEFILE in env:
        raise EvalError("templatefile() cannot be called from a template file")
    if not isinstance(variables, dict):
        return Unknown(render(node))
    paths = env.get("path")
    root = paths.get("root", ".") if isinstance(paths, dict) else "."
    text = read_file(path, str(root))
    if text is None:
        return Unknown(render(node))
    try:
        template = parse_template(text.replace("\r\n", "\n"))
    except (HclError, RecursionError):
        return Unknown(render(node))
    value = evaluate(template, {**variables, _IN_TEMPLATEFILE: True})
    return Unknown(render(node)) if contains_unknown(value) else value


class UnknownPart(Exception):
    """A part of a template (an interpolation, a directive's condition or collection) is not known."""


def render_parts(
    parts: list[Any],
    start: int,
    end: int,
    env: dict[str, Any],
    out: list[str],
    evaluate: Evaluate,
    truth: Callable[[Any], bool],
) -> None:
    """Append the text of ``parts[start:end]``, with ``%{ if }`` / ``%{ for }`` directives carried out."""
    index = start
    while index < end:
        part = parts[index]
        if isinstance(part, str):
            out.append(part)
            index += 1
            continue
        if part[0] != "dir":
            value = evaluate(part, env)
            if contains_unknown(value):
                raise UnknownPart
            out.append(tostring(value))
            index += 1
            continue
        kind = part[1]
        if kind not in ("if", "for"):
            raise EvalError(f"template directive {part[4]} without its opening")
        middle, close = _matching(parts, index, end)
        if kind == "if":
            condition = evaluate(part[5], env)
            if contains_unknown(condition):
                raise UnknownPart
            if truth(condition):
                render_parts(parts, index + 1, middle if middle is not None else close, env, out, evaluate, truth)
            elif middle is not None:
                render_parts(parts, middle + 1, close, env, out, evaluate, truth)
        else:
            if middle is not None:
                raise EvalError("%{ else } inside %{ for }")
            collection = evaluate(part[5], env)
            if contains_unknown(collection):
                raise UnknownPart
            pairs = _pairs(collection)
            if len(pairs) > MAX_FOR_ITEMS:
                raise EvalError("template loop too long")
            names = part[6]
            for key, value in pairs:
                scope = {**env, names[-1]: value}
                if len(names) == 2:
                    scope[names[0]] = key
                render_parts(parts, index + 1, close, scope, out, evaluate, truth)
                if sum(len(t) for t in out) > MAX_TEXT:
                    raise EvalError("string too long")
        index = close + 1


def _matching(parts: list[Any], opening: int, end: int) -> tuple[int | None, int]:
    """The positions of the ``%{ else }`` (if any) and the closing directive of the one at ``opening``."""
    closer = "endif" if parts[opening][1] == "if" else "endfor"
    depth, middle = 0, None
    for index in range(opening + 1, end):
        part = parts[index]
        if isinstance(part, str) or part[0] != "dir":
            continue
        if part[1] in ("if", "for"):
            depth += 1
        elif part[1] in ("endif", "endfor") and depth > 0:
            depth -= 1
        elif part[1] == closer and depth == 0:
            return middle, index
        elif part[1] == "else" and depth == 0 and closer == "endif" and middle is None:
            middle = index
        elif depth == 0:
            break
    raise EvalError(f"template directive {parts[opening][4]} is not closed")


def _pairs(collection: Any) -> list[tuple[Any, Any]]:
    if isinstance(collection, dict):
        return [(k, collection[k]) for k in sorted(collection)]
    if isinstance(collection, list):
        return list(enumerate(collection))
    raise EvalError("a template for loop needs a list, set, map or object")
