"""The CEL runtime: compiling conditions and the helper functions rules may call.

``import cel`` also imports the package's own interactive CLI (prompt_toolkit,
typer…), about 290 ms; we load only its compiled extension (about 15 ms) and
fall back to the normal import if the layout ever changes.

Helper functions available in every condition and message:

* ``get(value, "a.b.0.c", default)``: safe lookup through maps and lists.
* ``num(value, default)``: a number, a numeric string as a number, or ``default``.
* ``values(value, "a.b")``: the value at the path as a list (a single value is
  wrapped, an absent one is ``[]``), so ``cidr_blocks`` given as a variable
  reference cannot break a rule.
* ``blocks(value, "a.b")``: the maps at the path as a list (Terraform blocks are
  lists of maps; a single map is wrapped; anything else is dropped).
* ``glob(path, pattern)``: ``**``-aware path matching, as in ``match.paths``.
* ``iam_statements(policy)``: the statements of an IAM policy (JSON text, a
  map, or an ``aws_iam_policy_document``'s blocks) as maps with ``effect``,
  ``actions``, ``not_actions``, ``resources``, ``not_resources`` (lists).
* ``literal_secret_keys(resource)``: names of password/secret/token-like
  attributes that hold a literal string (for messages: never the value).
* ``port_in(spec, port)``: whether a port spec (``22``, ``"20-25"``, ``"*"`` or a
  list of them) covers ``port``.
* ``lower(s)``, ``upper(s)``, ``split(s, sep)``: string helpers the runtime lacks.
* ``args(argv)``, ``arg(argv, i)``, ``has_flag(argv, name)``, ``flag(argv, name)``, ``asks_help(argv)``:
  a command's positional words and flags, read as the command reads them
  (see :mod:`agentctl.engine.argv`).
* ``related(type)``, ``refers_to(value, address)``: other resources of the same
  Terraform configuration, and whether an unknown value references one (see
  :mod:`agentctl.engine.related`; ``related`` is ``[]`` outside Terraform rules).
* ``is_unknown(value)``: whether a Terraform value (or anything inside it) is known
  only after apply (a data source, another resource's attribute, an unset
  variable); such values reach rules as their ``"${expression}"`` text.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import os
import re
from typing import Any

from agentctl.engine import argv as _argv
from agentctl.engine import iamdoc
from agentctl.engine.related import refers_to
from agentctl.model.resource import is_unknown


class CelError(Exception):
    """A condition does not compile."""


@functools.cache
def runtime() -> Any:
    spec = importlib.util.find_spec("cel")
    if spec is not None and spec.submodule_search_locations:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(spec.submodule_search_locations[0], "cel" + suffix)
            if os.path.exists(path):
                loader = importlib.machinery.ExtensionFileLoader("cel.cel", path)
                ext_spec = importlib.util.spec_from_file_location("cel.cel", path, loader=loader)
                if ext_spec is not None:
                    module = importlib.util.module_from_spec(ext_spec)
                    loader.exec_module(module)
                    return module
    import cel  # pragma: no cover - only if the wheel layout changes

    return cel  # pragma: no cover


def compile_expression(source: str) -> Any:
    try:
        return runtime().compile(source)
    except (ValueError, RuntimeError, TypeError) as exc:
        first = str(exc).strip().splitlines()
        detail = next((line for line in first if "ERROR" in line), first[0] if first else "")
        raise CelError(f"CEL syntax error: {detail.replace('ERROR: <input>:', 'at ')}") from None


def context(variables: dict[str, Any]) -> Any:
    return runtime().Context(variables, FUNCTIONS)


def _get(value: Any, path: str, default: Any) -> Any:
    for part in str(path).split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return default
    return default if value is None else value


def _num(value: Any, default: Any) -> Any:
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return default
    return default


def _values(value: Any, path: str) -> list[Any]:
    found = _get(value, path, None)
    if found is None:
        return []
    return list(found) if isinstance(found, list) else [found]


def _blocks(value: Any, path: str) -> list[Any]:
    return [item for item in _values(value, path) if isinstance(item, dict)]


def _port_in(spec: Any, port: Any) -> bool:
    if isinstance(spec, list):
        return any(_port_in(item, port) for item in spec)
    text = str(spec).strip()
    if text in ("*", "all", "-1", "Any"):
        return True
    low, _, high = text.partition("-")
    try:
        return int(low) <= int(port) <= int(high or low)
    except ValueError:
        return False


@functools.lru_cache(maxsize=512)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a path glob: ``**`` crosses directories, ``*`` and ``?`` do not."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(path: str, pattern: str) -> bool:
    return glob_regex(pattern).match(path) is not None


FUNCTIONS = {
    "get": _get,
    "num": _num,
    "values": _values,
    "blocks": _blocks,
    "glob": lambda path, pattern: glob_match(str(path), str(pattern)),
    "port_in": _port_in,
    "lower": lambda text: str(text).lower(),
    "upper": lambda text: str(text).upper(),
    "split": lambda text, sep: str(text).split(str(sep)),
    **_argv.FUNCTIONS,
    "is_unknown": is_unknown,
    "related": lambda _type: [],
    "refers_to": refers_to,
    "iam_statements": iamdoc.statements,
    "literal_secret_keys": iamdoc.literal_secret_keys,
}
