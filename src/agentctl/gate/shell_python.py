"""Python's entry points: which Python files a ``python``/``pytest``/``coverage``/``ipython`` command runs.

Called by :mod:`agentctl.gate.shell_effects` for every Python interpreter (and
through :func:`agentctl.gate.shell_runners.run` for the tools): the file that
runs is found the way Python finds it, and judged by what it shows (the shell
commands it runs, see :func:`agentctl.gate.inline.python_commands`):

* interpreter options with a value (``-X importtime``, ``-W error``) are skipped;
* ``-m MODULE``: a module of the repository (the working directory, then
  ``$PYTHONPATH``) is a script; the standard runners (``trace``, ``runpy``,
  ``pdb``, ``cProfile``, ``profile``, ``coverage run``, ``unittest``,
  ``pytest``, ``IPython``, ``timeit``) run the script, module or code they are given;
* ``-c CODE``: the repository modules it imports run too;
* ``sitecustomize.py``/``usercustomize.py`` on ``$PYTHONPATH`` run before anything;
* ``pytest``: ``conftest.py`` and the test files it is given, and Python files
  written by the same command line.

A file written earlier in the same command line is judged by what was written
(see :mod:`agentctl.gate.shell_sources`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentctl.gate import inline, shell_sources
from agentctl.gate import shell_effects as fx

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_VALUED = frozenset({"-X", "-W", "--check-hash-based-pycs", "-Q"})
_MAX_IMPORTS = 16
_HOOKS = ("sitecustomize.py", "usercustomize.py")


def judge(cmd: Command, name: str, args: list[str], walker: Walker) -> None:
    """``python [options] (-c CODE | -m MODULE | FILE | -) [args]``."""
    _site_hooks(cmd, walker)
    i = 0
    while i < len(args):
        arg = args[i]
        if re.fullmatch(r"-[A-Za-z]*c", arg) and i + 1 < len(args):
            _code(cmd, name, args[i + 1], walker)
            return
        if (arg == "-m" and i + 1 < len(args)) or (arg.startswith("-m") and len(arg) > 2):
            module, rest = (args[i + 1], args[i + 2 :]) if arg == "-m" else (arg[2:], args[i + 1 :])
            module_run(cmd, module, rest, walker)
            return
        if arg in _VALUED:
            i += 2
            continue
        if arg == "--":
            i += 1
            break
        if arg == "-" or not arg.startswith("-"):
            break
        i += 1
    if i >= len(args) or args[i] in fx.STDIN_PATHS:
        fx.stdin_code(cmd, walker, lambda text: fx.judge_code(cmd, name, text))
        return
    path, rest = args[i], args[i + 1 :]
    cmd.reads.append(path)
    cmd.reads += [a for a in rest if not a.startswith("-")]  # a script's file arguments
    script(cmd, path, walker)


def _literal(cmd: Command, word: str) -> bool:
    return fx.literal_word(cmd, word)


def _code(cmd: Command, name: str, code: str, walker: Walker) -> None:
    if not _literal(cmd, code):
        cmd.opaque = cmd.opaque or f"{name} runs inline code computed at run time"
        return
    fx.judge_code(cmd, name, code)
    _imports(cmd, code, _path(cmd, walker, ""), walker, 0)


def script(cmd: Command, path: str, walker: Walker, depth: int = 0, strict: bool = True) -> None:
    """A Python file runs: the shell commands it shows are judged, and the repository modules it imports.
    ``strict``: a command it computes at run time makes ``cmd`` opaque (a test file collected by pytest only
    has what it shows judged)."""
    if not _literal(cmd, path):
        cmd.opaque = cmd.opaque or f"{cmd.name} runs a Python file whose path is computed at run time"
        return
    if shell_sources.GLOB.search(path):  # ``python3 scripts/a*.py``: the files it matches
        for match in shell_sources.expand(cmd, path, walker):
            script(cmd, match, walker, depth, strict)
        return
    found = shell_sources.texts(cmd, path, walker, "Python code")
    for text in found or []:
        commands, reason = inline.python_commands(text)
        if reason and (strict or "does not parse" in reason):
            cmd.opaque = cmd.opaque or f"{path}: {reason}"
        for command in commands:
            fx.nested(cmd, command, True, walker, f"{cmd.name} {path}")
        if depth < 2:
            _imports(cmd, text, _path(cmd, walker, posixpath.dirname(path)), walker, depth + 1, strict=False)


def _pythonpath(cmd: Command, walker: Walker) -> list[str]:
    value = cmd.assigned.get("PYTHONPATH", walker.exported.get("PYTHONPATH"))
    return [p for p in (value or "").split(":") if p and "$" not in p]


def _path(cmd: Command, walker: Walker, first: str) -> list[str]:
    """Where Python looks for modules: the script's directory (or the working directory), then $PYTHONPATH."""
    return list(dict.fromkeys([first or ".", *_pythonpath(cmd, walker)]))


