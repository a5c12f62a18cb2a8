"""Which of a tool call's parsed commands a CEL rule can see: provably equivalent pruning of ``tool.commands``.

A long script parses into hundreds of simple commands. Handing every one to the
CEL runtime costs (the binding converts each map, about 17 µs a command) and
``filter`` is quadratic in it, so a rule such as
``tool.commands.exists(c, c.name in ["terraform", "tofu"] && …)`` is evaluated
over the commands it could match only. This is done only where it is provably
the same verdict and message:

* the rule's condition and message placeholders are parsed (a CEL subset; any
  construct outside it, or any use of ``tool``/``tool.commands`` other than
  ``tool.FIELD``, ``tool.commands.exists(v, BODY)``, ``tool.commands.filter(v,
  BODY)`` and ``tool.commands.filter(v, BODY)[0]``, leaves the rule unpruned);
* ``BODY`` is evaluated in three-valued logic (true, false, unknown) for each
  command, from the command's own values, with only operators whose CEL meaning
  is exact in Python (``&&``, ``||``, ``!``, ``?:``, ``==``/``!=`` on strings,
  bools or ints, ``<``… on ints, ``in`` a list of strings, ``exists`` over a
  known list, ``size``, ``startsWith``/``endsWith``/``contains`` on strings, and
  the argv helpers the context registers — ``arg``, ``args``, ``flag``,
  ``has_flag``, ``asks_help`` — run as the same Python functions on the same
  values); everything else is unknown, and so is anything that would raise;
* a command is dropped for a use only when ``BODY`` is false for it (never an
  error, so ``exists`` and ``filter`` give the same result without it); after a
  command for which ``exists`` is true, the rest cannot change the result; for
  ``filter(…)[0]`` with ``BODY`` decided on every command, only the first match
  matters. A command is kept when any use keeps it, in the original order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from agentctl.engine import argv as _argv
from agentctl.engine.cel_parse import UNKNOWN, Node, Unsupported, parse

Eval = Callable[[dict[str, Any]], Any]


# -- three-valued evaluation of a BODY, compiled to closures ------------------


def _compile(node: Node) -> Eval:
    kind = node[0]
    if kind == "lit":
        value = node[1] if isinstance(node[1], (str, bool)) or type(node[1]) is int else UNKNOWN
        return lambda env: value
    if kind == "id":
        name = node[1]
        return lambda env: env.get(name, UNKNOWN)
    if kind == "sel" and node[1][0] == "id":  # ``c.name``: one closure, not two (it runs per command)
        name, field = node[1][1], node[2]

        def field_of(env: dict[str, Any]) -> Any:
            value = env.get(name, UNKNOWN)
            return value.get(field, UNKNOWN) if isinstance(value, dict) else UNKNOWN

        return field_of
    if kind == "sel":
        inner, field = _compile(node[1]), node[2]

        def select(env: dict[str, Any]) -> Any:
            value = inner(env)
            return value.get(field, UNKNOWN) if isinstance(value, dict) else UNKNOWN

        return select
    if kind == "list":
        items = [_compile(n) for n in node[1]]

        def make(env: dict[str, Any]) -> Any:
            values = [f(env) for f in items]
            return UNKNOWN if any(v is UNKNOWN for v in values) else values

        return make
    if kind == "un" and node[1] == "!":
        operand = _compile(node[2])

        def negate(env: dict[str, Any]) -> Any:
            value = operand(env)
            return (not value) if isinstance(value, bool) else UNKNOWN

        return negate
    if kind == "cond":
        test, yes, no = _compile(node[1]), _compile(node[2]), _compile(node[3])

        def choose(env: dict[str, Any]) -> Any:
            value = test(env)
            return yes(env) if value is True else no(env) if value is False else UNKNOWN

        return choose
    if kind == "bin":
        return _binary(node[1], node[2], node[3])
    if kind == "call" and node[2] == "exists" and node[1] is not None and len(node[3]) == 2 and node[3][0][0] == "id":
        return _exists(_compile(node[1]), node[3][0][1], _compile(node[3][1]))
    if kind == "call" and (node[2] in _PURE if node[1] is None else node[2] in _STRING_METHODS):
        return _call(node[1], node[2], node[3])
    return lambda env: UNKNOWN


_PURE: dict[str, Callable[..., Any]] = {**cast("dict[str, Callable[..., Any]]", _argv.FUNCTIONS), "size": len}
"""Functions the rules' context registers (the same Python code runs here) that depend on their arguments only."""
_STRING_METHODS: dict[str, Callable[..., Any]] = {
    "startsWith": str.startswith,
    "endsWith": str.endswith,
    "contains": str.__contains__,
    "size": len,
}


