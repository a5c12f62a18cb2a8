"""Which top-level Terraform blocks an edit changed, so only those are parsed.

python-hcl2's parser costs about 5 µs a byte, so judging a 250 KB file by parsing
it twice took seconds. An edit leaves most of a file as it was: the common
prefix and suffix of the old and new text (compared at C speed) bound the
region that differs; that region is widened to whole top-level blocks (each
with the comments above it) and split; blocks whose text is the same before and
after cannot have changed any resource. The remaining ``resource``/``data``
blocks are parsed with the rest of the file blanked out, so line numbers stay
right. Anything else (a changed ``locals``/``variable``/``module`` block, CRLF
text, a layout that is not split cleanly, a part that does not parse) falls
back to parsing the whole files, cached by content hash for the life of the
gate server.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass

from agentctl.sources.files import FileKind, SourceFile
from agentctl.sources.interface import ParsedFile
from agentctl.sources.loader import parse_source

SPLIT_MIN_BYTES = 16 * 1024
"""Below this, a .tf file is simply parsed whole (a few milliseconds)."""

_BLOCK_OPEN = re.compile(r'^([A-Za-z_][\w-]*)(?:[ \t]+(?:"[^"\n]*"|[A-Za-z_][\w-]*))*[ \t]*\{[ \t]*(\}[ \t]*)?$')
_SELF_CONTAINED = frozenset({"resource", "data"})


class ParseMemo:
    """Parse results by content hash, least recently used first out, bounded by the source bytes they
    stand for; shared by the gate server's threads (results are never mutated)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[str, tuple[ParsedFile, int]] = OrderedDict()
        self.lock = threading.Lock()

    def parse(self, path: str, kind: FileKind, text: str) -> ParsedFile:
        data = text.encode("utf-8", "surrogatepass")
        key = hashlib.sha256(f"{path}\0{kind}\0".encode() + data).hexdigest()
        with self.lock:
            hit = self.entries.get(key)
            if hit is not None:
                self.entries.move_to_end(key)
                return hit[0]
        parsed = parse_source(SourceFile(path, kind, data))
        with self.lock:
            if key not in self.entries:
                self.entries[key] = (parsed, len(data))
                self.size += len(data)
            while self.size > self.max_bytes and len(self.entries) > 1:
                _, (_, dropped) = self.entries.popitem(last=False)
                self.size -= dropped
        return parsed


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    kind: str
    text: str


def _blocks(lines: list[str]) -> list[_Block] | None:
    """Top-level blocks (with the comments above them), or ``None`` for a layout we do not split."""
    out: list[_Block] = []
    lead, start, kind = 0, None, ""
    for number, line in enumerate(lines):
        bare = line.rstrip()
        if start is None:
            if not bare or bare.lstrip().startswith(("#", "//")):
                continue
            match = _BLOCK_OPEN.match(bare)
            if match is None:
                return None
            if match.group(2):
                out.append(_Block(lead, number + 1, match.group(1), "\n".join(lines[lead : number + 1])))
                lead = number + 1
            else:
                start, kind = number, match.group(1)
        elif bare == "}":
            out.append(_Block(lead, number + 1, kind, "\n".join(lines[lead : number + 1])))
            lead, start = number + 1, None
    return None if start is not None else out


def _only(lines: list[str], keep: list[_Block]) -> str:
    kept = [""] * len(lines)
    for block in keep:
        kept[block.start : block.end] = lines[block.start : block.end]
    return "\n".join(kept)


def changed_blocks(path: str, before: str, after: str, memo: ParseMemo) -> tuple[ParsedFile, ParsedFile]:
    """Before/after parses holding (at least) every resource the edit can have changed."""
    if len(before) + len(after) >= SPLIT_MIN_BYTES and path.endswith(".tf"):
        region = _changed_region(before, after)
        if region is not None:
            (old_start, old_end), (new_start, new_end) = region
            offset = before.count("\n", 0, old_start)
            old_lines = before[old_start:old_end].split("\n")
            new_lines = after[new_start:new_end].split("\n")
            old_blocks, new_blocks = _blocks(old_lines), _blocks(new_lines)
            if old_blocks is not None and new_blocks is not None:
                common = Counter(b.text for b in old_blocks) & Counter(b.text for b in new_blocks)
                gone, added = _unmatched(old_blocks, common), _unmatched(new_blocks, common)
                if all(b.kind in _SELF_CONTAINED for b in gone + added):
                    pad = "\n" * offset
                    old = memo.parse(path, FileKind.TERRAFORM, pad + _only(old_lines, gone))
                    new = memo.parse(path, FileKind.TERRAFORM, pad + _only(new_lines, added))
                    if not old.issues and not new.issues:
                        return old, new
    return memo.parse(path, FileKind.TERRAFORM, before), memo.parse(path, FileKind.TERRAFORM, after)


def _common_prefix(a: str, b: str, limit: int) -> int:
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(a: str, b: str, limit: int) -> int:
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if a[len(a) - middle :] == b[len(b) - middle :]:
            low = middle
        else:
            high = middle - 1
    return low


_CLOSE = "\n}\n"


def _changed_region(before: str, after: str) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The spans of whole top-level blocks around the text that differs (the rest is identical)."""
    if "\r" in before or "\r" in after:
        return None
    shortest = min(len(before), len(after))
    prefix = _common_prefix(before, after, shortest)
    suffix = _common_suffix(before, after, shortest - prefix)
    cut = before.rfind(_CLOSE, 0, prefix)
    start = cut + len(_CLOSE) - 1 + 1 if cut >= 0 else 0  # just after the newline that ends a lone "}"
    old_change_end = len(before) - suffix
    close = before.find(_CLOSE, max(old_change_end - 1, start))
    if close < 0:
        return (start, len(before)), (start, len(after))
    old_end = close + len(_CLOSE)
    new_end = old_end + len(after) - len(before)
    if (
        new_end < start
        or after[new_end - len(_CLOSE) : new_end] != _CLOSE
        or old_end - len(_CLOSE) < old_change_end - 1
    ):
        return None
    return (start, old_end), (start, new_end)


def _unmatched(blocks: list[_Block], common: Counter[str]) -> list[_Block]:
    left = Counter(common)
    out = []
    for block in blocks:
        if left[block.text] > 0:
            left[block.text] -= 1
        else:
            out.append(block)
    return out