def _site_hooks(cmd: Command, walker: Walker) -> None:
    """``sitecustomize``/``usercustomize`` on $PYTHONPATH are imported by every Python start; so are the ones
    (and the ``.pth`` files, whose ``import`` lines run) that the same command line writes anywhere, such as
    into a virtual environment's site-packages."""
    hooks = [posixpath.join(d, hook) for d in _pythonpath(cmd, walker) for hook in _HOOKS]
    written = shell_sources.written_files(cmd, walker, *_HOOKS, ".pth")  # one pass over the earlier commands
    for path in dict.fromkeys(hooks + [p for p in written if posixpath.basename(p) in _HOOKS]):
        if shell_sources.present(cmd, path, walker):
            script(cmd, path, walker)
    for path in (p for p in written if p.endswith(".pth")):
        for text in shell_sources.texts(cmd, path, walker, "a .pth file") or []:
            code = "\n".join(line for line in text.splitlines() if line.startswith(("import ", "import\t")))
            if code:
                _code(cmd, "python", code, walker)


def _module_files(cmd: Command, module: str, dirs: list[str], walker: Walker, main: bool = False) -> list[str]:
    """The repository files ``import module`` runs (its packages' ``__init__.py`` too; ``main``: ``-m module``
    also runs a package's ``__main__.py``), from the first directory on the path that has it."""
    if not re.fullmatch(r"[A-Za-z_][\w.]*", module):
        return []
    parts = module.split(".")
    for directory in dirs:
        base = posixpath.normpath(posixpath.join(directory, *parts))
        if shell_sources.present(cmd, f"{base}.py", walker):
            files = [f"{base}.py"]
        elif shell_sources.present(cmd, f"{base}/__init__.py", walker) or (
            main and shell_sources.present(cmd, f"{base}/__main__.py", walker)
        ):
            files = [f"{base}/__init__.py", *([f"{base}/__main__.py"] if main else [])]
        else:
            continue
        packages = [
            posixpath.normpath(posixpath.join(directory, *parts[:n], "__init__.py")) for n in range(1, len(parts))
        ]
        return [f for f in [*packages, *files] if shell_sources.present(cmd, f, walker)]
    return []


def _imports(cmd: Command, code: str, dirs: list[str], walker: Walker, depth: int, strict: bool = True) -> None:
    """Repository modules ``code`` imports run their top level: judged as scripts (``strict``: as the entry
    point, see :func:`script`; a module a script imports only has what it shows judged)."""
    for module in inline.python_imports(code)[:_MAX_IMPORTS]:
        for path in _module_files(cmd, module, dirs, walker):
            script(cmd, path, walker, depth, strict)


def module_run(cmd: Command, module: str, rest: list[str], walker: Walker) -> None:
    """``python -m MODULE args``: a runner module runs its target; a repository module is a script."""
    cmd.reads += [a for a in rest if not a.startswith("-")]  # ``python -m json.tool FILE``
    if not _literal(cmd, module):
        cmd.opaque = cmd.opaque or "python -m runs a module computed at run time"
        return
    runner = _RUNNERS.get(module)
    if runner is not None:
        runner(cmd, rest, walker)
        return
    for path in _module_files(cmd, module, _path(cmd, walker, ""), walker, main=True):
        script(cmd, path, walker)


