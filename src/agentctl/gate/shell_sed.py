"""What a sed script does besides editing text: commands it runs (``e``, ``s///e``) and files it writes.

GNU sed's ``e COMMAND`` runs COMMAND, a bare ``e`` or the ``e`` flag of ``s``
runs the pattern space (text computed from the input), and ``w FILE`` /
``s///w FILE`` write files. The script is scanned command by command, the way
sed reads it, so ``s/e/x/`` or ``/e/d`` are not mistaken for an ``e`` command.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SedEffects:
    runs: list[str | None] = field(default_factory=list)
    """Shell commands it runs; None for "its input, computed at run time"."""
    writes: list[str] = field(default_factory=list)


def scan(script: str) -> SedEffects:
    out = SedEffects()
    i, n = 0, len(script)
    while i < n:
        while i < n and script[i] in " \t\n;{}!":
            i += 1
        i = _address(script, i)
        if i >= n:
            break
        command = script[i]
        i += 1
        if command == "#" or command in "aic":
            i = _line_end(script, i)
        elif command in ":btTvqQlL":
            while i < n and script[i] not in ";\n}":
                i += 1
        elif command in "rRwW":
            end = _line_end(script, i)
            if command in "wW":
                out.writes.append(script[i:end].strip())
            i = end
        elif command == "e":
            end = _line_end(script, i)
            text = script[i:end].strip()
            out.runs.append(text or None)
            i = end
        elif command in "sy":
            i = _substitute(script, i, command, out)
        elif command == "}":
            continue
    return out


def _line_end(script: str, i: int) -> int:
    end = script.find("\n", i)
    return len(script) if end < 0 else end


def _delimited(script: str, i: int, delim: str) -> int:
    """The index just past the next unescaped ``delim`` from ``i``."""
    while i < len(script):
        if script[i] == "\\":
            i += 2
            continue
        if script[i] == delim:
            return i + 1
        i += 1
    return i


def _address(script: str, i: int) -> int:
    n = len(script)
    for _ in range(2):
        if i < n and (script[i].isdigit() or script[i] == "$"):
            while i < n and (script[i].isdigit() or script[i] in "$~"):
                i += 1
        elif i < n and script[i] == "/":
            i = _delimited(script, i + 1, "/")
            while i < n and script[i] in "IM":
                i += 1
        elif i + 1 < n and script[i] == "\\":
            i = _delimited(script, i + 2, script[i + 1])
            while i < n and script[i] in "IM":
                i += 1
        if i < n and script[i] == ",":
            i += 1
            if i < n and script[i] in "+~":
                i += 1
            continue
        break
    while i < n and script[i] in " \t!":
        i += 1
    return i


def _substitute(script: str, i: int, command: str, out: SedEffects) -> int:
    if i >= len(script):
        return i
    delim = script[i]
    i = _delimited(script, i + 1, delim)
    i = _delimited(script, i, delim)
    if command == "y":
        return i
    while i < len(script) and script[i] not in ";\n}":
        flag = script[i]
        i += 1
        if flag == "e":
            out.runs.append(None)
        elif flag == "w":
            end = _line_end(script, i)
            out.writes.append(script[i:end].strip())
            return end
    return i
