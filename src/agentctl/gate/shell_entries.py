"""Other ways into a shell: foreign shells, the shell's own history and hash table, directories of scripts.

Called through :func:`agentctl.gate.shell_runners.run`:

* ``pwsh -c TEXT`` / ``powershell -Command TEXT`` run TEXT (judged as shell text: a simple command reads the
  same; what does not parse is opaque); a script file or an encoded command is opaque; ``tcsh``/``csh``
  are shells (:data:`agentctl.gate.shell_effects.SHELLS`);
* ``expect -c TEXT`` / ``expect FILE``: Tcl whose ``spawn``/``exec``/``system`` run programs: opaque when it shows one;
* ``hash -p PATH NAME`` makes NAME run PATH (an alias); ``fc`` re-runs commands from the history and
  ``enable -f`` loads a builtin from a library (opaque);
* ``run-parts DIR`` runs every file in DIR: each is judged as the script it is.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from agentctl.gate import shell_effects as fx
from agentctl.gate import shell_wrappers

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_PWSH_TEXT = re.compile(r"(?i)^-(c|command)$")
_PWSH_OTHER = re.compile(r"(?i)^-(f|file|e|ec|encodedcommand|encodedarguments|ea)$")
_PWSH_VALUED = re.compile(
    r"(?i)^-(executionpolicy|ex|ep|workingdirectory|wd|wo|inputformat|if|in|outputformat|of|o|"
    r"configurationname|config|settingsfile|settings|windowstyle|w|custompipename|version|v)$"
)


def _pwsh(cmd: Command, args: list[str], walker: Walker) -> None:
    """PowerShell: ``-Command`` takes the rest of the line as the command text."""
    i = 0
    while i < len(args):
        arg = args[i]
        if _PWSH_TEXT.match(arg) and args[i + 1 :] not in ([], ["-"]):
            words = args[i + 1 :]
            literal = all(fx.literal_word(cmd, w) for w in words)
            fx.nested(cmd, " ".join(words), literal, walker, f"{cmd.name} -Command")
            return
        if _PWSH_TEXT.match(arg):
            break  # ``-Command -``: the command text is read from stdin
        if _PWSH_OTHER.match(arg) or not arg.startswith("-"):
            cmd.opaque = cmd.opaque or f"{cmd.name} runs PowerShell code agentctl cannot see through ({arg})"
            return
        i += 2 if _PWSH_VALUED.match(arg) else 1
    fx.stdin_code(cmd, walker, lambda text: fx.nested(cmd, text, True, walker, f"{cmd.name} <stdin>"))


_TCL_RUNS = re.compile(r"(?<![\w$])(spawn|exec|system|open\s*\"?\||source|eval|interact|send)\b")


def _expect(cmd: Command, args: list[str], walker: Walker) -> None:
    """expect: Tcl that drives programs. Shown code that spawns or executes anything is opaque."""
    texts: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-c" and i + 1 < len(args):
            if not fx.literal_word(cmd, args[i + 1]):
                cmd.opaque = cmd.opaque or "expect runs Tcl computed at run time"
                return
            texts.append(args[i + 1])
            i += 2
            continue
        if arg in ("-v", "-version", "--version"):
            return
        if arg == "-f" and i + 1 < len(args):
            i += 1
            arg = args[i]
        if arg.startswith("-") and arg not in ("-", "--"):
            i += 1
            continue
        if arg == "--":
            i += 1
        if i < len(args):
            path = args[i]
            if path == "-" or not fx.literal_word(cmd, path):
                cmd.opaque = cmd.opaque or "expect runs a script agentctl cannot read"
                return
            cmd.reads.append(path)
            found = fx.read_code(cmd, path, walker)
            if not found and not cmd.opaque:
                cmd.opaque = f"expect runs {path}, which agentctl cannot read"
            texts += found
        break
    if not texts and cmd.stdin is not None:
        texts.append(cmd.stdin)
    elif not texts and cmd.stdin_names:
        cmd.opaque = cmd.opaque or f"expect runs Tcl read from a pipe ({' | '.join(cmd.stdin_names)})"
    for text in texts:
        runs = _TCL_RUNS.search(text)
        if runs:
            cmd.opaque = cmd.opaque or f"expect runs programs from Tcl agentctl cannot see through ({runs.group(1)})"


def _hash(cmd: Command, args: list[str], walker: Walker) -> bool:
    """``hash -p /usr/bin/terraform tf``: ``tf`` now runs terraform, as an alias would."""
    for i, arg in enumerate(args[:-2]):
        if arg == "-p":
            path, names = args[i + 1], [a for a in args[i + 2 :] if not a.startswith("-")]
            if not all(fx.literal_word(cmd, w) for w in (path, *names)):
                cmd.opaque = cmd.opaque or "hash -p maps a name to a program computed at run time"
                return True
            walker.aliases.update(dict.fromkeys(names, path))
    return True


def _fc(cmd: Command, args: list[str], walker: Walker) -> bool:
    """``fc -s`` / ``fc -e ed`` re-run commands from the shell's history; ``fc -l`` only lists them."""
    if not any(re.fullmatch(r"-[A-Za-z]*l[A-Za-z]*", a) for a in args):
        cmd.opaque = cmd.opaque or "fc re-runs commands from the shell's history, which agentctl cannot see"
    return True


