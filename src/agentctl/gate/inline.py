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
import re
from dataclasses import dataclass, field

_PYTHON = re.compile(r"^(python|pypy)(\d+(\.\d+)?)?$")
_OTHERS = {"perl", "ruby", "node", "nodejs", "php", "deno", "bun", "lua", "Rscript", "tclsh", "osascript"}
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
    r"do|qx|glob|Socket|LWP|HTTP|use|load|dofile|loadstring|os|io|do shell script)\b|`|\bsyscall\b"
)


def interpreter(name: str) -> bool:
    return bool(_PYTHON.match(name)) or name in _OTHERS


def _family(name: str) -> str:
    return "python" if _PYTHON.match(name) else "node" if name == "nodejs" else name


def split_args(name: str, args: list[str]) -> tuple[list[str] | None, str | None, list[str]]:
    """(inline code parts, script path, the remaining arguments) of an interpreter's argv."""
    family = _family(name)
    flags = _CODE_FLAGS.get(family, ())
    code: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if family == "deno" and arg == "eval" and i + 1 < len(args):
            return [args[i + 1]], None, args[i + 2 :]
        if arg in flags and i + 1 < len(args):
            code.append(args[i + 1])
            i += 2
            if family == "python":
                return code, None, args[i:]
            continue
        if family == "python" and re.fullmatch(r"-[A-Za-z]*c", arg) and i + 1 < len(args):
            return [args[i + 1]], None, args[i + 2 :]
        if family == "perl" and re.fullmatch(r"-[a-zA-Z0-9.]*[eE]", arg) and i + 1 < len(args):
            code.append(args[i + 1])
            i += 2
            continue
        if family == "python" and arg == "-m":
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
    if _family(name) == "python":
        return _python(code)
    match = _OTHER_RISK.search(code)
    if match:
        return Verdict(opaque=f"{name} inline code that may run commands or write files ({match.group(0)})")
    return Verdict()


def _python(code: str) -> Verdict:
    verdict = Verdict()
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        verdict.opaque = "python inline code that does not parse"
        return verdict
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
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
