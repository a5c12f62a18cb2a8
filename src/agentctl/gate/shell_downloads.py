"""Code that comes from elsewhere: programs that run their input as code, and installs from a URL.

Called by :mod:`agentctl.gate.shell_hazards` for every unwrapped command:

* programs that read the code they run from standard input (``pwsh -``,
  ``jshell``, ``python3 -m code``, ``gdb -x /dev/stdin``, ``make -f -``,
  ``vim -es``…): what is piped in is judged like ``| sh`` (a download piped in is
  ``code_from`` that download; other unknown input makes the command opaque);
* package managers told to fetch code from a URL or a git repository rather
  than a registry (``pip install git+https://…``, ``npm install https://….tgz``,
  ``npx https://…``, ``uvx --from git+…``, ``pipx run --spec …``, ``deno run
  https://…``): installing runs the package's build and install scripts, so the
  download runs as code (``code_from`` is ``url install``).
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from agentctl.gate import inline
from agentctl.gate import shell_effects as fx

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

URL_INSTALL = "url install"
"""The ``code_from`` label of a package fetched from a URL (listed by ``tool-pipe-download-to-shell``)."""

_STDIN = ("-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")
_REPL_STDIN = frozenset({"jshell", "jrunscript", "groovysh", "irb", "tclsh", "wish", "lua", "luajit", "scala"})
_PWSH = frozenset({"pwsh", "powershell", "pwsh-preview", "powershell.exe", "pwsh.exe"})
_VIMS = frozenset({"vim", "vi", "nvim", "ex", "exim", "view", "gvim", "rvim"})

_URL = re.compile(
    r"^((git|hg|svn|bzr)\+)?(https?|ftp|git|ssh|s3|gs)://|^git@[^:]+:|^(github|gitlab|bitbucket|gist):", re.I
)
_NPM_SHORTHAND = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(#.*)?$")
_INDEX_VALUED = frozenset({
    "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host", "--registry", "--proxy",
    "--cache-dir", "--cert", "--client-cert", "--prefix", "--root", "--target", "-t", "--python", "-p",
    "--default-index", "--index", "--config-file", "--cwd", "--userconfig", "--globalconfig", "-w", "--workspace",
    "-C", "--dir", "--filter", "--constraint", "-c", "--build-constraint", "--override", "--platform", "--src",
    "--config", "--import-map", "--lock", "--location", "--seed", "--env-file",
})  # fmt: skip
"""Options whose value is an index, a directory or a setting, never the package installed."""
_PACKAGE_VALUED = frozenset({"--from", "--spec", "--with", "-e", "--editable", "--package", "-r", "--requirement"})
"""Options whose value names what is installed (``-r``: a requirements file, judged by name only)."""


_INSTALLERS = frozenset({"pip", "pip3", "uv", "uvx", "pipx", "npm", "pnpm", "yarn", "bun", "npx", "bunx", "pnpx",
                         "deno", "cargo"})  # fmt: skip
NAMES: frozenset[str] = _INSTALLERS | _REPL_STDIN | _PWSH | _VIMS | {"gdb", "lldb", "cgdb", "make", "gmake", "bmake"}
"""The programs judged here, besides Python interpreters and ``pipX.Y``."""


def judge(cmd: Command, name: str, args: list[str], walker: Walker) -> None:
    if name not in NAMES and not name.startswith("pip") and not _python(name):
        return
    if _reads_code_from_stdin(name, args):
        _stdin(cmd, name, walker)
    for path in _code_files(name, args):
        writers = fx.written_by(cmd, path, walker)
        if writers:
            cmd.code_from += [w for w in writers if w not in cmd.code_from]
            cmd.opaque = cmd.opaque or f"{name} runs {path}, written by the same command"
    if _url_install(name, args):
        if URL_INSTALL not in cmd.code_from:
            cmd.code_from.append(URL_INSTALL)
        cmd.opaque = cmd.opaque or f"{name} installs (and runs the install scripts of) code from a URL"


def _stdin(cmd: Command, name: str, walker: Walker) -> None:
    if cmd.stdin is not None:
        if name in _VIMS:
            from agentctl.gate import shell_runners

            shell_runners.ex_commands(cmd, [cmd.stdin], walker)
        elif name in _PWSH or inline.interpreter(name):
            pass  # known text on its input: judged as PowerShell (shell_entries) or as inline code (inline)
        else:
            cmd.opaque = cmd.opaque or f"{name} runs the code given on its input, which agentctl cannot judge"
        return
    fx.stdin_code(cmd, walker, lambda _text: None)


@functools.lru_cache(maxsize=256)
def _python(name: str) -> bool:
    return inline.interpreter(name) and inline.family(name) == "python"


def _code_files(name: str, args: list[str]) -> list[str]:
    """The files ``name ARGS`` runs as code (a script, a makefile, a debugger's command file)."""
    if name in _PWSH or name in _REPL_STDIN:
        lowered = [a.lower() for a in args]
        files = [args[i + 1] for i, a in enumerate(lowered[:-1]) if a in ("-file", "-f")]
        return files or [a for a in args if not a.startswith("-")][:1]
    valued = {"make": ("-f", "--file", "--makefile"), "gdb": ("-x", "--command", "-command", "-s", "--source")}
    flags = valued.get("make" if name in ("make", "gmake", "bmake") else "gdb" if name in ("gdb", "lldb") else "")
    return [args[i + 1] for i, a in enumerate(args[:-1]) if flags and a in flags and args[i + 1] not in _STDIN]


def _reads_code_from_stdin(name: str, args: list[str]) -> bool:
    """Whether ``name ARGS`` runs what arrives on its standard input as code."""
    if name in _PWSH:
        lowered = [a.lower() for a in args]
        for i, arg in enumerate(lowered):
            if arg in ("-file", "-f", "-command", "-c", "-encodedcommand", "-e", "-ec"):
                return lowered[i + 1 : i + 2] == ["-"]
        return not [a for a in args if not a.startswith("-")] or "-" in args
    if name in _REPL_STDIN:
        return not [a for a in args if not a.startswith("-")] or "-" in args
    if _python(name):
        return args[:2] in (["-m", "code"], ["-m", "pdb"]) and not args[2:]
    if name in ("gdb", "lldb", "cgdb"):
        values = [
            args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-x", "--command", "-command", "-s", "--source")
        ]
        values += [a.split("=", 1)[1] for a in args if a.startswith(("--command=", "-command="))]
        return any(v in _STDIN for v in values)
    if name in ("make", "gmake", "bmake"):
        values = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-f", "--file", "--makefile")]
        values += [a.split("=", 1)[1] for a in args if a.startswith(("--file=", "--makefile="))]
        values += [a[2:] for a in args if a.startswith("-f") and len(a) > 2]
        return any(v in _STDIN for v in values)
    if name in _VIMS:
        flags = "".join(a[1:] for a in args if re.fullmatch(r"-[a-zA-Z]+", a))
        return "s" in flags and ("e" in flags or "E" in flags or name in ("ex", "exim"))
    if name in ("deno", "bun") and args[:1] == ["run"]:
        return "-" in args[1:]
    return False


def _url_install(name: str, args: list[str]) -> bool:
    """Whether ``name ARGS`` fetches a package from a URL or repository (not a registry) to install or run it."""
    if _python(name):
        if args[:2] not in (["-m", "pip"], ["-m", "pipx"], ["-m", "uv"]):
            return False
        name, args = args[1], args[2:]
    words = _package_words(args)
    verb = words[0] if words else ""
    if re.fullmatch(r"pip(3(\.\d+)?)?", name):
        return verb in ("install", "download", "wheel") and _any_url(words[1:])
    if name == "uv":
        if verb == "pip" and words[1:2] == ["install"]:
            return _any_url(words[2:])
        if verb == "tool" and words[1:2] in (["install"], ["run"]):
            return _any_url(words[2:3]) or _any_url(_values(args))
        return verb in ("add", "run") and _any_url(_values(args) + (words[1:] if verb == "add" else []))
    if name == "uvx":
        return _any_url(words[:1]) or _any_url(_values(args))
    if name == "pipx":
        return verb in ("install", "run", "inject", "upgrade") and (_any_url(words[1:]) or _any_url(_values(args)))
    if name in ("npm", "pnpm", "yarn", "bun"):
        installs = ("install", "i", "add", "exec", "x", "dlx", "create", "isntall", "in", "ins", "inst", "insta")
        return verb in installs and _any_url(words[1:], npm=True)
    if name in ("npx", "bunx", "pnpx"):
        return _any_url(words[:1], npm=True) or _any_url(_values(args), npm=True)
    if name == "deno":
        return verb in ("run", "install", "compile", "x") and _any_url(words[1:2])
    if name == "cargo":
        return verb == "install" and any(a in ("--git",) or a.startswith("--git=") for a in args)
    return False


def _package_words(args: list[str]) -> list[str]:
    """The positional words (flags and the values of index/setting options skipped)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out += args[i + 1 :]
            break
        if arg in _INDEX_VALUED or arg in _PACKAGE_VALUED:
            i += 2
            continue
        if not arg.startswith("-"):
            out.append(arg)
        i += 1
    return out


def _values(args: list[str]) -> list[str]:
    """Values of the options that name what is installed (``--from X``, ``--spec=X``, ``-e X``)."""
    out = [args[i + 1] for i, a in enumerate(args[:-1]) if a in _PACKAGE_VALUED and a not in ("-r", "--requirement")]
    return out + [a.split("=", 1)[1] for a in args if a.split("=", 1)[0] in _PACKAGE_VALUED and "=" in a]


def _any_url(words: list[str], npm: bool = False) -> bool:
    for word in words:
        if _URL.search(word) or ("@" in word and _URL.search(word.split("@", 1)[1].strip())):
            return True  # ``pkg @ git+https://…``, ``name@https://….tgz``
        if npm and _NPM_SHORTHAND.match(word) and not word.startswith("@"):
            return True  # ``npm install user/repo``: GitHub
    return False