def _known(value: Any) -> bool:
    """A value passed to a function exactly as CEL would pass it: a string, int, bool, or list of strings."""
    if isinstance(value, list):
        return all(isinstance(v, str) for v in value)
    return isinstance(value, (str, bool)) or type(value) is int


def _call(target_node: Node | None, name: str, arg_nodes: list[Node]) -> Eval:
    target = _compile(target_node) if target_node is not None else None
    args = [_compile(n) for n in arg_nodes]
    function = _PURE[name] if target is None else _STRING_METHODS[name]

    def call(env: dict[str, Any]) -> Any:
        values = [f(env) for f in args]
        if target is not None:
            receiver = target(env)
            if not isinstance(receiver, str) or not all(isinstance(v, str) for v in values):
                return UNKNOWN
            values = [receiver, *values]
        if name == "size" and not (len(values) == 1 and isinstance(values[0], (str, list))):
            return UNKNOWN
        if not all(_known(v) for v in values):
            return UNKNOWN
        if target is None:  # a rule asks arg(c.argv, 0) again and again: the helpers are pure
            return _pure_call(name, tuple(tuple(v) if isinstance(v, list) else v for v in values))
        return _result(function, values)

    return call


def _result(function: Callable[..., Any], values: list[Any]) -> Any:
    try:
        result = function(*values)
    except Exception:  # CEL would report an error: not decided here
        return UNKNOWN
    return result if _known(result) else UNKNOWN


@functools.lru_cache(maxsize=4096)
def _pure_call(name: str, key: tuple[Any, ...]) -> Any:
    return _result(_PURE[name], [list(v) if isinstance(v, tuple) else v for v in key])


def _binary(op: str, left_node: Node, right_node: Node) -> Eval:
    left, right = _compile(left_node), _compile(right_node)
    if op == "&&":  # CEL's logic is commutative: false wins even over an error on the other side

        def both(env: dict[str, Any]) -> Any:
            a = left(env)
            if a is False:
                return False
            b = right(env)
            if b is False:
                return False
            return True if a is True and b is True else UNKNOWN

        return both
    if op == "||":

        def either(env: dict[str, Any]) -> Any:
            a = left(env)
            if a is True:
                return True
            b = right(env)
            if b is True:
                return True
            return False if a is False and b is False else UNKNOWN

        return either
    if op in ("<", "<=", ">", ">="):

        def order(env: dict[str, Any]) -> Any:
            a, b = left(env), right(env)
            if type(a) is not int or type(b) is not int:
                return UNKNOWN
            return a < b if op == "<" else a <= b if op == "<=" else a > b if op == ">" else a >= b

        return order
    if op in ("==", "!="):
        if right_node[0] == "lit" and isinstance(right_node[1], str):  # the common ``c.name == "helm"``
            constant = right_node[1]
            equal = op == "=="
            return lambda env: ((value == constant) is equal) if isinstance(value := left(env), str) else UNKNOWN

        def compare(env: dict[str, Any]) -> Any:
            a, b = left(env), right(env)
            if not (type(a) is type(b) and isinstance(a, (str, bool, int))):
                return UNKNOWN
            return (a == b) is (op == "==")

        return compare
    if op == "in":
        if right_node[0] == "list" and all(n[0] == "lit" and isinstance(n[1], str) for n in right_node[1]):
            members = frozenset(n[1] for n in right_node[1])  # ``c.name in ["kubectl", "oc"]``
            return lambda env: (value in members) if isinstance(value := left(env), str) else UNKNOWN

        def member(env: dict[str, Any]) -> Any:
            a, b = left(env), right(env)
            if not isinstance(a, str) or not isinstance(b, list) or not all(isinstance(x, str) for x in b):
                return UNKNOWN
            return a in b

        return member
    return lambda env: UNKNOWN


def _exists(target: Eval, var: str, body: Eval) -> Eval:
    def exists(env: dict[str, Any]) -> Any:
        items = target(env)
        if not isinstance(items, list):
            return UNKNOWN
        unknown = False
        for item in items:
            value = body({**env, var: item})
            if value is True:
                return UNKNOWN if unknown else True  # an unknown before it may have been an error
            if value is not False:
                unknown = True
        return UNKNOWN if unknown else False

    return exists


# -- finding the uses of tool.commands ----------------------------------------

_EXISTS, _FILTER, _FIRST = "exists", "filter", "first"


