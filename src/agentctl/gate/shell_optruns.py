"""Programs that do their own work and also run a command named in an option (``rsync -e``, ``fd -x``, gdb).

Called through :func:`agentctl.gate.shell_runners.run`: the command text is
judged like any other; each handler returns False so the files the program
reads and writes are still judged by :mod:`agentctl.gate.shell_files`.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING, Any

from agentctl.gate import shell_effects as fx

if TYPE_CHECKING:
    from agentctl.gate.shell import Command, Walker

_OPTION_RUNS: dict[str, tuple[str, ...]] = {
    "rsync": ("-e", "--rsh", "--rsync-path"),
    "zip": ("-TT", "--unzip-command"),
    "sort": ("--compress-program",),
    "gsort": ("--compress-program",),
    "rg": ("--pre",),
}
"""Programs that do their own work and also run an option's value as a command (judged as shell text)."""


def _option_runs(cmd: Command, args: list[str], walker: Walker) -> bool:
    runs = _OPTION_RUNS[cmd.name]
    for i, arg in enumerate(args):
        key, eq, value = arg.partition("=")
        if key not in runs or (not eq and i + 1 >= len(args)):
            continue
        value = value if eq else args[i + 1]
        if cmd.name == "rg":  # a preprocessor script: what it runs is in a file the gate does not follow
            cmd.opaque = cmd.opaque or f"rg --pre runs {value} on every file it searches"
            continue
        fx.nested(cmd, value, fx.literal_word(cmd, arg) and (bool(eq) or fx.literal_word(cmd, value)), walker, key)
    return False  # the files it reads and writes are still judged


def _fd(cmd: Command, args: list[str], walker: Walker) -> bool:
    """``fd -x cmd args…`` / ``fd -X cmd…`` run cmd on every match (the rest of the argv, up to ``;``)."""
    for i, arg in enumerate(args):
        if arg in ("-x", "--exec", "-X", "--exec-batch"):
            words = args[i + 1 :]
            words = words[: words.index(";")] if ";" in words else words
            if words:
                fx.nested(cmd, shlex.join(words), all(fx.literal_word(cmd, w) for w in words), walker, f"fd {arg}")
            else:
                cmd.opaque = cmd.opaque or f"fd {arg} runs a command agentctl cannot locate"
    return False


def _gdb(cmd: Command, args: list[str], walker: Walker) -> bool:
    """gdb's ``-ex 'shell cmd'`` / ``-ex '!cmd'`` run cmd; ``--args prog…`` runs prog; scripts are opaque."""
    for i, arg in enumerate(args):
        key, eq, value = arg.lstrip("-").partition("=")
        if key in ("ex", "eval-command", "iex", "init-eval-command") and (eq or i + 1 < len(args)):
            text = (value if eq else args[i + 1]).strip()
            if text.startswith(("shell ", "!")):
                fx.nested(
                    cmd,
                    text.removeprefix("shell ").lstrip("!"),
                    fx.literal_word(cmd, arg if eq else args[i + 1]),
                    walker,
                    "gdb",
                )
            elif re.match(r"(python|py|pi|pipe|\|source|guile|gu|compile|call|print|p)\b", text):
                cmd.opaque = cmd.opaque or f"gdb runs the command {text!r} agentctl cannot see through"
        elif key in ("x", "command", "ix", "init-command"):
            cmd.opaque = cmd.opaque or "gdb runs a command file"
        elif key == "args" and arg.startswith("-") and i + 1 < len(args):
            rest = args[i + 1 :]
            fx.nested(cmd, shlex.join(rest), all(fx.literal_word(cmd, w) for w in rest), walker, "gdb --args")
            break
    return False


HANDLERS: dict[str, Any] = {**dict.fromkeys(_OPTION_RUNS, _option_runs), "fd": _fd, "fdfind": _fd, "gdb": _gdb}
