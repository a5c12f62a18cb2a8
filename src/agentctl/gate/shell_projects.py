"""Task runners that read their commands from a project file: npm scripts, justfiles, tox.

Called through :func:`agentctl.gate.shell_runners.run`. Like ``make`` (see
:mod:`agentctl.gate.shell_make`), the runner's file is read (or computed from
what the same command line writes to it, see :mod:`agentctl.gate.shell_sources`)
and the commands of the task asked for are judged as the shell text they are:

* ``npm test|start|run X`` (also ``yarn``, ``pnpm``, ``bun run``): ``preX``, ``X``
  and ``postX`` of ``package.json``'s ``scripts``; ``npm install``/``ci`` run the
  package's own install scripts;
* ``just [RECIPE…]``: the recipe (the first by default) and its dependencies;
  what agentctl does not read in a justfile (imports, another shell, an unknown
  dependency) makes the command opaque;
* ``tox [-e ENV]``: the ``commands`` of the environments it runs (every
  ``[testenv*]`` section when the list is not plain).
"""

from __future__ import annotations

import configparser
import json
import posixpath
import re
from typing import TYPE_CHECKING, Any

from agentctl.gate import shell_effects as fx
from agentctl.gate import shell_localbin, shell_sources

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_MAX_TASKS = 64

_NPM_BUILTIN = {"test": "test", "t": "test", "tst": "test", "start": "start", "stop": "stop", "restart": "restart"}
_NPM_INSTALL = {"install", "i", "ci", "add", "in", "isntall", "rebuild", "rb"}
_NPM_DIRS = frozenset({"--prefix", "-C", "--dir", "--cwd"})
"""Options naming the package's directory (where its package.json is)."""
_NPM_VALUED = frozenset({"--prefix", "-C", "--dir", "-w", "--workspace", "--filter", "-F", "--cwd"})


def _npm(cmd: Command, args: list[str], walker: Walker) -> bool:
    words = [a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] not in _NPM_VALUED)]
    if not words:
        return False
    sub, rest = words[0], words[1:]
    if sub in ("run", "run-script", "rum", "urn"):
        names = rest[:1]
    elif sub in _NPM_BUILTIN:
        names = [_NPM_BUILTIN[sub]]
    elif sub in _NPM_INSTALL and not rest:
        names = ["preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare"]
    elif cmd.name in ("yarn", "pnpm") and sub not in _YARN_OWN:
        names = [sub]  # ``yarn build``: a script, when package.json has one by that name
    else:
        return False
    if not names or not fx.literal_word(cmd, names[0]):
        return False
    prefix = next((args[i + 1] for i, a in enumerate(args[:-1]) if a in _NPM_DIRS), "")
    prefix = prefix or next((a.split("=", 1)[1] for a in args if a.split("=", 1)[0] in _NPM_DIRS), "")
    found = shell_sources.texts(cmd, f"{prefix.rstrip('/')}/package.json" if prefix else "package.json", walker,
                                "npm scripts")  # fmt: skip
    for text in found or []:
        try:
            scripts = json.loads(text).get("scripts") or {}
        except (ValueError, AttributeError):
            cmd.opaque = cmd.opaque or "package.json does not parse: which scripts run is unknown"
            return False
        if not isinstance(scripts, dict):
            continue
        run = names if sub in _NPM_INSTALL else [f"pre{names[0]}", names[0], f"post{names[0]}"]
        bins = posixpath.join(cmd.cwd, prefix, "node_modules/.bin")  # npm searches it first for every script
        with shell_localbin.searching(walker, [bins]):
            for name in run:
                value = scripts.get(name)
                if isinstance(value, str) and value.strip():
                    fx.nested(cmd, value, True, walker, f"{cmd.name} {name}")
    return False