def _enable(cmd: Command, args: list[str], walker: Walker) -> bool:
    """``enable -f LIB NAME`` loads a builtin from a shared object: what NAME does is unknown."""
    if any(re.fullmatch(r"-[a-zA-Z]*f[a-zA-Z]*", a) for a in args):
        cmd.opaque = cmd.opaque or "enable -f loads a shell builtin from a shared library"
    return True


_RUN_PARTS_VALUED = frozenset({"-u", "--umask", "-a", "--arg", "--regex"})


def _run_parts(cmd: Command, args: list[str], walker: Walker) -> bool:
    """``run-parts DIR`` runs each file in DIR (``--test``/``--list`` only print their names)."""
    if any(a in ("--test", "--list", "-V", "--version", "-h", "--help") for a in args):
        return True
    i, directory = 0, None
    while i < len(args):
        key = args[i].split("=", 1)[0]
        if args[i].startswith("-"):
            i += 2 if key in _RUN_PARTS_VALUED and "=" not in args[i] else 1
            continue
        directory = args[i]
        break
    if directory is None:
        return True
    lister = getattr(walker.read_file, "listdir", None)
    if not fx.literal_word(cmd, directory) or lister is None:
        cmd.opaque = cmd.opaque or f"run-parts runs the files of {directory}, which agentctl cannot list"
        return True
    for place in fx.places(cmd, directory):
        names = lister(place)
        if names is None:
            if fx.unreadable(walker, place):
                cmd.opaque = cmd.opaque or f"run-parts runs the files of {directory}, which agentctl cannot list"
            continue
        for name in names:
            fx.script(cmd, f"{directory.rstrip('/')}/{name}", True, walker)
    return True


def terraform_env(cmd: Command, walker: Walker) -> None:
    """``TF_CLI_ARGS`` and ``TF_CLI_ARGS_<sub>`` add arguments to terraform's command line
    (``TF_CLI_ARGS_init='-migrate-state -force-copy' terraform init`` migrates the state)."""
    env = {**walker.exported, **cmd.assigned}
    positional = [a for a in cmd.argv[1:] if not a.startswith("-")]
    sub = positional[0] if positional else ""
    for key in ("TF_CLI_ARGS", f"TF_CLI_ARGS_{sub}".replace("-", "_")):
        if key not in env:
            continue
        value = env[key]
        if value is None or "$" in value or "`" in value:
            cmd.opaque = cmd.opaque or f"${key} adds arguments to {cmd.name} that are computed at run time"
            continue
        words = shell_wrappers.split(value)
        cmd.argv, cmd.literal = [*cmd.argv, *words], [*cmd.literal, *([True] * len(words))]


HANDLERS: dict[str, Any] = {
    **dict.fromkeys(("pwsh", "powershell", "pwsh-preview", "powershell.exe", "pwsh.exe"), _pwsh),
    "expect": _expect,
    "hash": _hash,
    "fc": _fc,
    "enable": _enable,
    "run-parts": _run_parts,
}
