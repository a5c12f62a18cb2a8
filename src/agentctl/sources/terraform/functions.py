"""Terraform's built-in functions, as far as they can be computed without a provider.

Each takes already-evaluated arguments. :class:`Unknown` arguments make the
result unknown (handled by the caller, except for ``try``/``can``, which are
special forms in ``evaluate``). A function that is not here yields unknown.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import math
import posixpath
import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

FILE_READER: ContextVar[Callable[[str], str | None] | None] = ContextVar("terraform_file_reader", default=None)
"""Reads a repository path for ``file()``; unset (``agentctl check``), ``file()`` stays unknown. The gate sets it
while it previews a write, so a value kept in a non-IaC file next to the configuration is seen."""


def read_file(path: Any, root: str) -> Any:
    """``file(path)`` (relative to the root module's directory, or to the repository), or ``None``: unknown."""
    reader = FILE_READER.get()
    if reader is None or not isinstance(path, str) or path.startswith(("/", "~")):
        return None
    for candidate in (posixpath.normpath(posixpath.join(root, path)), posixpath.normpath(path)):
        if candidate.startswith("..") or candidate == ".":
            continue
        text = reader(candidate)
        if text is not None:
            return text
    return None


class EvalError(Exception):
    """An expression that Terraform would reject (or that cannot be computed)."""


class Unknown:
    """A value known only at apply time (or not computable here); ``text`` is its expression."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Unknown({self.text!r})"


def contains_unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def placeholders(value: Any) -> Any:
    """Unknown parts as their ``"${expression}"`` text (what rules see of an unknown value).

    ``jsonencode`` uses it: an IAM policy naming another resource's ARN is JSON
    text whose known parts (``"Action": "*"``) rules can still read, each
    unknown element standing as its own ``"${…}"`` string.
    """
    if isinstance(value, Unknown):
        return "${" + value.text + "}"
    if isinstance(value, dict):
        return {k: placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [placeholders(v) for v in value]
    return value


def tostring(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float, str)):
        return str(value)
    if value is None:
        raise EvalError("null value in a string")
    raise EvalError(f"cannot use a {type(value).__name__} as a string")


def number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise EvalError("a bool is not a number")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                raise EvalError(f"{value!r} is not a number") from None
    raise EvalError("not a number")


def as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    raise EvalError("not a list")


def _merge(*maps: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in maps:
        if item is None:
            continue
        if not isinstance(item, dict):
            raise EvalError("merge takes maps")
        out.update(item)
    return out


def _lookup(mapping: Any, key: Any, *default: Any) -> Any:
    if not isinstance(mapping, dict):
        raise EvalError("lookup takes a map")
    if key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise EvalError(f"no key {key!r}")


def _coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None and value != "":
            return value
    raise EvalError("no non-null argument to coalesce")


def _flatten(value: Any) -> list[Any]:
    out: list[Any] = []
    for item in as_list(value):
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _toset(value: Any) -> list[Any]:
    out: list[Any] = []
    for item in as_list(value):
        if item not in out:
            out.append(item)
    return sorted(out, key=lambda v: (str(type(v)), str(v))) if all(isinstance(v, str) for v in out) else out


def _length(value: Any) -> int:
    if isinstance(value, (list, dict, str)):
        return len(value)
    raise EvalError("length of a non-collection")


def _format(spec: Any, *args: Any) -> str:
    values = list(args)

    def one(match: re.Match[str]) -> str:
        verb = match.group(2)
        if verb == "%":
            return "%"
        if not values:
            raise EvalError("too few arguments to format")
        value = values.pop(0)
        if verb == "d":
            return ("%" + match.group(1) + "d") % int(number(value))
        if verb in ("f", "e", "g"):
            return ("%" + match.group(1) + verb) % float(number(value))
        if verb in ("q",):
            return json.dumps(tostring(value))
        if verb == "v" and isinstance(value, (list, dict)):
            return json.dumps(value)
        return ("%" + match.group(1).replace("#", "") + "s") % tostring(value)

    return re.sub(r"%([-+# 0]*\d{0,3}(?:\.\d{1,3})?)([a-z%])", one, str(spec))


def _cidrsubnet(prefix: Any, newbits: Any, netnum: Any) -> str:
    try:
        network = ipaddress.ip_network(str(prefix), strict=False)
        size = network.prefixlen + int(number(newbits))
        step = 2 ** (network.max_prefixlen - size)
        base = int(network.network_address) + int(number(netnum)) * step
        return str(ipaddress.ip_network((base, size)))
    except ValueError as exc:
        raise EvalError(f"cidrsubnet: {exc}") from None


def _cidrhost(prefix: Any, hostnum: Any) -> str:
    try:
        network = ipaddress.ip_network(str(prefix), strict=False)
        index = int(number(hostnum))
        return str(network[index])
    except (ValueError, IndexError) as exc:
        raise EvalError(f"cidrhost: {exc}") from None


def _element(items: Any, index: Any) -> Any:
    values = as_list(items)
    if not values:
        raise EvalError("element of an empty list")
    return values[int(number(index)) % len(values)]


def _jsondecode(text: Any) -> Any:
    try:
        return json.loads(tostring(text))
    except ValueError as exc:
        raise EvalError(f"jsondecode: {exc}") from None


def _index(items: Any, value: Any) -> int:
    values = as_list(items)
    if value not in values:
        raise EvalError("item not found")
    return values.index(value)


def _range(*args: Any) -> list[Any]:
    nums = [number(a) for a in args]
    start, stop, step = (0, nums[0], 1) if len(nums) == 1 else (nums[0], nums[1], nums[2] if len(nums) > 2 else 1)
    if step == 0 or abs((stop - start) / step) > 1024:
        raise EvalError("range too large")
    out = []
    value = start
    while (step > 0 and value < stop) or (step < 0 and value > stop):
        out.append(value)
        value += step
    return out


def _zipmap(keys: Any, values: Any) -> dict[str, Any]:
    return {tostring(k): v for k, v in zip(as_list(keys), as_list(values), strict=False)}


def _slice(items: Any, start: Any, end: Any) -> list[Any]:
    return as_list(items)[int(number(start)) : int(number(end))]


def _substr(text: Any, offset: Any, length: Any) -> str:
    value, start, size = tostring(text), int(number(offset)), int(number(length))
    return value[start:] if size < 0 else value[start : start + size]


def _bounded(pattern: Any, text: Any) -> tuple[str, str]:
    """User regular expressions run only on short inputs (Python's ``re`` has no timeout)."""
    pattern, text = tostring(pattern), tostring(text)
    if len(pattern) > 200 or len(text) > 4096:
        raise EvalError("regex input too long to evaluate safely")
    return pattern, text


def _regex_all(pattern: Any, text: Any) -> list[Any]:
    pattern, text = _bounded(pattern, text)
    try:
        return re.findall(tostring(pattern), tostring(text))
    except re.error as exc:
        raise EvalError(str(exc)) from None


def _regex(pattern: Any, text: Any) -> Any:
    pattern, text = _bounded(pattern, text)
    try:
        match = re.search(tostring(pattern), tostring(text))
    except re.error as exc:
        raise EvalError(str(exc)) from None
    if match is None:
        raise EvalError("regex did not match")
    if match.groupdict():
        return match.groupdict()
    return list(match.groups()) if match.groups() else match.group()


def _replace(text: Any, search: Any, new: Any) -> str:
    value, pattern, replacement = tostring(text), tostring(search), tostring(new)
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        _bounded(pattern, value)
        try:
            return re.sub(pattern[1:-1], re.sub(r"\$(\d+)", r"\\\1", replacement), value)
        except re.error as exc:
            raise EvalError(str(exc)) from None
    return value.replace(pattern, replacement)


def _can_decode(text: Any) -> str:
    try:
        return base64.b64decode(tostring(text)).decode("utf-8")
    except (ValueError, UnicodeDecodeError) as exc:
        raise EvalError(str(exc)) from None


def _tobool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise EvalError("not a bool")


def _keys(value: Any) -> list[str]:
    if not isinstance(value, dict):
        raise EvalError("keys of a non-map")
    return sorted(value)


def _values(value: Any) -> list[Any]:
    if not isinstance(value, dict):
        raise EvalError("values of a non-map")
    return [value[k] for k in sorted(value)]


def _setproduct(*lists: Any) -> list[Any]:
    out: list[list[Any]] = [[]]
    for items in lists:
        out = [[*prefix, item] for prefix in out for item in as_list(items)]
        if len(out) > 4096:
            raise EvalError("setproduct too large")
    return out


def _chunklist(items: Any, size: Any) -> list[Any]:
    values, step = as_list(items), int(number(size))
    return [values[i : i + step] for i in range(0, len(values), step)] if step > 0 else [values]


def _transpose(value: Any) -> dict[str, Any]:
    out: dict[str, list[Any]] = {}
    for key, items in (value or {}).items():
        for item in as_list(items):
            out.setdefault(tostring(item), []).append(key)
    return out


def _strrev(text: Any) -> str:
    return tostring(text)[::-1]


def _sum(items: Any) -> Any:
    return sum(number(v) for v in as_list(items))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": lambda v: abs(number(v)),
    "alltrue": lambda v: all(x is True or x == "true" for x in as_list(v)),
    "anytrue": lambda v: any(x is True or x == "true" for x in as_list(v)),
    "base64decode": _can_decode,
    "basename": lambda v: tostring(v).rstrip("/").rsplit("/", 1)[-1],
    "dirname": lambda v: tostring(v).rsplit("/", 1)[0] if "/" in tostring(v) else ".",
    "nonsensitive": lambda v: v,
    "sensitive": lambda v: v,
    "strcontains": lambda s, x: tostring(x) in tostring(s),
    "base64encode": lambda v: base64.b64encode(tostring(v).encode()).decode(),
    "ceil": lambda v: math.ceil(number(v)),
    "chomp": lambda v: tostring(v).rstrip("\r\n"),
    "chunklist": _chunklist,
    "cidrhost": _cidrhost,
    "cidrnetmask": lambda p: str(ipaddress.ip_network(str(p), strict=False).netmask),
    "cidrsubnet": _cidrsubnet,
    "coalesce": _coalesce,
    "coalescelist": lambda *ls: next((x for x in ls if isinstance(x, list) and x), []),
    "compact": lambda v: [x for x in as_list(v) if x not in (None, "")],
    "concat": lambda *ls: [x for items in ls for x in as_list(items)],
    "contains": lambda items, v: v in as_list(items),
    "distinct": lambda v: [x for i, x in enumerate(as_list(v)) if x not in as_list(v)[:i]],
    "element": _element,
    "endswith": lambda s, x: tostring(s).endswith(tostring(x)),
    "flatten": _flatten,
    "floor": lambda v: math.floor(number(v)),
    "format": _format,
    "formatlist": lambda spec, *ls: [_format(spec, *row) for row in zip(*[as_list(x) for x in ls], strict=False)],
    "index": _index,
    "join": lambda sep, *ls: tostring(sep).join(tostring(x) for items in ls for x in as_list(items)),
    "jsondecode": _jsondecode,
    "jsonencode": lambda v: json.dumps(placeholders(v), separators=(",", ":"), sort_keys=True),
    "keys": _keys,
    "length": _length,
    "list": lambda *xs: list(xs),
    "lookup": _lookup,
    "lower": lambda v: tostring(v).lower(),
    "map": lambda *xs: {tostring(xs[i]): xs[i + 1] for i in range(0, len(xs) - 1, 2)},
    "max": lambda *xs: max(number(x) for x in xs),
    "md5": lambda v: hashlib.md5(tostring(v).encode(), usedforsecurity=False).hexdigest(),
    "merge": _merge,
    "min": lambda *xs: min(number(x) for x in xs),
    "one": lambda v: as_list(v)[0] if as_list(v) else None,
    "parseint": lambda v, base: int(tostring(v), int(number(base))),
    "pow": lambda a, b: _pow(number(a), number(b)),
    "range": _range,
    "regex": _regex,
    "regexall": _regex_all,
    "replace": _replace,
    "reverse": lambda v: list(reversed(as_list(v))),
    "setintersection": lambda a, *bs: [x for x in as_list(a) if all(x in as_list(b) for b in bs)],
    "setproduct": _setproduct,
    "setsubtract": lambda a, b: [x for x in as_list(a) if x not in as_list(b)],
    "setunion": lambda *ls: _toset([x for items in ls for x in as_list(items)]),
    "sha1": lambda v: hashlib.sha1(tostring(v).encode(), usedforsecurity=False).hexdigest(),
    "sha256": lambda v: hashlib.sha256(tostring(v).encode()).hexdigest(),
    "signum": lambda v: (number(v) > 0) - (number(v) < 0),
    "slice": _slice,
    "sort": lambda v: sorted(tostring(x) for x in as_list(v)),
    "split": lambda sep, s: tostring(s).split(tostring(sep)),
    "startswith": lambda s, x: tostring(s).startswith(tostring(x)),
    "strrev": _strrev,
    "substr": _substr,
    "sum": _sum,
    "title": lambda v: tostring(v).title(),
    "tobool": _tobool,
    "tolist": lambda v: list(as_list(v)),
    "tomap": lambda v: dict(v) if isinstance(v, dict) else _raise("tomap of a non-map"),
    "tonumber": lambda v: None if v is None else number(v),
    "toset": _toset,
    "tostring": lambda v: None if v is None else tostring(v),
    "transpose": _transpose,
    "trim": lambda s, cut: tostring(s).strip(tostring(cut)),
    "trimprefix": lambda s, p: tostring(s).removeprefix(tostring(p)),
    "trimspace": lambda s: tostring(s).strip(),
    "trimsuffix": lambda s, p: tostring(s).removesuffix(tostring(p)),
    "upper": lambda v: tostring(v).upper(),
    "values": _values,
    "yamlencode": lambda v: json.dumps(v),
    "zipmap": _zipmap,
}


def _pow(base: int | float, exponent: int | float) -> int | float:
    if abs(exponent) > 1024:
        raise EvalError("pow: exponent too large")
    return float(base) ** exponent


def _raise(message: str) -> Any:
    raise EvalError(message)
