"""Evaluate one HCL expression node against a scope, the way Terraform would.

Values are plain Python (dict, list, str, int/float, bool, None) or
:class:`Unknown` for what only apply time knows (data sources, attributes of
other resources, unset variables). Unknown propagates through operators and
functions; it never turns into a concrete value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentctl.sources.terraform import templates
from agentctl.sources.terraform.functions import (
    FUNCTIONS,
    EvalError,
    Unknown,
    contains_unknown,
    number,
    read_file,
    tostring,
)
from agentctl.sources.terraform.hcl import Node
from agentctl.sources.terraform.render import render

MAX_FOR_ITEMS = 10_000
MAX_TEXT = 1_000_000
MAX_ITEMS = 100_000
"""Larger strings and lists are refused: doubling locals must not exhaust memory."""


class Namespace:
    """``var``, ``local``, ``module``…: attributes resolved lazily, on access."""

    __slots__ = ("label", "resolve")

    def __init__(self, label: str, resolve: Callable[[str], Any]) -> None:
        self.label = label
        self.resolve = resolve


def evaluate(node: Node, env: dict[str, Any]) -> Any:
    """The value of ``node``; raises :class:`EvalError` where Terraform would fail."""
    tag = node[0]
    if tag == "lit":
        return node[1]
    if tag == "ref":
        name = node[1]
        if name in env:
            return env[name]
        return Unknown(name)
    if tag == "get":
        return _get(evaluate(node[1], env), node[2])
    if tag == "tpl":
        return _template(node, env)
    if tag == "idx":
        return _index(evaluate(node[1], env), evaluate(node[2], env), node)
    if tag == "paren":
        return evaluate(node[1], env)
    if tag == "call":
        return _call(node, env)
    if tag == "tuple":
        return [evaluate(item, env) for item in node[1]]
    if tag == "object":
        out: dict[str, Any] = {}
        for key_node, value_node in node[1]:
            key = evaluate(key_node, env)
            if isinstance(key, Unknown):
                return Unknown(render(node))
            out[tostring(key)] = evaluate(value_node, env)
        return out
    if tag == "cond":
        condition = evaluate(node[1], env)
        if isinstance(condition, Unknown):
            return Unknown(render(node))
        return evaluate(node[2] if _truth(condition) else node[3], env)
    if tag == "bin":
        return _binary(node, env)
    if tag == "not":
        value = evaluate(node[1], env)
        return Unknown(render(node)) if isinstance(value, Unknown) else not _truth(value)
    if tag == "neg":
        value = evaluate(node[1], env)
        return Unknown(render(node)) if isinstance(value, Unknown) else -number(value)
    if tag == "for":
        return _for(node, env)
    if tag == "splat":
        return _splat(node, env)
    if tag == "it":
        return env["\0it"]
    if tag == "unknown":
        return Unknown(str(node[1]))
    raise EvalError(f"unsupported expression {tag}")


def _get(value: Any, name: str) -> Any:
    if isinstance(value, Namespace):
        return value.resolve(name)
    if isinstance(value, Unknown):
        return Unknown(f"{value.text}.{name}")
    if isinstance(value, dict):
        if name in value:
            return value[name]
        raise EvalError(f"no attribute {name!r}")
    if value is None:
        raise EvalError(f"attribute {name!r} of null")
    raise EvalError(f"attribute {name!r} of a {type(value).__name__}")


def _index(value: Any, key: Any, node: Node) -> Any:
    if isinstance(value, Namespace):
        return value.resolve(tostring(key)) if not isinstance(key, Unknown) else Unknown(render(node))
    if isinstance(value, Unknown) or isinstance(key, Unknown):
        return Unknown(render(node))
    if isinstance(value, list):
        index = number(key)
        if not isinstance(index, int) and not float(index).is_integer():
            raise EvalError("fractional index")
        if 0 <= int(index) < len(value):
            return value[int(index)]
        raise EvalError("index out of range")
    if isinstance(value, dict):
        text = tostring(key)
        if text in value:
            return value[text]
        raise EvalError(f"no key {text!r}")
    raise EvalError("index into a non-collection")


def _truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise EvalError("condition is not a bool")


def _template(node: Node, env: dict[str, Any]) -> Any:
    parts = node[1]
    if len(parts) == 1 and not isinstance(parts[0], str) and parts[0][0] != "dir":
        return evaluate(parts[0], env)
    out: list[str] = []
    try:
        templates.render_parts(parts, 0, len(parts), env, out, evaluate, _truth)
    except templates.UnknownPart:
        return Unknown(render(node)[1:-1])
    text = "".join(out)
    if len(text) > MAX_TEXT:
        raise EvalError("string too long")
    return text


def _binary(node: Node, env: dict[str, Any]) -> Any:
    op = node[1]
    left = evaluate(node[2], env)
    if op in ("&&", "||") and not isinstance(left, Unknown):
        if _truth(left) == (op == "||"):
            return op == "||"
        right = evaluate(node[3], env)
        return Unknown(render(node)) if isinstance(right, Unknown) else _truth(right)
    right = evaluate(node[3], env)
    if op in ("==", "!=") and (left is None or right is None) and not isinstance(left or right, Unknown):
        return (left is right) == (op == "==")  # a collection holding unknowns is still not null
    if contains_unknown(left) or contains_unknown(right):
        return Unknown(render(node))
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    a, b = number(left), number(right)
    if op == "+":
        return _tidy(a + b)
    if op == "-":
        return _tidy(a - b)
    if op == "*":
        return _tidy(a * b)
    if op in ("/", "%"):
        if b == 0:
            raise EvalError("division by zero")
        return _tidy(a / b if op == "/" else a % b)
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    return bool(left == right)


def _tidy(value: float) -> int | float:
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**53 else value


def _call(node: Node, env: dict[str, Any]) -> Any:
    name = node[1]
    if name == "try":
        for arg in node[2]:
            try:
                return evaluate(arg, env)
            except EvalError:
                continue
        raise EvalError("no argument to try succeeded")
    if name == "can":
        try:
            value = evaluate(node[2][0], env)
        except EvalError:
            return False
        return Unknown(render(node)) if isinstance(value, Unknown) else True
    function = FUNCTIONS.get(name)
    args = [evaluate(arg, env) for arg in node[2]]
    if name == "file" and len(args) == 1 and not contains_unknown(args[0]):
        paths = env.get("path")
        root = paths.get("root", ".") if isinstance(paths, dict) else "."
        text = read_file(args[0], str(root))
        return Unknown(render(node)) if text is None else text
    if name == "templatefile" and len(args) == 2 and not contains_unknown(args[0]):
        return templates.templatefile(node, args[0], args[1], env, evaluate)
    if node[3] and args:
        last = args.pop()
        if isinstance(last, Unknown):
            return Unknown(render(node))
        args.extend(last if isinstance(last, list) else list(last.values()) if isinstance(last, dict) else [last])
    if function is None or any(isinstance(a, (Unknown, Namespace)) for a in args):
        return Unknown(render(node))
    if name in ("merge", "concat", "lookup", "coalesce", "coalescelist", "flatten", "length", "keys", "values", "one"):
        pass  # structural: fine with unknown leaves
    elif name == "jsonencode":
        pass  # unknown leaves are written as their "${…}" text (see functions.placeholders)
    elif any(contains_unknown(a) for a in args):
        return Unknown(render(node))
    try:
        result = function(*args)
    except EvalError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
        raise EvalError(f"{name}: {exc}") from None
    if isinstance(result, (str, list, dict)) and len(result) > (MAX_TEXT if isinstance(result, str) else MAX_ITEMS):
        raise EvalError(f"{name}: result too large")
    return result


def _items(value: Any) -> list[tuple[Any, Any]]:
    if isinstance(value, dict):
        return [(k, value[k]) for k in sorted(value)]
    if isinstance(value, list):
        return list(enumerate(value))
    if value is None:
        raise EvalError("iterating over null")
    raise EvalError("iterating over a non-collection")


def _for(node: Node, env: dict[str, Any]) -> Any:
    _, key_var, value_var, coll_node, key_node, value_node, cond_node, group = node
    collection = evaluate(coll_node, env)
    if isinstance(collection, Unknown):
        return Unknown(render(node))
    items = _items(collection)
    if len(items) > MAX_FOR_ITEMS:
        raise EvalError("for expression over too many items")
    out_list: list[Any] = []
    out_map: dict[str, Any] = {}
    for key, value in items:
        scope = {**env, value_var: value}
        if key_var:
            scope[key_var] = key
        if cond_node is not None:
            keep = evaluate(cond_node, scope)
            if isinstance(keep, Unknown):
                return Unknown(render(node))
            if not _truth(keep):
                continue
        if key_node is None:
            out_list.append(evaluate(value_node, scope))
            continue
        map_key = evaluate(key_node, scope)
        if isinstance(map_key, Unknown):
            return Unknown(render(node))
        item = evaluate(value_node, scope)
        if group:
            out_map.setdefault(tostring(map_key), []).append(item)
        else:
            out_map[tostring(map_key)] = item
    return out_list if key_node is None else out_map


def _splat(node: Node, env: dict[str, Any]) -> Any:
    value = evaluate(node[1], env)
    if isinstance(value, Unknown):
        return Unknown(render(node))
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [evaluate(node[2], {**env, "\0it": item}) for item in items]


def conform(type_node: Node | None, value: Any) -> Any:
    """Apply a variable's type constraint as Terraform does.

    Absent ``optional()`` object attributes become null, or their default.
    """
    if type_node is None or value is None or isinstance(value, Unknown):
        return value
    if type_node[0] == "paren":
        return conform(type_node[1], value)
    if type_node[0] != "call":
        return value
    name, args = type_node[1], type_node[2]
    if name in ("map",) and args and isinstance(value, dict):
        return {k: conform(args[0], v) for k, v in value.items()}
    if name in ("list", "set") and args and isinstance(value, list):
        return [conform(args[0], v) for v in value]
    if name == "object" and args and args[0][0] == "object" and isinstance(value, dict):
        out = dict(value)
        for key_node, attr_type in args[0][1]:
            key = key_node[1] if key_node[0] == "lit" else (key_node[1] if key_node[0] == "ref" else None)
            if not isinstance(key, str):
                continue
            inner, default = attr_type, None
            if attr_type[0] == "call" and attr_type[1] == "optional" and attr_type[2]:
                inner = attr_type[2][0]
                if len(attr_type[2]) > 1:
                    try:
                        default = evaluate(attr_type[2][1], {})
                    except EvalError:
                        default = Unknown(render(attr_type[2][1]))
            current = out.get(key)
            out[key] = conform(inner, default if current is None else current)
        return out
    return value
