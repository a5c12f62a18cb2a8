"""Terraform ``.tf`` (HCL2) into resources, via python-hcl2.

python-hcl2 7.x is used because it reports each block's line range
(``with_meta``); 8.x accepts the option but no longer emits the markers.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from agentctl.model.common import Location, Target
from agentctl.model.resource import Resource
from agentctl.sources import suppressions
from agentctl.sources.interface import ParsedFile, ParseIssue

_META_KEYS = frozenset({"__start_line__", "__end_line__"})


def preload() -> None:
    """Load the HCL grammar now (about 90 ms), e.g. before forking parser workers."""
    import hcl2.parser

    hcl2.parser.parser()


CHUNK_MIN_BYTES = 8 * 1024
"""Files larger than this are parsed block by block (parallel, and deduplicated across BASE and HEAD)."""

_BLOCK_OPEN = re.compile(r'^[A-Za-z_][\w-]*(?:[ \t]+(?:"[^"\n]*"|[A-Za-z_][\w-]*))*[ \t]*\{[ \t]*(\}[ \t]*)?$')

ChunkResult = tuple[str, Any, str]
"""``("ok", tree, "")`` or ``("error", line, message)``: picklable, for worker processes."""


def chunks(text: str) -> list[tuple[int, str]]:
    """Split a file into its top-level blocks as ``(line offset, text)``.

    Only the plain layout is split: each block opens at column 0 and closes with
    a lone ``}`` at column 0, with only blank lines and ``#``/``//`` comments
    between blocks. Anything else (or a small file) stays one chunk; a split
    that turns out wrong (a heredoc with a ``}`` line) fails to parse and the
    caller falls back to parsing the whole file.
    """
    if len(text) < CHUNK_MIN_BYTES:
        return [(0, text)]
    lines = text.splitlines(keepends=True)
    parts: list[tuple[int, str]] = []
    start: int | None = None
    for number, line in enumerate(lines):
        bare = line.rstrip()
        if start is None:
            if not bare or bare.lstrip().startswith(("#", "//")):
                continue
            match = _BLOCK_OPEN.match(bare)
            if match is None:
                return [(0, text)]
            if match.group(1):  # a one-line block: `resource "a" "b" {}`
                parts.append((number, line))
            else:
                start = number
        elif bare == "}":
            parts.append((start, "".join(lines[start : number + 1])))
            start = None
    if start is not None or not parts:
        return [(0, text)]
    return parts


def parse_chunk(text: str) -> ChunkResult:
    """Parse HCL text into python-hcl2's tree; never raises (runs in worker processes)."""
    import hcl2  # heavy (lark grammar): only when a .tf file is read

    try:
        return ("ok", hcl2.loads(text, with_meta=True), "")  # type: ignore[attr-defined]
    except RecursionError:
        return ("error", 1, "HCL nesting too deep to parse")
    except Exception as exc:  # lark raises many types; all mean "not valid HCL"
        line = getattr(exc, "line", None) or 1
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ("error", int(line) if line > 0 else 1, f"invalid HCL: {message}")


def assemble(path: str, text: str, parts: list[tuple[int, ChunkResult]]) -> ParsedFile | None:
    """Resources from parsed chunks; ``None`` if a split file needs a whole-file parse."""
    result = ParsedFile(path)
    failed = [outcome for _, outcome in parts if outcome[0] != "ok"]
    if failed:
        if len(parts) > 1:
            return None
        _, line, message = failed[0]
        result.issues.append(ParseIssue(path, line, message))
        return result
    lines = text.splitlines()
    module_dir = posixpath.dirname(path)
    for offset, (_, tree, _) in parts:
        for block_kind in ("resource", "data"):
            for entry in tree.get(block_kind, []):
                for rtype, named in entry.items():
                    for name, body in named.items():
                        address = f"{rtype}.{name}" if block_kind == "resource" else f"data.{rtype}.{name}"
                        result.resources.append(_resource(path, module_dir, rtype, address, body, lines, offset))
        for entry in tree.get("module", []):
            for name, body in entry.items():
                result.resources.append(_resource(path, module_dir, "module", f"module.{name}", body, lines, offset))
    result.resources.sort(key=lambda r: r.location.start_line)
    return result


def parse(path: str, text: str) -> ParsedFile:
    """Parse one ``.tf`` file in this process; syntax errors become a :class:`ParseIssue`."""
    parts = chunks(text)
    parsed = assemble(path, text, [(offset, parse_chunk(chunk)) for offset, chunk in parts])
    if parsed is None:
        parsed = assemble(path, text, [(0, parse_chunk(text))])
    assert parsed is not None
    return parsed


def _resource(
    path: str, module_dir: str, rtype: str, address: str, body: Any, lines: list[str], offset: int = 0
) -> Resource:
    body = body if isinstance(body, dict) else {}
    start = int(body.get("__start_line__", 1)) + offset
    end = int(body.get("__end_line__", start - offset)) + offset
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
