"""Directory listings kept between decisions, for the walks that look for ``conftest.py``.

``pytest`` or ``make test`` in a repository of 20,000 files lists every directory pytest would
collect on each decision (see ``find`` in :mod:`agentctl.gate.effects`): about 40 ms, twice the
hook's budget on the per-run server. A directory's listing only changes when its own mtime does,
so a listing is reused while the directory's ``stat`` says the same. As git does with "racily
clean" entries, a listing is only kept when the directory's mtime was already a few seconds old
when it was read: an entry added in the same clock tick as the listing would not move the mtime.
"""

from __future__ import annotations

import os
import time

_SETTLED_NS = 3_000_000_000
"""How old a directory's mtime must be for its listing to be kept (file-system clocks are coarse)."""
_MAX_KEPT = 200_000

_kept: dict[str, tuple[tuple[int, int, int], tuple[int, tuple[str, ...], frozenset[str]]]] = {}


def entries(folder: str) -> tuple[int, tuple[str, ...], frozenset[str]] | None:
    """``folder``'s entry count, its subdirectories (not followed through links) and its other names;
    None when it cannot be listed."""
    try:
        info = os.stat(folder)
    except OSError:
        return None
    key = (info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
    kept = _kept.get(folder)
    if kept is not None and kept[0] == key:
        return kept[1]
    try:
        with os.scandir(folder) as scan:
            listed = list(scan)
    except OSError:
        return None
    folders = tuple(e.name for e in listed if e.is_dir(follow_symlinks=False))
    value = (len(listed), folders, frozenset(e.name for e in listed).difference(folders))
    if time.time_ns() - max(info.st_mtime_ns, info.st_ctime_ns) > _SETTLED_NS:
        if len(_kept) >= _MAX_KEPT:
            _kept.clear()
        _kept[folder] = (key, value)
    return value
