"""Inline interpreter code (``python -c``, ``perl -e``, ``node -e``…): harmless, or opaque?

Not every ``python -c`` is a prompt: the code is judged from what it shows.
Python is parsed with :mod:`ast`; code that imports a module able to run
commands or touch files (``os``, ``subprocess``, ``shutil``, ``pathlib``…),
calls ``exec``/``eval``/``__import__``, or opens a file with a computed name or
for writing is opaque. ``open('x')`` with a literal name is a read of ``x``,
``open('x', 'w')`` a write. Other languages are judged by the calls they show.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field

_PYTHON = re.compile(r"^(python|pypy)(\d+(\.\d+)?)?$")
_OTHERS = {"perl", "ruby", "node", "nodejs", "php", "deno", "bun", "lua", "Rscript", "tclsh", "osascript",
           "jshell", "groovy", "julia", "wish"}  # fmt: skip
_CODE_FLAGS = {
    "python": ("-c",),
    "perl": ("-e", "-E"),
    "ruby": ("-e",),
    "node": ("-e", "--eval", "-p", "--print"),
    "php": ("-r",),
    "bun": ("-e", "--eval", "-p", "--print"),
    "lua": ("-e",),
    "Rscript": ("-e",),
    "osascript": ("-e",),
    "groovy": ("-e",),
    "julia": ("-e", "--eval", "-E", "--print"),
}
_RISKY_MODULES = {
    "os", "subprocess", "shutil", "pty", "pathlib", "socket", "ctypes", "importlib", "urllib", "http",
    "requests", "httpx", "multiprocessing", "signal", "sqlite3", "io", "codecs", "fileinput", "builtins",
    "runpy", "code", "posix", "asyncio", "zipfile", "tarfile", "webbrowser", "ftplib", "smtplib", "paramiko",
    "boto3", "botocore", "kubernetes", "mmap", "fcntl", "tempfile", "commands",
    "distutils", "setuptools", "pip", "cffi", "gc", "inspect", "types", "marshal", "pickle", "shelve", "dbm",
}  # fmt: skip
_SAFE_SYS = {"argv", "version", "version_info", "stdin", "stdout", "stderr", "path", "platform", "maxsize",
             "executable", "prefix", "exit", "getrecursionlimit", "byteorder", "implementation"}  # fmt: skip
_RISKY_CALLS = {"exec", "eval", "compile", "__import__", "getattr", "setattr", "delattr", "globals", "locals",
                "vars", "breakpoint", "open", "input", "memoryview"}  # fmt: skip
_OTHER_RISK = re.compile(
    r"\b(system|exec\w*|spawn\w*|popen|fork|child_process|require|import|unlink\w*|rename\w*|rmdir\w*|mkdir\w*|"
    r"chmod\w*|chown\w*|symlink\w*|write\w*|append\w*|truncate\w*|open\w*|eval|Function|fs|File|FileUtils|"
    r"IO|Dir|Kernel|Process|Deno|Bun|shell_exec|passthru|proc_open|curl_\w+|fopen|file_put_contents|"
    r"do|qx|glob|Socket|LWP|HTTP|use|load|dofile|loadstring|os|io|do shell script|Runtime|ProcessBuilder)\b|`|"
    r"\bsyscall\b"
)


def interpreter(name: str) -> bool:
    return bool(_PYTHON.match(name)) or name in _OTHERS


def family(name: str) -> str:
    return "python" if _PYTHON.match(name) else "node" if name == "nodejs" else name


def split_args(name: str, args: list[str]) -> tuple[list[str] | None, str | None, list[str]]:
    """(inline code parts, script path, the remaining arguments) of an interpreter's argv."""
    lang = family(name)
    flags = _CODE_FLAGS.get(lang, ())
    code: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if lang == "deno" and arg == "eval" and i + 1 < len(args):
            return [args[i + 1]], None, args[i + 2 :]
        if arg in flags and i + 1 < len(args):
            code.append(args[i + 1])
            i += 2
            if lang == "python":
                return code, None, args[i:]
            continue
        if lang == "python" and re.fullmatch(r"-[A-Za-z]*c", arg) and i + 1 < len(args):
            return [args[i + 1]], None, args[i + 2 :]
        if lang == "perl" and re.fullmatch(r"-[a-zA-Z0-9.]*[eE]", arg) and i + 1 < len(args):
            code.append(args[i + 1])
            i += 2
            continue
        if lang == "python" and arg == "-m":
            return None, None, args[i:]
        if arg == "--" or not arg.startswith("-") or arg == "-":
            break
        i += 1
    if code:
        return code, None, args[i:]
    script = args[i] if i < len(args) and args[i] != "--" else (args[i + 1] if i + 1 < len(args) else None)
    if script is None:
        return None, None, []
    return None, script, args[args.index(script) + 1 :]