_YARN_OWN = {
    "add", "remove", "install", "upgrade", "up", "info", "list", "ls", "why", "outdated", "audit", "cache", "config",
    "init", "link", "unlink", "pack", "publish", "version", "workspace", "workspaces", "global", "import", "login",
    "logout", "owner", "tag", "team", "licenses", "check", "autoclean", "generate-lock-entry", "help", "bin",
    "dlx", "exec", "create", "dedupe", "store", "patch", "set", "plugin", "node", "explain", "search", "env",
}  # fmt: skip
"""yarn/pnpm commands of their own (anything else names a script)."""


_JUST_FILES = ("justfile", "Justfile", ".justfile", "JUSTFILE")
_JUST_VALUED = frozenset({"-f", "--justfile", "-d", "--working-directory", "--set", "--shell", "--shell-arg",
                          "--dotenv-filename", "--dotenv-path", "--chooser", "--color", "--dump-format",
                          "--list-heading", "--list-prefix", "--command-color", "--timestamp-format", "-c",
                          "--command", "-s", "--show", "--alias-style"})  # fmt: skip
_JUST_PRINTS = frozenset({"-l", "--list", "--summary", "--dump", "--evaluate", "--variables", "--fmt", "--init",
                          "-h", "--help", "-V", "--version", "--groups", "--changelog", "--completions", "-n",
                          "--dry-run"})  # fmt: skip
_RECIPE = re.compile(r"^@?([A-Za-z_][\w-]*)((?:\s+[^:]*?)?)\s*:(?!=)\s*(.*)$")
_JUST_SETTING = re.compile(r"^(set|export|alias|mod|import|unexport|\[)")


def _just(cmd: Command, args: list[str], walker: Walker) -> bool:
    """``just [RECIPE [ARGS]…]``."""
    files: list[str] = []
    goals: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        key = arg.split("=", 1)[0]
        if key in _JUST_PRINTS:
            return True  # prints, formats or lists: runs no recipe
        if key in ("--shell", "--shell-arg", "-c", "--command"):
            cmd.opaque = cmd.opaque or f"just {key} runs commands agentctl does not read"
            return True
        if key in ("-f", "--justfile") and i + 1 < len(args):
            files.append(args[i + 1] if "=" not in arg else arg.split("=", 1)[1])
        if arg.startswith("-"):
            i += 2 if key in _JUST_VALUED and "=" not in arg else 1
            continue
        goals.append(arg)
        i += 1
    text = None
    for name in files or _JUST_FILES:
        found = shell_sources.texts(cmd, name, walker, "a justfile")
        if found is None:
            return True
        if found:
            text = found[0]
            break
    if text is not None:
        _Justfile(cmd, text, walker).run(goals)
    return True


