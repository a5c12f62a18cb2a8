"""``make``: the recipes it would run for the goals asked, judged as the shell commands they are.

The makefile (``-f FILE``, else ``GNUmakefile``/``makefile``/``Makefile`` in
``-C DIR``) is read and the recipes of the goals (the first target by default)
and of everything they depend on are parsed line by line, with make's
variables expanded where they are known; an unknown variable becomes a
computed word, so a recipe whose command name is unknown is opaque. Lines that
are neither rules, recipes, assignments nor directives are judged as shell text
(fail closed: ``make -f deploy.sh``). Conditionals are not evaluated: every
branch counts.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import TYPE_CHECKING

from agentctl.gate import shell_effects as fx
from agentctl.gate import shell_paths, shell_sources

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_VALUED = {"-f", "--file", "--makefile", "-C", "--directory", "-I", "--include-dir", "-o", "--old-file",
           "-W", "--what-if", "--assume-new", "--assume-old", "--eval", "-O"}  # fmt: skip
_ASSIGN = re.compile(r"^(?:export\s+|override\s+|private\s+)*([A-Za-z_.][\w.-]*)\s*(:::=|::=|:=|\?=|\+=|!=|=)\s*(.*)$")
_RULE = re.compile(r"^([^\t:=#][^:=#]*?)\s*(::?|&:)(?!=)\s*(.*)$")
_DIRECTIVE = re.compile(r"^\s*(-?include|sinclude|ifn?eq|ifn?def|else|endif|export|unexport|vpath|override|undefine)\b")
_MAX_LINES = 64
_MAX_JUDGED = 2000
"""Recipe lines judged per make command; beyond that the run is too large to see through (opaque)."""
_BUILTIN = {
    "CC": "cc", "CXX": "c++", "CPP": "cc -E", "AR": "ar", "AS": "as", "LD": "ld", "RM": "rm -f", "FC": "f77",
    "LEX": "lex", "YACC": "yacc", "PC": "pc", "MAKEINFO": "makeinfo", "TEX": "tex", "SHELL": "/bin/sh",
}  # fmt: skip
"""make's built-in variables (``$(CC)`` is ``cc`` unless the makefile says otherwise); ``*FLAGS`` are empty."""


def judge(cmd: Command, args: list[str], walker: Walker) -> None:
    files, goals, variables, directories, evals = [], [], {}, [], []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("--eval", "-E") and i + 1 < len(args):  # ``--eval TEXT``: makefile text read after the files
            evals.append(args[i + 1])
            i += 2
            continue
        if arg.startswith("--eval="):
            evals.append(arg.split("=", 1)[1])
        if arg in _VALUED and i + 1 < len(args):
            if arg in ("-f", "--file", "--makefile"):
                files.append(args[i + 1])
            elif arg in ("-C", "--directory"):
                directories.append(args[i + 1])
            i += 2
            continue
        if arg.startswith(("--file=", "--makefile=")):
            files.append(arg.split("=", 1)[1])
        elif arg.startswith("--directory="):
            directories.append(arg.split("=", 1)[1])
        elif "=" in arg and not arg.startswith("-"):
            key, value = arg.split("=", 1)
            variables[key] = value
        elif not arg.startswith("-"):
            goals.append(arg)
        i += 1
    if not all(cmd.literal):
        cmd.opaque = cmd.opaque or "make's arguments are computed at run time"
        return
    _environment(cmd, walker, variables)
    for directory in directories:  # ``make -C DIR``: make and its recipes run in DIR
        shell_paths.enter(cmd, directory)
    if "SHELL" in variables or ".SHELLFLAGS" in variables:  # recipes run as ``$SHELL $.SHELLFLAGS LINE``
        shell = [variables.get("SHELL", "/bin/sh"), *shlex.split(variables.get(".SHELLFLAGS", "-c")), "true"]
        fx.nested(cmd, shlex.join(shell), True, walker, "make SHELL")
        flags = shell[1:-1]
        if "-c" in flags[:-1]:  # ``.SHELLFLAGS='-c terraform apply'``: words after -c are command text
            fx.nested(cmd, " ".join(flags[flags.index("-c") + 1 :]), True, walker, "make .SHELLFLAGS")
    text = _read_makefiles(cmd, files, walker)
    if text is None:
        return
    text = "\n".join([text, *(e.replace(";", "\n\t", 1) if ":" in e.split(";")[0] else e for e in evals)])
    book = _Makefile(text, variables)
    recipes = book.recipes(goals)
    if len(recipes) + len(book.loose) > _MAX_JUDGED:
        cmd.opaque = cmd.opaque or "make would run more recipe lines than agentctl judges"
        return
    for line in book.loose:
        fx.nested(cmd, book.expand(line, "", []), True, walker, "make")
    for target, line, prereqs in recipes:
        fx.nested(cmd, book.expand(line, target, prereqs), True, walker, f"make {target}")


