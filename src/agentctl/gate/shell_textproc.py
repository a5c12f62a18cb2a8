"""What sed and awk programs do besides editing text: the commands they run and the files they write.

awk runs commands with ``system(…)``, ``"cmd" | getline`` and ``print | "cmd"``
(a literal command is parsed and judged; one built from the input is opaque)
and writes files with ``print > "file"``.

GNU sed's ``e COMMAND`` runs COMMAND, a bare ``e`` or the ``e`` flag of ``s``
runs the pattern space (text computed from the input), and ``w FILE`` /
``s///w FILE`` write files. The script is scanned command by command, the way
sed reads it, so ``s/e/x/`` or ``/e/d`` are not mistaken for an ``e`` command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agentctl.gate import inline, shell_quoting
from agentctl.gate import shell_effects as fx

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker


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
    """The index just past the next unescaped ``delim`` from ``i`` (the end of the script when there is none)."""
    end = shell_quoting.closing(script, i, delim)
    return end if end >= 0 else len(script)


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


_AWK_STRING = r'"(?:[^"\\]|\\.)*"'


def awk(cmd: Command, args: list[str], walker: Walker) -> bool:
    """``system(…)``, ``"cmd" | getline`` and ``print | "cmd"`` in an awk program run shell commands."""
    programs = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-e", "--source")]
    for i, arg in enumerate(args[:-1]):
        if arg in ("-f", "--file", "-E", "--exec", "-i", "--include"):
            texts = fx.read_code(cmd, args[i + 1], walker)  # where awk runs (after a cd)
            if not texts:
                cmd.opaque = cmd.opaque or f"awk runs the program in {args[i + 1]}, which agentctl cannot read"
            programs += texts or [""]
        elif arg in ("-l", "--load"):
            cmd.opaque = cmd.opaque or "awk loads an extension"
    if not programs:
        valued = {"-F", "-v", "--assign", "--field-separator", "-f", "--file", "-E", "--exec", "-i", "--include"}
        i = 0
        while i < len(args) and args[i].startswith("-") and args[i] != "--":
            i += 2 if args[i] in valued else 1
        i += 1 if args[i : i + 1] == ["--"] else 0
        programs = args[i : i + 1]
    for program in programs:
        awk_program(cmd, program, fx.literal_word(cmd, program), walker)
    return False


def awk_program(cmd: Command, program: str, literal: bool, walker: Walker) -> None:
    if not literal:
        cmd.opaque = cmd.opaque or "awk runs a program computed at run time"
        return
    if "system" not in program and "|" not in program and ">" not in program:
        return  # nothing that runs a command or writes a file
    texts: list[str | None] = []
    for match in re.finditer(r"\bsystem\s*\(\s*(" + _AWK_STRING + r")?\s*(\))?", program):
        texts.append(match.group(1) if match.group(1) and match.group(2) else None)
    for match in re.finditer(r"(" + _AWK_STRING + r")?\s*(?<!\|)\|&?\s*getline", program):
        texts.append(match.group(1))
    piped: list[str | None] = []
    for match in re.finditer(r"\bprintf?\b[^;}\n]*?(?<![|])\|&?(?![|])\s*(" + _AWK_STRING + r")?", program):
        if not re.match(r"\s*getline", program[match.end() :]):
            piped.append(match.group(1))
    for text in [*texts, *piped]:
        command = text[1:-1].encode().decode("unicode_escape", "replace") if text else ""
        first = fx.basename(command.split()[0]) if command.split() else ""
        if text is None or (text in piped and (first in fx.SHELLS or inline.interpreter(first))):
            cmd.opaque = cmd.opaque or "awk runs a command built from its input"
            cmd.code_from += [n for n in cmd.stdin_names if n not in cmd.code_from]
        else:
            fx.nested(cmd, command, True, walker, "awk")
    for match in re.finditer(r"\bprintf?\b[^;}\n|]*?>>?\s*(" + _AWK_STRING + r"|[^\s;}]+)", program):
        target = match.group(1)
        if target.startswith('"'):
            cmd.writes.append(target[1:-1])
        elif not target[:1].isdigit():
            cmd.opaque = cmd.opaque or "awk writes to a file whose name is computed"


def sed(cmd: Command, args: list[str], walker: Walker) -> bool:
    if "--sandbox" in args:
        return False
    scripts = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-e", "--expression")]
    scripts += [a.split("=", 1)[1] for a in args if a.startswith("--expression=")]
    for i, arg in enumerate(args[:-1]):
        if arg in ("-f", "--file"):
            scripts += fx.read_code(cmd, args[i + 1], walker) or [""]
    if not scripts:
        positional = [a for a in args if not a.startswith("-")]
        scripts = positional[:1]
    for script in scripts:
        if not fx.literal_word(cmd, script):
            cmd.opaque = cmd.opaque or "sed runs a script computed at run time"
            continue
        effects = scan(script)
        cmd.writes += [w for w in effects.writes if w not in ("/dev/stdout", "/dev/stderr")]
        for text in effects.runs:
            if text is None:
                cmd.opaque = cmd.opaque or "sed runs its input as a command (e)"
                cmd.code_from += [n for n in cmd.stdin_names if n not in cmd.code_from]
            else:
                fx.nested(cmd, text, True, walker, "sed e")
    return False
