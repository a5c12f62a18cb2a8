"""Terraform ``.tf`` (HCL2) into resources, via python-hcl2.

python-hcl2 7.x is used because it reports each block's line range
(``with_meta``); 8.x accepts the option but no longer emits the markers.
"""

from __future__ import annotations

import posixpath
from typing import Any

from agentctl.model.common import Location, Target
from agentctl.model.resource import Resource
from agentctl.sources import suppressions
from agentctl.sources.interface import ParsedFile, ParseIssue

_META_KEYS = frozenset({"__start_line__", "__end_line__"})


def parse(path: str, text: str) -> ParsedFile:
    """Parse one ``.tf`` file; syntax errors become a :class:`ParseIssue`."""
    import hcl2  # heavy (lark grammar): only when a .tf file is read

    result = ParsedFile(path)
    try:
        tree = hcl2.loads(text, with_meta=True)  # type: ignore[attr-defined]
    except RecursionError:
        result.issues.append(ParseIssue(path, 1, "HCL nesting too deep to parse"))
        return result
    except Exception as exc:  # lark raises many types; all mean "not valid HCL"
        line = getattr(exc, "line", None) or 1
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        result.issues.append(ParseIssue(path, int(line) if line > 0 else 1, f"invalid HCL: {message}"))
        return result

    lines = text.splitlines()
    module_dir = posixpath.dirname(path)
    for block_kind in ("resource", "data"):
        for entry in tree.get(block_kind, []):
            for rtype, named in entry.items():
                for name, body in named.items():
                    address = f"{rtype}.{name}" if block_kind == "resource" else f"data.{rtype}.{name}"
                    result.resources.append(_resource(path, module_dir, rtype, address, body, lines))
    for entry in tree.get("module", []):
        for name, body in entry.items():
            result.resources.append(_resource(path, module_dir, "module", f"module.{name}", body, lines))
    return result


def _resource(path: str, module_dir: str, rtype: str, address: str, body: Any, lines: list[str]) -> Resource:
    body = body if isinstance(body, dict) else {}
    start = int(body.get("__start_line__", 1))
    end = int(body.get("__end_line__", start))
    return Resource(
        target=Target.TERRAFORM,
        type=rtype,
        address=address,
        key=f"tf:{module_dir}:{address}",
        attributes=clean(body),
        location=Location(path=path, start_line=start, end_line=end),
        suppressions=suppressions.find(lines, start, end),
        origin="hcl",
    )


def clean(value: Any) -> Any:
    """Drop parser bookkeeping so rules see plain values."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if k not in _META_KEYS}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value