def _target(cmd: Command, words: list[str], valued: frozenset[str], walker: Walker, module_flag: str = "-m") -> None:
    """A runner's target: ``-m MODULE`` or the first positional word (a script)."""
    i = 0
    while i < len(words):
        word = words[i]
        if word == module_flag and i + 1 < len(words):
            module_run(cmd, words[i + 1], words[i + 2 :], walker)
            return
        if word == "--":
            i += 1
            break
        if word.startswith("-") and word != "-":
            i += 2 if word in valued else 1
            continue
        break
    if i < len(words):
        _path_or_module(cmd, words[i], walker)


def _path_or_module(cmd: Command, word: str, walker: Walker) -> None:
    if "/" in word or word.endswith(".py"):
        script(cmd, word, walker)
    else:
        module_run(cmd, word, [], walker)


def _trace(cmd: Command, rest: list[str], walker: Walker) -> None:
    valued = frozenset({"-f", "--file", "-C", "--coverdir", "--ignore-module", "--ignore-dir"})
    module = "--module" in rest or any(re.fullmatch(r"-[a-zA-Z]*m[a-zA-Z]*", w) for w in rest)
    words = [w for w in rest if w != "--module" and not re.fullmatch(r"-[a-zA-Z]*m[a-zA-Z]*", w)]
    _target(cmd, words, valued, walker, module_flag="--no-such-flag")
    if module:
        cmd.opaque = cmd.opaque or "python -m trace --module runs a module agentctl does not resolve"


def _runpy(cmd: Command, rest: list[str], walker: Walker) -> None:
    if rest:
        _path_or_module(cmd, rest[0], walker)


def _pdb(cmd: Command, rest: list[str], walker: Walker) -> None:
    _target(cmd, rest, frozenset({"-c", "--command"}), walker)


def _profile(cmd: Command, rest: list[str], walker: Walker) -> None:
    _target(cmd, rest, frozenset({"-o", "--outfile", "-s", "--sort"}), walker)


_COVERAGE_VALUED = frozenset({"--rcfile", "--source", "--include", "--omit", "--context", "--data-file",
                              "--concurrency", "--debug"})  # fmt: skip


def coverage(cmd: Command, args: list[str], walker: Walker) -> bool:
    """``coverage run [options] (FILE | -m MODULE) args``."""
    if "run" not in args:
        return False
    at = args.index("run")
    if any(not a.startswith("-") for a in args[:at]):
        return False
    _target(cmd, args[at + 1 :], _COVERAGE_VALUED, walker)
    return False


def _unittest(cmd: Command, rest: list[str], walker: Walker) -> None:
    for word in rest:
        if not word.startswith("-") and word not in ("discover",):
            _path_or_module(cmd, word, walker)


def _timeit(cmd: Command, rest: list[str], walker: Walker) -> None:
    """``python -m timeit [-s SETUP] STATEMENT…``: the statements and the setup are Python code."""
    valued = {"-n", "--number", "-r", "--repeat", "-u", "--unit"}
    i = 0
    while i < len(rest):
        if rest[i] in ("-s", "--setup") and i + 1 < len(rest):
            _code(cmd, "python", rest[i + 1], walker)
            i += 2
        elif rest[i] in valued:
            i += 2
        elif rest[i].startswith("-"):
            i += 1
        else:
            _code(cmd, "python", rest[i], walker)
            i += 1


_IPYTHON_VALUED = frozenset({"--profile", "--profile-dir", "--ipython-dir", "--config", "--log-level",
                             "--colors", "--logfile", "--logappend", "--gui", "--pylab", "--matplotlib"})  # fmt: skip