def _uses(node: Node, bound: frozenset[str], out: list[tuple[str, str, Eval]], parent: Node | None = None) -> None:
    """Collect each use of the free variable ``tool``; raise :class:`Unsupported` for a use that is not prunable."""
    kind = node[0]
    if kind == "id":
        if node[1] == "tool" and "tool" not in bound:
            raise Unsupported("tool used whole")
        return
    if kind == "sel" and node[1] == ("id", "tool") and "tool" not in bound:
        if node[2] != "commands":
            return
        raise Unsupported("tool.commands used other than in exists/filter")
    if kind == "call" and node[1] is not None and len(node[3]) == 2 and node[3][0][0] == "id":
        var, body = node[3][0][1], node[3][1]
        if _is_commands_macro(node, bound, node[2]) and node[2] in (_EXISTS, _FILTER):
            use = _FIRST if node[2] == _FILTER and parent is not None and _first_of(parent, node) else node[2]
            out.append((use, var, _compile(body)))
            _uses(body, bound | {var}, out)
            return
        if node[2] in ("all", "exists", "exists_one", "map", "filter"):  # a macro over something else binds var
            _uses(node[1], bound, out)
            _uses(body, bound | {var}, out)
            return
    for child in node[1:]:
        if isinstance(child, tuple):
            _uses(child, bound, out, node)
        elif isinstance(child, list):
            for item in child:
                _uses(item, bound, out, node)


def _is_commands_macro(node: Node, bound: frozenset[str], name: str) -> bool:
    return (
        node[0] == "call"
        and node[2] == name
        and node[1] == ("sel", ("id", "tool"), "commands")
        and "tool" not in bound
        and len(node[3]) == 2
        and node[3][0][0] == "id"
    )


def _first_of(parent: Node, node: Node) -> bool:
    """``parent`` is ``node[0]``."""
    index = parent[2] if parent[0] == "index" else None
    return index is not None and parent[1] is node and index[0] == "lit" and type(index[1]) is int and index[1] == 0


class Pruner:
    """The commands one rule (condition and message) needs, given the call's commands as CEL maps."""

    def __init__(self, uses: list[tuple[str, str, Eval]]) -> None:
        self.uses = uses

    def kept(self, commands: list[dict[str, Any]]) -> tuple[int, ...]:
        """Indexes (in order) of the commands to give the rule; every other one is provably irrelevant to it."""
        keep: set[int] = set()
        for use, var, body in self.uses:
            # The evaluation is monotone (a value decided from less of the command stays decided), so a body
            # that is false from the command's name alone is false for every command of that name.
            possible: dict[str, bool] = {}
            results = []
            for command in commands:
                name = command.get("name")
                if not isinstance(name, str):
                    results.append(body({var: command}))
                    continue
                if name not in possible:
                    possible[name] = body({var: {"name": name}}) is not False
                results.append(body({var: command}) if possible[name] else False)
            keep.update(_keep(use, results))
        return tuple(sorted(keep))


def _keep(use: str, results: list[Any]) -> list[int]:
    if use == _FIRST and all(r is True or r is False for r in results):
        return [results.index(True)] if True in results else []
    out: list[int] = []
    for index, result in enumerate(results):
        if result is False:
            continue
        out.append(index)
        if use == _EXISTS and result is True:
            break  # exists is settled here: later commands are never looked at
    return out


@functools.lru_cache(maxsize=256)
def pruner(sources: tuple[str, ...]) -> Pruner | None:
    """The pruner for a rule whose condition and message placeholders are ``sources``; None: give it every command."""
    uses: list[tuple[str, str, Eval]] = []
    try:
        for source in sources:
            _uses(parse(source), frozenset(), uses)
    except (Unsupported, RecursionError):
        return None
    return Pruner(uses)


PRUNE_FROM = 16
"""Below this many commands every rule gets them all (conversion is cheap; nothing is parsed on the hook path)."""


class ToolContexts:
    """CEL contexts for one tool call's rules: each rule sees the commands it can be affected by.

    ``variables`` is the call as CEL sees it (``tool``: a map with ``commands``); rules that cannot be
    analysed share one context holding every command, as before.
    """

    def __init__(self, variables: dict[str, Any], build: Callable[[dict[str, Any]], Any]) -> None:
        self.variables = variables
        self.build = build
        self.commands: list[dict[str, Any]] = variables["tool"]["commands"]
        self.cache: dict[tuple[int, ...] | None, Any] = {}

    def for_rule(self, sources: tuple[str, ...]) -> Any:
        """The context to evaluate a rule whose condition and message placeholders are ``sources``."""
        found = pruner(sources) if len(self.commands) >= PRUNE_FROM else None
        try:
            key = found.kept(self.commands) if found is not None else None
        except Exception:  # an analysis bug must never change a verdict: evaluate over every command
            key = None
        if len(key or ()) == len(self.commands):
            key = None  # nothing pruned: share the full context
        if key not in self.cache:
            if key is None:
                self.cache[key] = self.build(self.variables)
            else:
                tool = {**self.variables["tool"], "commands": [self.commands[i] for i in key]}
                self.cache[key] = self.build({**self.variables, "tool": tool})
        return self.cache[key]