_HARMLESS_FLAGS = re.compile(
    r"^(-?-?[sSkwBrRiqe]+|-?j\d*|--jobs(=\d+)?|-?l[\d.]*|--load-average(=[\d.]+)?|--no-print-directory|"
    r"--silent|--quiet|--keep-going|--print-directory|-?O\w*|--output-sync(=\w+)?|--warn-undefined-variables|"
    r"--no-builtin-rules|--no-builtin-variables|\d+|--)$"
)
"""MAKEFLAGS words that only change how make reports or schedules (``-j8``, ``-s``, ``--no-print-directory``)."""


def _environment(cmd: Command, walker: Walker, variables: dict[str, str]) -> None:
    """``MAKEFLAGS``/``MFLAGS`` act as options and variables given to make; ``MAKEFILES`` names more makefiles."""
    env = {**walker.exported, **cmd.assigned}
    for key in ("MAKEFLAGS", "MFLAGS", "GNUMAKEFLAGS", "MAKEFILES"):
        if key not in env:
            continue
        value = env[key]
        if value is None or "$" in value or "`" in value:
            cmd.opaque = cmd.opaque or f"${key} is computed at run time: what make runs is unknown"
            continue
        for word in shlex.split(value) if key != "MAKEFILES" else value.split():
            if key == "MAKEFILES" or not (_HARMLESS_FLAGS.match(word) or re.match(r"^[A-Za-z_][\w.]*=", word)):
                cmd.opaque = cmd.opaque or f"${key} ({value}) changes what make runs"
                break
            if "=" in word and not word.startswith("-"):
                name, _, text = word.partition("=")
                variables.setdefault(name, text)


def _read_makefiles(cmd: Command, files: list[str], walker: Walker) -> str | None:
    """The makefiles make reads, in each directory it may run in (a ``cd`` that may fail leaves two)."""
    if walker.read_file is None:
        return None
    names = files or ["GNUmakefile", "makefile", "Makefile"]
    texts = []
    for where in dict.fromkeys([cmd.cwd, *cmd.alt_cwds]):
        for name in names:
            path = name if name.startswith("/") or not where else posixpath.join(where, name)
            known, text = shell_sources.at(cmd, path, name, walker, "a makefile")  # as the same line writes it
            if not known:
                return None
            if text is not None:
                texts.append(text)
                if not files:
                    break
    return "\n".join(texts) if texts else None