@dataclass
class Verdict:
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    opaque: str = ""


def judge(name: str, code: str) -> Verdict:
    """What inline code shows it does (a fresh value: callers may keep it)."""
    cached = _judge(name, code)
    return Verdict(list(cached.reads), list(cached.writes), cached.opaque)


@functools.lru_cache(maxsize=512)
def _judge(name: str, code: str) -> Verdict:
    """Pure in (name, code), and scripts repeat the same one-liners: parse each once."""
    if family(name) == "python":
        return _python(code)
    if family(name) in ("node", "bun", "deno"):
        reads = re.findall(_SAFE_REQUIRE, code)
        code = re.sub(_SAFE_REQUIRE, "0", code)
    else:
        reads = []
    match = _OTHER_RISK.search(code)
    if match:
        return Verdict(opaque=f"{name} inline code that may run commands or write files ({match.group(0)})")
    return Verdict(reads=[r[1] for r in reads if r[1].startswith(".")])


_SAFE_REQUIRE = re.compile(
    r"""\brequire\(\s*(['"])(\.{1,2}/[\w./-]+\.json|path|util|url|assert|querystring|semver)\1\s*\)"""
)
"""``require()`` of a JSON file (a read) or a module that cannot run commands or write files."""


@functools.lru_cache(maxsize=256)
def parse_python(code: str) -> ast.Module | None:
    """``code`` parsed (None when it does not parse). Cached: a script repeats the same one-liners, and the
    callers only read the tree."""
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


@functools.lru_cache(maxsize=256)
def python_imports(code: str) -> tuple[str, ...]:
    """The absolute module names ``code`` imports, first seen first (``from pkg import mod``: ``pkg`` and
    ``pkg.mod``, as mod may be a module of the package); empty when it does not parse."""
    tree = parse_python(code)
    names: list[str] = []
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names if a.name != "*"]
    return tuple(dict.fromkeys(names))


def _python(code: str) -> Verdict:
    verdict = Verdict()
    tree = parse_python(code)
    if tree is None:
        verdict.opaque = "python inline code that does not parse"
        return verdict
    safe_os = "os" in code and _safe_os_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module in ("os", "os.path") and safe_os:
                    continue
                if module.split(".")[0] in _RISKY_MODULES and module not in ("importlib.metadata", "sys"):
                    verdict.opaque = verdict.opaque or f"python inline code imports {module}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sys":
            if node.attr not in _SAFE_SYS:
                verdict.opaque = verdict.opaque or f"python inline code uses sys.{node.attr}"
        elif isinstance(node, ast.Call):
            _python_call(node, verdict)
        elif isinstance(node, ast.Name) and node.id in ("__builtins__", "__loader__", "__spec__"):
            verdict.opaque = verdict.opaque or f"python inline code uses {node.id}"
    return verdict


