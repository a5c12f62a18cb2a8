"""A write that edits only ``resource``/``data`` blocks, judged in its module's context by those blocks alone.

Judging an edit of one resource of a 250 KB file in its module's context
(``gate/tfmodule.py``) used to parse the whole file as it would be and
evaluate every resource of the module twice. In our evaluation a resource's
attributes depend on variables, locals, module arguments, ``count`` /
``for_each`` and its own block, never on another resource's block (see
``sources/terraform/focus.py``). So when the written files differ only in
``resource``/``data`` blocks, every other resource evaluates as before and
pairs as unchanged: the module is evaluated with only the blocks whose text
differs instantiated (``focus``), and the written file is read with every
other resource block blanked out (line numbers kept), which makes the parse
as small as the edit.

What a full parse would have reported is kept: the reduced text is only used
when the file as it was parses cleanly (known from an earlier call or parsed
once, cached by content), the blocks that differ parse cleanly, and the
reduced parse holds exactly the blocks it was given, where they were. A block
that carries an ``agentctl:ignore`` comment is always instantiated (its
suppressions name lines, which an edit above it moves). Anything else (a
non-resource block that differs, a layout that does not split into top-level
blocks, CRLF text, the same address twice in a file) returns ``None``: the
module is then evaluated whole.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from agentctl.gate.blocks import _Block, _blocks, _only, _unmatched

_SELF_CONTAINED = frozenset({"resource", "data"})
_LABEL = r'(?:"([^"\n]*)"|([A-Za-z_][\w-]*))'
_OPENER = re.compile(rf"^(resource|data)[ \t]+{_LABEL}[ \t]+{_LABEL}[ \t]*\{{")


@dataclass(frozen=True)
class Reduced:
    """A written file's text before and after, reduced to its non-resource blocks and the ``addresses``."""

    before: str
    after: str
    addresses: frozenset[str]
    """Local addresses (``aws_instance.web``, ``data.aws_ami.u``) to instantiate in the file's module."""
    openers: tuple[tuple[int, ...], tuple[int, ...]]
    """The 1-based lines of the top-level blocks kept before and after (checked against the reduced parses)."""


def reduce(path: str, before: str | None, after: str | None) -> Reduced | None:
    """The reduced texts of one written ``.tf`` file, or ``None`` when the file must be read whole."""
    if not path.endswith((".tf", ".tofu")) or before is None or after is None or "\r" in before or "\r" in after:
        return None
    old_lines, new_lines = before.split("\n"), after.split("\n")
    old_blocks, new_blocks = _blocks(old_lines), _blocks(new_lines)
    if old_blocks is None or new_blocks is None:
        return None
    common = Counter(b.text for b in old_blocks) & Counter(b.text for b in new_blocks)
    addresses: set[str] = set()
    for blocks, lines in ((old_blocks, old_lines), (new_blocks, new_lines)):
        for block in _unmatched(blocks, common):
            address = _address(block, lines)
            if address is None:
                return None  # something other than a resource or data block differs
            addresses.add(address)
    for blocks, lines in ((old_blocks, old_lines), (new_blocks, new_lines)):
        seen: Counter[str] = Counter()
        for block in blocks:
            if block.kind not in _SELF_CONTAINED:
                continue
            address = _address(block, lines)
            if address is None:
                return None
            seen[address] += 1
            if "agentctl:ignore" in block.text:
                addresses.add(address)
        if any(seen[a] > 1 for a in addresses):
            return None  # Terraform refuses a duplicate address; the whole file is read to say so
    kept_old = [b for b in old_blocks if _kept(b, old_lines, addresses)]
    kept_new = [b for b in new_blocks if _kept(b, new_lines, addresses)]
    return Reduced(
        _only(old_lines, kept_old),
        _only(new_lines, kept_new),
        frozenset(addresses),
        (_openers(kept_old, old_lines), _openers(kept_new, new_lines)),
    )


def matches(body: list[object], openers: tuple[int, ...]) -> bool:
    """Whether a reduced parse holds exactly one top-level block at each kept opener line."""
    lines = []
    for item in body:
        if not isinstance(item, list) or item[0] != "b":
            return False
        lines.append(item[4])
    return tuple(lines) == openers


def _kept(block: _Block, lines: list[str], addresses: set[str]) -> bool:
    return block.kind not in _SELF_CONTAINED or _address(block, lines) in addresses


def _opener_index(block: _Block, lines: list[str]) -> int:
    """The 0-based line of the block's opening line (after the comments above it)."""
    for index in range(block.start, block.end):
        bare = lines[index].strip()
        if bare and not bare.startswith(("#", "//")):
            return index
    return block.start


def _openers(blocks: list[_Block], lines: list[str]) -> tuple[int, ...]:
    return tuple(_opener_index(b, lines) + 1 for b in blocks)


def _address(block: _Block, lines: list[str]) -> str | None:
    if block.kind not in _SELF_CONTAINED:
        return None
    match = _OPENER.match(lines[_opener_index(block, lines)])
    if match is None:
        return None
    kind, kind_quoted, kind_bare, name_quoted, name_bare = match.groups()
    rtype = kind_quoted if kind_quoted is not None else kind_bare
    name = name_quoted if name_quoted is not None else name_bare
    return f"{rtype}.{name}" if kind == "resource" else f"data.{rtype}.{name}"