class _Justfile:
    """The recipes of a justfile: dependencies, bodies, string variables and aliases (anything else it can do,
    such as another shell, a script recipe or an import, makes the command opaque)."""

    def __init__(self, cmd: Command, text: str, walker: Walker) -> None:
        self.cmd, self.walker = cmd, walker
        self.recipes: dict[str, tuple[list[tuple[str, list[str]]], list[str], list[tuple[str, str | None]]]] = {}
        self.values: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.scripts: set[str] = set()
        self.first = ""
        current: list[str] | None = None
        script_next = False
        for raw in text.replace("\r\n", "\n").split("\n"):
            if raw[:1] in (" ", "\t") and current is not None:
                current.append(raw.strip())
                continue
            line = raw.split("#", 1)[0].rstrip() if not raw.startswith("#!") else raw
            if not line.strip():
                continue
            current = None
            if line.startswith("["):  # attributes; ``[script(…)]`` runs the recipe with another interpreter
                script_next = script_next or line.startswith("[script")
                continue
            if _JUST_SETTING.match(line):
                self._setting(line)
                continue
            if ":=" in line:
                self._assignment(line)
                continue
            recipe = _RECIPE.match(line)
            if recipe is None:
                self.opaque(f"the justfile has a line agentctl does not read ({line.strip()[:40]!r})")
                continue
            name, params, deps = recipe.groups()
            current = []
            self.recipes[name] = (_dependencies(deps), current, _parameters(params))
            if script_next:
                self.scripts.add(name)
            script_next = False
            self.first = self.first or name

    def _setting(self, line: str) -> None:
        if re.match(r"^(set\s+(shell|windows-shell|script-interpreter|windows-powershell)|import|mod)\b", line):
            self.opaque(f"the justfile says {line.strip()!r}")
        alias = re.match(r"^alias\s+([A-Za-z_][\w-]*)\s*:=\s*([A-Za-z_][\w-]*)", line)
        if alias:
            self.aliases[alias.group(1)] = alias.group(2)
        elif line.startswith("export") and ":=" in line:
            self._assignment(line.removeprefix("export"))

    def _assignment(self, line: str) -> None:
        for command in re.findall(r"`([^`]*)`", line):  # backticks run when the justfile is read
            fx.nested(self.cmd, command, True, self.walker, "justfile")
        value = re.match(r"^\s*([A-Za-z_][\w-]*)\s*:=\s*(?:\"([^\"\\{]*)\"|'([^']*)')\s*$", line)
        if value:
            self.values[value.group(1)] = value.group(2) if value.group(2) is not None else value.group(3)

    def opaque(self, why: str) -> None:
        self.cmd.opaque = self.cmd.opaque or why

    def _value(self, expression: str, scope: dict[str, str]) -> str:
        """A recipe argument or ``{{ … }}`` interpolation: a string literal, a parameter or a variable."""
        expression = expression.strip()
        literal = re.fullmatch(r"\"([^\"\\{]*)\"|'([^']*)'", expression)
        if literal:
            return literal.group(1) if literal.group(1) is not None else literal.group(2)
        return scope.get(expression, self.values.get(expression, "${JUST_VALUE}"))

    def _bind(self, name: str, given: list[str]) -> dict[str, str]:
        scope: dict[str, str] = {}
        params = self.recipes[name][2]
        for at, (param, default) in enumerate(params):
            if param.startswith(("*", "+")):
                scope[param[1:]] = " ".join(given[at:]) if given[at:] else (default or "")
                break
            value = given[at] if at < len(given) else default
            if value is not None:
                scope[param.lstrip("$")] = value
        return scope

    def run(self, goals: list[str]) -> None:
        goals = [self.aliases.get(g, g) for g in goals]
        todo: list[tuple[str, dict[str, str]]] = []
        if goals and goals[0] not in self.recipes:
            self.opaque(f"just runs a recipe agentctl does not find ({goals[0]})")
        elif goals:
            todo.append((goals[0], self._bind(goals[0], goals[1:])))
            todo += [(g, {}) for g in goals[1:] if g in self.recipes and not self.recipes[goals[0]][2]]
        elif self.first:
            todo.append((self.first, self._bind(self.first, [])))
        seen: set[str] = set()
        while todo and len(seen) < _MAX_TASKS:
            name, scope = todo.pop(0)
            if name in seen:
                continue
            seen.add(name)
            if name not in self.recipes:
                self.opaque(f"the justfile's recipe depends on {name!r}, which it does not define")
                continue
            deps, body, _ = self.recipes[name]
            for dep, arguments in deps:
                todo.append(
                    (dep, self._bind(dep, [self._value(a, scope) for a in arguments]) if dep in self.recipes else {})
                )
            if name in self.scripts or (
                body[:1] and body[0].startswith("#!") and not re.search(r"\b(ba|z|da)?sh\b", body[0])
            ):
                self.opaque(f"the recipe {name} runs with another interpreter than sh")
                continue
            for line in body:
                fx.nested(self.cmd, self._interpolate(line.lstrip("@-"), scope), True, self.walker, f"just {name}")

    def _interpolate(self, line: str, scope: dict[str, str]) -> str:
        """``{{ name }}`` replaced by what it is known to be (an unknown value is a computed word)."""
        parts = re.split(r"\{\{([^}]*)\}\}", line)
        return "".join(self._value(part, scope) if index % 2 else part for index, part in enumerate(parts))