def ipython(cmd: Command, args: list[str], walker: Walker) -> bool:
    """``ipython [options] (-c CODE | -m MODULE | FILE)``."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-c" and i + 1 < len(args):
            _code(cmd, "python", args[i + 1], walker)
            return True
        if arg == "-m" and i + 1 < len(args):
            module_run(cmd, args[i + 1], args[i + 2 :], walker)
            return True
        if arg == "--":
            i += 1
            break
        if arg.startswith("-"):
            i += 2 if arg.split("=", 1)[0] in _IPYTHON_VALUED and "=" not in arg else 1
            continue
        break
    if i < len(args):
        cmd.reads.append(args[i])
        script(cmd, args[i], walker)
    return True


_PYTEST_VALUED = frozenset({
    "-k", "-m", "-p", "-o", "-c", "-W", "--rootdir", "--junitxml", "--junit-xml", "--tb", "--maxfail",
    "--confcutdir", "--basetemp", "--deselect", "--ignore", "--ignore-glob", "--cov", "--cov-report",
    "--cov-config", "-n", "--numprocesses", "--dist", "--durations", "--log-level", "--log-file", "--capture",
    "--import-mode", "--override-ini", "--config-file", "-r", "--color", "--timeout",
    "--html", "--reruns", "--randomly-seed", "--cache-dir", "--log-cli-level", "--log-format", "--durations-min",
})  # fmt: skip


def pytest(cmd: Command, args: list[str], walker: Walker) -> bool:
    """pytest imports ``conftest.py`` files, the test files it is given and the plugins named with ``-p``."""
    targets: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        key = arg.split("=", 1)[0]
        if key == "-p" and i + 1 < len(args) and not args[i + 1].startswith("no:"):
            module_run(cmd, args[i + 1], [], walker)
        if arg.startswith("-"):
            i += 2 if key in _PYTEST_VALUED and "=" not in arg else 1
            continue
        targets.append(arg.split("::", 1)[0])
        i += 1
    chains: set[str] = set()  # directories whose conftest.py is loaded: each target's, and those above it
    trees: list[str] = []  # directories collected: the conftest.py files anywhere below them are loaded too
    for target in targets or ["."]:
        if target.endswith(".py"):
            script(cmd, target, walker, strict=False)
            target = posixpath.dirname(target) or "."
        else:
            trees.append(target)
        while True:
            chains.add(posixpath.normpath(target))
            if target in (".", "", "/") or target.startswith(".."):
                break
            target = posixpath.dirname(target.rstrip("/")) or "."
    found = [posixpath.join(folder, "conftest.py") for folder in sorted(chains)]
    finder = getattr(walker.read_file, "find", None)
    for tree in trees:
        for place in fx.places(cmd, tree):
            below = finder(place, "conftest.py") if finder is not None else []
            if below is None:
                cmd.opaque = cmd.opaque or f"pytest collects {tree}, too large a tree to find its conftest.py files"
                return True
            found += [posixpath.relpath(p, cmd.cwd) if cmd.cwd else p for p in below]
    for conftest in dict.fromkeys(posixpath.normpath(f) for f in found):
        if shell_sources.present(cmd, conftest, walker):
            script(cmd, conftest, walker, strict=False)
    for written in shell_sources.written_files(cmd, walker, ".py"):  # collected by the run: judged as written
        script(cmd, written, walker, strict=False)
    return True


_RUNNERS: dict[str, Callable[[Command, list[str], Walker], object]] = {
    "trace": _trace,
    "runpy": _runpy,
    "pdb": _pdb,
    "cProfile": _profile,
    "profile": _profile,
    "coverage": lambda cmd, rest, walker: coverage(cmd, rest, walker),
    "unittest": _unittest,
    "timeit": _timeit,
    "IPython": lambda cmd, rest, walker: ipython(cmd, rest, walker),
    "pytest": lambda cmd, rest, walker: pytest(cmd, rest, walker),
    "py.test": lambda cmd, rest, walker: pytest(cmd, rest, walker),
}
"""Standard modules whose job is to run another script, module or code."""

HANDLERS: dict[str, Any] = {
    "coverage": coverage,
    "ipython": ipython,
    "ipython3": ipython,
    "pytest": pytest,
    "py.test": pytest,
}
"""The tools among them that are commands of their own."""
