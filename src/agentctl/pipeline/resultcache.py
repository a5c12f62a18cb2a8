"""A file cache of rule results per resource change, for unchanged re-scans.

Rule results depend only on the change (before, after, where it lives) and on
the exact policy texts, so both go into the key. One JSON file per rule book,
read once and written once per run; any I/O trouble just means a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from agentctl.model.finding import Finding
from agentctl.model.resource import ResourceChange
from agentctl.sources.loader import PARSER_VERSION

MAX_ENTRIES = 200_000


class FileResultCache:
    def __init__(self, directory: Path, rulebook_digest: str) -> None:
        self.path = directory / f"results-{PARSER_VERSION}-{rulebook_digest[:32]}.json"
        self._entries: dict[str, list[dict[str, Any]]] = {}
        self._dirty = False
        try:
            loaded = json.loads(self.path.read_bytes())
            if isinstance(loaded, dict):
                self._entries = loaded
        except (OSError, ValueError):
            pass

    @staticmethod
    def key(change: ResourceChange) -> str:
        current = change.current
        payload = [
            change.change.value,
            current.location.model_dump(),
            current.address,
            current.type,
            current.target.value,
            change.before.attributes if change.before else None,
            change.after.attributes if change.after else None,
            change.instances,
        ]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    def get(self, change: ResourceChange) -> list[Finding] | None:
        entry = self._entries.get(self.key(change))
        if entry is None:
            return None
        try:
            return [Finding.model_validate(item) for item in entry]
        except ValueError:
            return None

    def put(self, change: ResourceChange, findings: list[Finding]) -> None:
        if len(self._entries) < MAX_ENTRIES:
            self._entries[self.key(change)] = [f.model_dump(mode="json") for f in findings]
            self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as handle:
                json.dump(self._entries, handle, separators=(",", ":"))
            os.replace(tmp, self.path)
        except (OSError, TypeError, ValueError):
            return