_SAFE_OS = frozenset({
    "getcwd", "listdir", "sep", "linesep", "pathsep", "name", "cpu_count", "getpid", "getppid", "getuid",
    "getgid", "geteuid", "getlogin", "uname", "curdir", "pardir", "extsep", "stat", "lstat", "access", "scandir",
    "walk", "fspath", "fsdecode", "fsencode", "get_terminal_size", "umask_", "path", "R_OK", "W_OK", "X_OK", "F_OK",
})  # fmt: skip
_SAFE_OS_PATH = frozenset({
    "join", "exists", "isfile", "isdir", "islink", "isabs", "basename", "dirname", "abspath", "realpath",
    "normpath", "splitext", "split", "getsize", "getmtime", "getctime", "getatime", "expanduser", "relpath",
    "commonpath", "commonprefix", "sep", "samefile", "lexists", "normcase", "splitdrive",
})  # fmt: skip


def _safe_os_names(tree: ast.AST) -> bool:
    """``import os`` whose every use only looks (``os.getcwd()``, ``os.listdir()``, ``os.path.join``)."""
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name in ("os", "os.path")}
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "os.path"):
            allowed = _SAFE_OS if node.module == "os" else _SAFE_OS_PATH
            if any(a.name not in allowed for a in node.names):
                return False
    if not aliases:
        return any(isinstance(n, ast.ImportFrom) and n.module in ("os", "os.path") for n in ast.walk(tree))
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name) or node.id not in aliases:
            continue
        parent = parents.get(id(node))
        if not isinstance(parent, ast.Attribute) or parent.attr not in _SAFE_OS:
            return False
        if parent.attr == "path":
            grand = parents.get(id(parent))
            if not isinstance(grand, ast.Attribute) or grand.attr not in _SAFE_OS_PATH:
                return False
    return True


_RUNNERS = frozenset({
    "system", "popen", "run", "call", "check_call", "check_output", "Popen", "getoutput", "getstatusoutput",
    "execv", "execvp", "execvpe", "execl", "execlp", "execle", "execve", "spawnv", "spawnvp", "spawnl", "spawnlp",
    "spawn", "startfile", "posix_spawn", "posix_spawnp",
})  # fmt: skip


def python_commands(code: str) -> tuple[list[str], str]:
    """(shell commands a Python script runs with literal text, why it is opaque or "")."""
    tree = parse_python(code)
    if tree is None:
        return [], "the file does not parse as Python"
    commands: list[str] = []
    reason = ""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        if name not in _RUNNERS or owner not in ("os", "subprocess", "pty", "sp", ""):
            continue
        if name == "run" and owner == "":
            continue
        first = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "args"), None)
        words = _literal_command(first)
        if words is None:
            reason = reason or f"runs a command computed at run time (line {node.lineno})"
        else:
            commands.append(words)
    return commands, reason


def _literal_command(node: ast.expr | None) -> str | None:
    import shlex

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        return shlex.join(items) if len(items) == len(node.elts) else None
    return None


def _python_call(node: ast.Call, verdict: Verdict) -> None:
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name == "open" and isinstance(func, ast.Name):
        args = [*node.args, *(k.value for k in node.keywords if k.arg in ("file", "mode"))]
        literal = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in args]
        if not literal or literal[0] is None or (len(literal) > 1 and literal[1] is None):
            verdict.opaque = verdict.opaque or "python inline code opens a file whose name or mode is computed"
            return
        mode = literal[1] if len(literal) > 1 else "r"
        (verdict.writes if set(mode or "r") & set("wax+") else verdict.reads).append(str(literal[0]))
        return
    if name in _RISKY_CALLS and isinstance(func, ast.Name):
        verdict.opaque = verdict.opaque or f"python inline code calls {name}()"
    elif name in ("write_text", "write_bytes", "unlink", "rmdir", "rename", "mkdir", "touch", "chmod", "system",
                  "popen", "symlink_to", "hardlink_to", "rmtree", "removedirs", "spawnv", "execv"):  # fmt: skip
        verdict.opaque = verdict.opaque or f"python inline code calls .{name}()"