def _dependencies(text: str) -> list[tuple[str, list[str]]]:
    """``a (b "x" y) && c``: [(a, []), (b, ['"x"', 'y']), (c, [])]."""
    found: list[tuple[str, list[str]]] = []
    for call, plain in re.findall(r"\(([^)]*)\)|([A-Za-z_][\w-]*)", text):
        words = re.findall(r"\"[^\"]*\"|'[^']*'|[^\s]+", call) if call else [plain]
        if words and re.fullmatch(r"[A-Za-z_][\w-]*", words[0]):
            found.append((words[0], words[1:]))
    return found


def _parameters(text: str) -> list[tuple[str, str | None]]:
    """``target="release" *args``: [(target, release), (*args, None)]."""
    found: list[tuple[str, str | None]] = []
    for name, default in re.findall(r"([*+$]*[A-Za-z_][\w-]*)(?:=(\"[^\"]*\"|'[^']*'|[^\s]+))?", text):
        found.append((name, default.strip("\"'") if default else None))
    return found


def _tox(cmd: Command, args: list[str], walker: Walker) -> bool:
    """``tox [-e ENV,…]``: the commands of those environments in tox.ini."""
    if any(a in ("-l", "--listenvs", "-a", "--listenvs-all", "--version", "-h", "--help", "--showconfig")
           for a in args) or args[:1] in (["list"], ["config"]):  # fmt: skip
        return False
    envs: list[str] = []
    for i, arg in enumerate(args):
        if arg == "-e" and i + 1 < len(args):
            envs += args[i + 1].split(",")
        elif arg.startswith("-e") and len(arg) > 2:
            envs += arg[2:].split(",")
    files = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-c", "--conf")]
    found = shell_sources.texts(cmd, files[0] if files else "tox.ini", walker, "tox commands")
    if found is None:
        return False
    if not found:
        if not files and any(walker.read_file and walker.read_file(p) for p in fx.places(cmd, "tox.toml")):
            cmd.opaque = cmd.opaque or "tox runs the commands of tox.toml, which agentctl does not read"
        return False
    for text in found:
        _tox_ini(cmd, text, envs, walker)
    return False


def _tox_ini(cmd: Command, text: str, envs: list[str], walker: Walker) -> None:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        cmd.opaque = cmd.opaque or "tox.ini does not parse: which commands run is unknown"
        return
    listed = envs or [e.strip() for e in re.split(r"[,\s]+", parser.get("tox", "envlist", fallback="")) if e.strip()]
    plain = listed and all(re.fullmatch(r"[\w.-]+", e) for e in listed) and "ALL" not in listed
    sections = [s for s in parser.sections() if s == "testenv" or s.startswith("testenv:")]
    if plain:
        sections = [s for s in sections if s == "testenv" or s.split(":", 1)[1] in listed]
    for section in sections:
        for key in ("commands_pre", "commands", "commands_post"):
            value = parser.get(section, key, fallback="")
            for line in value.replace("\\\n", " ").split("\n")[:_MAX_TASKS]:
                line = re.sub(r"\{([^{}]*)\}", _tox_value, line.strip().lstrip("-").strip())
                if line:
                    fx.nested(cmd, line, True, walker, f"tox {section}")


_TOX_VALUES = {"envpython": "python", "toxinidir": ".", "tox_root": ".", "envdir": ".tox/env", "envname": "env",
               "envtmpdir": ".tox/env/tmp", "envlogdir": ".tox/env/log", "toxworkdir": ".tox", "work_dir": ".tox",
               "temp_dir": ".tox/.tmp", "envsitepackagesdir": ".tox/env/lib", "/": "/", ":": ":"}  # fmt: skip
"""tox's substitutions that name a place or its own python (anything else is only known at run time)."""


def _tox_value(match: re.Match[str]) -> str:
    body = match.group(1)
    if body == "posargs" or body.startswith("posargs:"):
        return body.partition(":")[2]
    if body.startswith("envbindir"):
        return ""
    return _TOX_VALUES.get(body, "${TOX_VALUE}")


HANDLERS: dict[str, Any] = {
    **dict.fromkeys(("npm", "pnpm", "yarn"), _npm),
    "just": _just,
    "tox": _tox,
}
