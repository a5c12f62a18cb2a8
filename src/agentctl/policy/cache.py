"""The built-in pack's parsed rules, kept as JSON between runs.

Reading the pack's YAML (with line numbers) and validating it costs more than
the rest of a small ``check --diff``; the result depends only on agentctl's
version and the pack's exact texts, which together name the cache file. A
file that is missing, unreadable or does not validate is a miss: the pack is
parsed as usual and the file written again. Only a miss writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from agentctl import __version__
from agentctl.model.rule import LoadedRule

FORMAT = "1"

Parsed = tuple[list[LoadedRule], list[str]]
"""One file's rules and its ``allow_tools``."""


def cache_path(directory: Path, texts: list[tuple[str, str]]) -> Path:
    digest = hashlib.sha256(f"{FORMAT}\0agentctl {__version__}".encode())
    for source, text in texts:
        digest.update(f"\0{source}\0{text}".encode())
    return directory / f"builtin-{digest.hexdigest()[:40]}.json"


def load(path: Path, sources: list[str]) -> dict[str, Parsed] | None:
    """Every listed source's rules, or ``None`` (a miss) when the file cannot give all of them."""
    try:
        raw = json.loads(path.read_bytes())
        out: dict[str, Parsed] = {}
        for source in sources:
            entry = raw[source]
            rules = [LoadedRule.model_validate(r) for r in entry["rules"]]
            if any(r.source != source for r in rules) or not all(isinstance(t, str) for t in entry["allow_tools"]):
                return None
            out[source] = (rules, list(entry["allow_tools"]))
        return out
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(path: Path, parsed: dict[str, Parsed]) -> None:
    payload: dict[str, Any] = {
        source: {"rules": [r.model_dump(mode="json") for r in rules], "allow_tools": allowed}
        for source, (rules, allowed) in parsed.items()
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(payload, separators=(",", ":")))
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):
        return
