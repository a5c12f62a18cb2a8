"""Reading a runs bundle defensively: bounded lines, UTF-8, shallow JSON, and each line's fields of the right type.

A bundle is a file a human was handed (a CI artifact, a colleague's export), so
anything may be in it: every problem is one :class:`StoreError` naming the file
and line, never a traceback, and nothing of the file is stored (the import runs
in one transaction).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from typing import IO, Any

from agentctl.store.errors import StoreError
from agentctl.store.record import RunRecord

LINE_LIMIT = 32 << 20
"""Longest line accepted (an event payload is redacted and far smaller)."""
HINT = "give a file written by agentctl runs export"

_TEXT = (str, type(None))
_EVENT = {"run_id": (str,), "seq": (int,), "at": (int, float), "kind": (str,), "payload": (str,), "mac": _TEXT}
_APPROVAL = {
    "run_id": (str,),
    "seq": (int, type(None)),
    "target": (str, dict, type(None)),
    "covers": (list, type(None)),
    "approver": (str,),
    "decision": (str,),
    "reason": _TEXT,
    "at": (int, float),
    "mac": _TEXT,
}


def _kinds(annotation: Any) -> tuple[type, ...]:
    """The JSON value kinds a RunRecord field's annotation allows (``float | None`` → float, int, None)."""
    names = {"str": str, "int": int, "float": float, "list": list, "dict": dict, "None": type(None)}
    kinds: list[type] = []
    for part in str(annotation).split("|"):
        kind = names.get(part.strip().split("[", 1)[0])
        if kind is None:
            return (object,)
        kinds += [kind, int] if kind is float else [kind]  # JSON has one number type
    return tuple(kinds)


_RUN = {f.name: _kinds(f.type) for f in dataclasses.fields(RunRecord)}
_RUN_REQUIRED = ("id", "agent", "status", "started_at")


def read_lines(handle: IO[bytes], source: str) -> Iterator[str]:
    """The file's lines as text; a line too long or not UTF-8 is an error (read a bounded line at a time)."""
    number = 0
    while True:
        raw = handle.readline(LINE_LIMIT + 1)
        if not raw:
            return
        number += 1
        if len(raw) > LINE_LIMIT:
            raise StoreError(f"{source}:{number}: line longer than {LINE_LIMIT >> 20} MiB", HINT)
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise StoreError(f"{source}:{number}: not UTF-8 text (a binary file?)", HINT) from None


def parse(line: str, where: str) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        raise StoreError(f"{where}: not JSON (or nested too deeply)", HINT) from None


def check(kind: str, item: dict[str, Any], where: str) -> None:
    """``item`` (a ``run``, ``event`` or ``approval`` line) has the fields and types agentctl writes."""
    spec = _RUN if kind == "run" else _EVENT if kind == "event" else _APPROVAL
    required = _RUN_REQUIRED if kind == "run" else tuple(k for k, v in spec.items() if type(None) not in v)
    for name in required:
        if item.get(name) is None:
            raise StoreError(f"{where}: {kind} line without '{name}'", HINT)
    for name, kinds in spec.items():
        value = item.get(name)
        if value is None:
            continue  # absent (an older agentctl's bundle): the store's default, and the seal decides
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise StoreError(f"{where}: {kind} field '{name}' has the wrong type ({type(value).__name__})", HINT)
        if isinstance(value, float) and not math.isfinite(value):
            raise StoreError(f"{where}: {kind} field '{name}' is not a finite number", HINT)
    if kind == "run" and not str(item["id"]).strip():
        raise StoreError(f"{where}: run line with an empty id", HINT)
    if kind != "run" and isinstance(item.get("seq"), int) and item["seq"] < 1:
        raise StoreError(f"{where}: {kind} sequence number {item['seq']} (they start at 1)", HINT)