class _Makefile:
    def __init__(self, text: str, overrides: dict[str, str]) -> None:
        self.vars: dict[str, str] = dict(_BUILTIN)
        self.rules: dict[str, list[tuple[list[str], list[str]]]] = {}
        self.patterns: list[tuple[str, list[str], list[str]]] = []
        self.loose: list[str] = []
        self.first = ""
        recipe: list[str] | None = None
        lines = text.replace("\r\n", "\n").replace("\\\n", " ").split("\n")
        define: str | None = None
        for raw in lines:
            if define is not None:
                if raw.strip() == "endef":
                    define = None
                else:
                    self.vars[define] = (self.vars.get(define, "") + "\n" + raw).strip("\n")
                continue
            if raw.startswith("\t") and recipe is not None:
                recipe.append(raw[1:])
                continue
            line = raw.split("#", 1)[0].rstrip() if not raw.startswith("\t") else raw.strip()
            if not line.strip():
                continue
            if line.startswith("define "):
                define = line.split()[1] if len(line.split()) > 1 else "_"
                continue
            assign = _ASSIGN.match(line.strip())
            if assign:
                name, op, value = assign.groups()
                if op == "!=":
                    self.loose.append(value)
                self.vars[name] = self.vars.get(name, "") + " " + value if op == "+=" else value
                recipe = None
                continue
            if _DIRECTIVE.match(line):
                continue
            rule = _RULE.match(line)
            if rule and not line.startswith((" ", "$(", "${")):
                targets, _, rest = rule.groups()
                prereqs, _, inline = rest.partition(";")
                recipe = [inline] if inline.strip() else []
                entry = ([p for p in prereqs.split() if p != "|"], recipe)
                for target in targets.split():
                    if "%" in target:
                        self.patterns.append((target, *entry))
                    else:
                        self.rules.setdefault(target, []).append(entry)
                        if not self.first and not target.startswith("."):
                            self.first = target
                continue
            if line.lstrip().startswith("$("):
                self.loose += re.findall(r"\$\(shell\s+([^)]*)\)", line)
                continue
            self.loose.append(line.strip())  # not make syntax: judged as the shell text it looks like
        self.vars.update(overrides)

    def recipes(self, goals: list[str]) -> list[tuple[str, str, list[str]]]:
        todo = list(goals or [self.vars.get(".DEFAULT_GOAL", "").strip() or self.first])
        seen: set[str] = set()
        out: list[tuple[str, str, list[str]]] = []
        while todo and len(seen) < 256:
            target = todo.pop(0)
            if not target or target in seen:
                continue
            seen.add(target)
            entries = self.rules.get(target, [])
            if not any(recipe for _, recipe in entries):
                entries = entries + self._pattern(target)
            for prereqs, recipe in entries:
                todo += prereqs
                out += [(target, line, prereqs) for line in recipe[:_MAX_LINES]]
        return out

    def _pattern(self, target: str) -> list[tuple[list[str], list[str]]]:
        found = []
        for pattern, prereqs, recipe in self.patterns:
            regex = "^" + re.escape(pattern).replace("%", "(.+)") + "$"
            match = re.match(regex, target)
            if match:
                found.append(([p.replace("%", match.group(1)) for p in prereqs], recipe))
        return found

    def expand(self, line: str, target: str, prereqs: list[str], depth: int = 0) -> str:
        line = line.lstrip().lstrip("@-+").lstrip()
        auto = {"@": target or "TARGET", "<": prereqs[0] if prereqs else "", "^": " ".join(prereqs),
                "+": " ".join(prereqs), "?": " ".join(prereqs), "*": "STEM", "|": ""}  # fmt: skip

        def one(match: re.Match[str]) -> str:
            body = match.group(1) or match.group(2) or match.group(3)
            if body == "$":
                return "$"
            if body in auto:
                return auto[body]
            if body.startswith("shell "):
                return "$(" + body[6:] + ")"
            if body in ("MAKE", "MAKE_COMMAND"):
                return "make"
            if body in self.vars and depth < 8:
                return self.expand(self.vars[body], target, prereqs, depth + 1)
            if re.fullmatch(r"[A-Z]*FLAGS", body) or body in ("CURDIR", "MAKEFLAGS", "MAKECMDGOALS"):
                return "." if body == "CURDIR" else ""  # flags are empty by default; CURDIR is where make runs
            if re.fullmatch(r"[A-Za-z_]\w*", body):
                return "${" + body + "}"  # unknown: a computed word
            return "${MAKE_FUNCTION}"

        return re.sub(r"\$(?:\(([^()]*)\)|\{([^{}]*)\}|([$@<^+?*|A-Za-z]))", one, line)
